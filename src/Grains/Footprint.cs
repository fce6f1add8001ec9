namespace HpcJobs.Grains;

/// <summary>
/// What a job's samples add up to over its current attempt, kept incrementally: constant work per
/// sample, never a scan of the history. Per node (a whole-job sample is the node ""), each sample
/// stands for the time until the same node's next sample, at most <c>cap</c> (3 reporting
/// intervals); its weighted CPU and GPU are added once that next sample is known. The newest few
/// samples of each node stay open (<see cref="OpenSamples"/>), so a sample arriving out of order
/// among them is placed exactly; the last open one stands for the time until now or the job's end.
/// Immutable: the sample writer stages a new value per inserted sample and commits or drops it
/// with its transaction, and the value is persisted with the jobs row.
/// </summary>
public sealed record Footprint(int Attempt, NodeFootprint[] Nodes, long MaxMemoryMb)
{
    /// <summary>How many of a node's newest samples stay open to out-of-order arrivals.</summary>
    public const int OpenSamples = 4;

    public static Footprint Empty(int attempt) => new(attempt, [], 0);

    public long SampleCount
    {
        get
        {
            long count = 0;
            foreach (var node in Nodes)
            {
                count += node.Samples;
            }

            return count;
        }
    }

    /// <summary>This footprint with <paramref name="sample"/> (a sample the log just inserted).</summary>
    public Footprint With(UsageSample sample, TimeSpan cap, double idleGpuPercent)
    {
        var key = sample.Node ?? string.Empty;
        var at = IndexOf(key);
        var node = (at < 0 ? NodeFootprint.Empty(key) : Nodes[at]).With(sample, cap.TotalSeconds, idleGpuPercent);
        var nodes = at < 0 ? [.. Nodes, node] : (NodeFootprint[])Nodes.Clone();
        if (at >= 0)
        {
            nodes[at] = node;
        }

        return this with { Nodes = nodes };
    }

    /// <summary>
    /// This footprint with <paramref name="samples"/> added in order, as that many <see cref="With"/>
    /// calls would give, but with one record per touched node instead of one chain of records per
    /// sample: the sample writer stages a job's samples one at a time and folds them once per commit.
    /// </summary>
    public Footprint WithAll(IReadOnlyList<UsageSample> samples, TimeSpan cap, double idleGpuPercent)
    {
        if (samples.Count == 0)
        {
            return this;
        }

        if (samples.Count == 1)
        {
            return With(samples[0], cap, idleGpuPercent);
        }

        var nodes = Nodes;
        var copied = false;
        for (var i = 0; i < samples.Count; i++)
        {
            var key = samples[i].Node ?? string.Empty;
            if (SeenBefore(samples, i, key))
            {
                continue; // this node was folded with an earlier sample of the list
            }

            var at = IndexOf(nodes, key);
            var fold = new NodeFold(at < 0 ? NodeFootprint.Empty(key) : nodes[at], cap.TotalSeconds, idleGpuPercent);
            for (var j = i; j < samples.Count; j++)
            {
                if (string.Equals(samples[j].Node ?? string.Empty, key, StringComparison.Ordinal))
                {
                    fold.Add(samples[j]);
                }
            }

            if (at < 0)
            {
                nodes = [.. nodes, fold.ToRecord()];
                copied = true;
            }
            else
            {
                if (!copied)
                {
                    nodes = (NodeFootprint[])nodes.Clone();
                    copied = true;
                }

                nodes[at] = fold.ToRecord();
            }
        }

        return this with { Nodes = nodes };
    }

    /// <summary>Whether a sample before <paramref name="before"/> in the list has node <paramref name="key"/>.</summary>
    private static bool SeenBefore(IReadOnlyList<UsageSample> samples, int before, string key)
    {
        for (var i = 0; i < before; i++)
        {
            if (string.Equals(samples[i].Node ?? string.Empty, key, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether <paramref name="sample"/> is already counted: its node's newest counted sample is not
    /// older. (A sample that arrived out of order before the footprint was stored is counted too.)
    /// </summary>
    public bool Includes(UsageSample sample)
    {
        var at = IndexOf(sample.Node ?? string.Empty);
        return at >= 0 && sample.Timestamp <= Nodes[at].Last;
    }

    /// <summary>The earliest of the nodes' newest counted samples: samples after it may not be counted yet.</summary>
    public DateTimeOffset? CountedUntil => Nodes.Length == 0 ? null : Nodes.Min(n => n.Last);

    /// <summary>Raises the job's peak memory (all nodes together) to <paramref name="memoryMb"/>.</summary>
    public Footprint WithMemory(long memoryMb) => memoryMb > MaxMemoryMb ? this with { MaxMemoryMb = memoryMb } : this;

    /// <summary>
    /// The summary as of <paramref name="until"/> (now while the job runs, its end once it ended):
    /// per node, then combined; allocation figures split evenly over the job's nodes.
    /// </summary>
    public JobSummary Summarize(JobAllocation allocation, int nodeCount, DateTimeOffset start, DateTimeOffset until, TimeSpan cap, double idleGpuPercent)
    {
        var runtime = Math.Max(0, (until - start).TotalSeconds);
        var totals = Total(nodeCount, until, cap, idleGpuPercent);
        var maxMemory = totals.MaxMemoryMb(MaxMemoryMb);
        var hours = runtime / 3600;
        return new JobSummary(
            totals.Samples,
            totals.First,
            totals.Last,
            totals.AvgCpu,
            totals.MaxCpu,
            totals.AvgGpu,
            totals.MaxGpu,
            maxMemory,
            allocation.Cpus * hours,
            allocation.Cpus is { } cpus ? totals.CpuShareSum / 100 * cpus / 3600 : null,
            allocation.Gpus * hours,
            allocation.Gpus is { } gpus && totals.GpuSeconds > 0 ? totals.GpuShareSum / 100 * gpus / 3600 : null,
            Totals.PercentOf(maxMemory, allocation),
            totals.GpuSeconds > 0 ? totals.GpuIdle / totals.GpuSeconds : null,
            runtime > 0 ? Math.Clamp(totals.Covered / (runtime * totals.Reporters), 0, 1) : 0,
            totals.OomKills);
    }

    /// <summary>
    /// The figures of <see cref="Summarize"/> that the flags are judged on, from the same sums but
    /// without building the summary: the sample writer judges every touched job's flags per commit.
    /// </summary>
    public FlagFigures FlagFigures(JobAllocation allocation, int nodeCount, DateTimeOffset until, TimeSpan cap, double idleGpuPercent)
    {
        var totals = Total(nodeCount, until, cap, idleGpuPercent);
        return new FlagFigures(totals.AvgCpu, totals.AvgGpu, Totals.PercentOf(totals.MaxMemoryMb(MaxMemoryMb), allocation), totals.OomKills, totals.Last);
    }

    /// <summary>The newest sample's time over all nodes (the summary's <c>last_sample_at</c>); a method, so not a stored field.</summary>
    public DateTimeOffset? LastSample()
    {
        DateTimeOffset? last = null;
        foreach (var node in Nodes)
        {
            last = last is null || node.Last > last ? node.Last : last;
        }

        return last;
    }

    /// <summary>Every node's sums with its open samples closed at <paramref name="until"/>, combined: what the summary and the flags are made of.</summary>
    private Totals Total(int nodeCount, DateTimeOffset until, TimeSpan cap, double idleGpuPercent)
    {
        var totals = new Totals { Samples = SampleCount, Reporters = 1 };
        var perNode = Math.Max(1, nodeCount);
        foreach (var node in Nodes)
        {
            var open = node.Closed(until, cap.TotalSeconds, idleGpuPercent);
            if (node.Node.Length > 0)
            {
                totals.Reporters = perNode;
            }

            totals.Covered += open.CoveredSeconds;
            totals.CpuSum += open.CpuSum;
            totals.GpuSum += open.GpuSum;
            totals.GpuSeconds += open.GpuSeconds;
            totals.GpuIdle += open.GpuIdleSeconds;

            // A node's share of the allocation; a whole-job sample stands for all of it.
            var share = node.Node.Length == 0 ? 1.0 : 1.0 / perNode;
            totals.CpuShareSum += open.CpuSum * share;
            totals.GpuShareSum += open.GpuSum * share;
            totals.MaxCpu = Max(totals.MaxCpu, node.MaxCpu);
            totals.MaxGpu = Max(totals.MaxGpu, node.MaxGpu);
            totals.PeakSum += node.MaxPeakMb ?? 0;
            totals.OomKills += node.OomKills;
            totals.First = totals.First is null || node.First < totals.First ? node.First : totals.First;
            totals.Last = totals.Last is null || node.Last > totals.Last ? node.Last : totals.Last;
        }

        return totals;
    }

    /// <summary>The sums over a footprint's nodes (<see cref="Total"/>).</summary>
    private struct Totals
    {
        public long Samples;
        public int Reporters;
        public double Covered;
        public double CpuSum;
        public double GpuSum;
        public double GpuSeconds;
        public double GpuIdle;
        public double CpuShareSum;
        public double GpuShareSum;
        public double? MaxCpu;
        public double? MaxGpu;
        public long PeakSum;
        public long OomKills;
        public DateTimeOffset? First;
        public DateTimeOffset? Last;

        public readonly double? AvgCpu => Covered > 0 ? CpuSum / Covered : null;

        public readonly double? AvgGpu => GpuSeconds > 0 ? GpuSum / GpuSeconds : null;

        /// <summary>The job's peak memory: the highest combined usage, or the nodes' peaks added up.</summary>
        public readonly long? MaxMemoryMb(long maxUsageMb) => Samples == 0 ? null : Math.Max(maxUsageMb, PeakSum);

        public static double? PercentOf(long? memoryMb, JobAllocation allocation) =>
            memoryMb is { } peak && allocation.MemoryMb is > 0 and { } limit ? 100.0 * peak / limit : null;
    }

    // Loops, not Array.FindIndex with a lambda: that lambda captures the key, a closure and a
    // delegate per sample on the ingest path (twice: the writer's stage and the grain's view).
    private int IndexOf(string node) => IndexOf(Nodes, node);

    private static int IndexOf(NodeFootprint[] nodes, string node)
    {
        for (var i = 0; i < nodes.Length; i++)
        {
            if (string.Equals(nodes[i].Node, node, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private static double? Max(double? a, double? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);
}

/// <summary>
/// One reporting node's part of a <see cref="Footprint"/> (sums over its closed samples, and its open
/// ones). Every active job holds one per node, so the times are kept as UTC ticks and the maxima
/// without a nullable's flag (none is NaN, or long.MinValue): 128 bytes where the positional record took 168.
/// The properties and the constructor's parameters are the stored JSON's fields.
/// </summary>
public sealed record NodeFootprint
{
    private const long NoPeak = long.MinValue;
    private readonly long _first;
    private readonly long _last;
    private readonly double _maxCpu;
    private readonly double _maxGpu;
    private readonly long _maxPeakMb;

    public NodeFootprint(
        string node,
        long samples,
        DateTimeOffset first,
        DateTimeOffset last,
        double cpuSum,
        double coveredSeconds,
        double gpuSum,
        double gpuSeconds,
        double gpuIdleSeconds,
        double? maxCpu,
        double? maxGpu,
        long? maxPeakMb,
        long oomKills,
        OpenSample[] open)
    {
        (Node, Samples, _first, _last) = (node, samples, UtcTicks.Of(first), UtcTicks.Of(last));
        (CpuSum, CoveredSeconds, GpuSum, GpuSeconds, GpuIdleSeconds) = (cpuSum, coveredSeconds, gpuSum, gpuSeconds, gpuIdleSeconds);
        (_maxCpu, _maxGpu, _maxPeakMb) = (maxCpu ?? double.NaN, maxGpu ?? double.NaN, maxPeakMb ?? NoPeak);
        (OomKills, Open) = (oomKills, open);
    }

    public string Node { get; }

    public long Samples { get; }

    public DateTimeOffset First => UtcTicks.At(_first);

    public DateTimeOffset Last => UtcTicks.At(_last);

    public double CpuSum { get; }

    public double CoveredSeconds { get; }

    public double GpuSum { get; }

    public double GpuSeconds { get; }

    public double GpuIdleSeconds { get; }

    public double? MaxCpu => double.IsNaN(_maxCpu) ? null : _maxCpu;

    public double? MaxGpu => double.IsNaN(_maxGpu) ? null : _maxGpu;

    public long? MaxPeakMb => _maxPeakMb == NoPeak ? null : _maxPeakMb;

    public long OomKills { get; }

    public OpenSample[] Open { get; }

    public static NodeFootprint Empty(string node) =>
        new(node, 0, DateTimeOffset.MaxValue, DateTimeOffset.MinValue, 0, 0, 0, 0, 0, null, null, null, 0, []);

    public NodeFootprint With(UsageSample sample, double capSeconds, double idleGpuPercent)
    {
        var fold = new NodeFold(this, capSeconds, idleGpuPercent);
        fold.Add(sample);
        return fold.ToRecord();
    }

    /// <summary>
    /// The sums with every open sample counted, the last one standing for the time until
    /// <paramref name="until"/>. A value, not a closed copy of the record: every summary (each
    /// committed sample's, twice) closes every node, and copies cost one record per open sample.
    /// </summary>
    public NodeSums Closed(DateTimeOffset until, double capSeconds, double idleGpuPercent)
    {
        var closed = new NodeSums(CpuSum, CoveredSeconds, GpuSum, GpuSeconds, GpuIdleSeconds);
        for (var i = 0; i < Open.Length; i++)
        {
            var end = i + 1 < Open.Length ? Open[i + 1].At : until;
            closed = closed.Close(Open[i], Math.Clamp((end - Open[i].At).TotalSeconds, 0, capSeconds), idleGpuPercent);
        }

        return closed;
    }
}

/// <summary>A node's weighted sums with its open samples closed (<see cref="NodeFootprint.Closed"/>).</summary>
public readonly record struct NodeSums(double CpuSum, double CoveredSeconds, double GpuSum, double GpuSeconds, double GpuIdleSeconds)
{
    public NodeSums Close(OpenSample sample, double seconds, double idleGpuPercent) => new(
        CpuSum + sample.Cpu * seconds,
        CoveredSeconds + seconds,
        sample.Gpu is { } gpu ? GpuSum + gpu * seconds : GpuSum,
        sample.Gpu is not null ? GpuSeconds + seconds : GpuSeconds,
        sample.Gpu < idleGpuPercent ? GpuIdleSeconds + seconds : GpuIdleSeconds);
}

/// <summary>
/// A sample whose successor on its node is not known yet: what its weight will multiply. A value in
/// its node's array, not an object per open sample (memory per active job: up to four per node).
/// </summary>
public readonly record struct OpenSample(DateTimeOffset At, double Cpu, double? Gpu);

/// <summary>
/// The one rule for adding samples to a node's footprint, on mutable fields: a sample joins the open
/// set in time order; once the set is full, its oldest leaves and is summed with the weight of the
/// time until its successor (at most the cap); a sample older than every open one of a node whose
/// earlier samples are summed already stands for the time until the oldest open one. Several samples
/// fold into one record (<see cref="ToRecord"/>), so a commit of many samples builds one per node.
/// </summary>
internal struct NodeFold
{
    private readonly NodeFootprint _from;
    private readonly double _cap;
    private readonly double _idle;
    private OpenSample[] _open;
    private int _count;
    private bool _copied;
    private long _samples;
    private DateTimeOffset _first;
    private DateTimeOffset _last;
    private double _cpuSum;
    private double _covered;
    private double _gpuSum;
    private double _gpuSeconds;
    private double _gpuIdle;
    private double? _maxCpu;
    private double? _maxGpu;
    private long? _maxPeak;
    private long _oomKills;

    public NodeFold(NodeFootprint from, double capSeconds, double idleGpuPercent)
    {
        _from = from;
        _cap = capSeconds;
        _idle = idleGpuPercent;
        _open = from.Open;
        _count = from.Open.Length;
        _samples = from.Samples;
        _first = from.First;
        _last = from.Last;
        _cpuSum = from.CpuSum;
        _covered = from.CoveredSeconds;
        _gpuSum = from.GpuSum;
        _gpuSeconds = from.GpuSeconds;
        _gpuIdle = from.GpuIdleSeconds;
        _maxCpu = from.MaxCpu;
        _maxGpu = from.MaxGpu;
        _maxPeak = from.MaxPeakMb;
        _oomKills = from.OomKills;
    }

    public void Add(UsageSample sample)
    {
        var open = new OpenSample(sample.Timestamp, sample.CpuUsage, sample.GpuUsage);
        var closing = default(OpenSample);
        var closes = false;
        var weight = 0.0;
        if (_count > 0 && open.At < _open[0].At && _covered + _gpuSeconds > 0)
        {
            // Older than every open sample of a node whose earlier ones are already summed: it
            // stands for the time until the oldest open sample (its predecessor's share is not
            // re-cut; coverage is clamped to 1).
            (closing, closes) = (open, true);
            weight = Math.Min((_open[0].At - open.At).TotalSeconds, _cap);
        }
        else
        {
            var position = _count;
            while (position > 0 && _open[position - 1].At > open.At)
            {
                position--;
            }

            Writable();
            if (_count < Footprint.OpenSamples)
            {
                Array.Copy(_open, position, _open, position + 1, _count - position);
                _open[position] = open;
                _count++;
            }
            else if (position == 0)
            {
                // Older than the full open set: it leaves at once, weighted until the oldest open one.
                (closing, closes) = (open, true);
                weight = Math.Min((_open[0].At - closing.At).TotalSeconds, _cap);
            }
            else
            {
                // The oldest now has a known successor: it is summed and leaves the open set.
                (closing, closes) = (_open[0], true);
                Array.Copy(_open, 1, _open, 0, position - 1);
                _open[position - 1] = open;
                weight = Math.Min((_open[0].At - closing.At).TotalSeconds, _cap);
            }
        }

        _samples++;
        _first = sample.Timestamp < _first ? sample.Timestamp : _first;
        _last = sample.Timestamp > _last ? sample.Timestamp : _last;
        if (closes)
        {
            _cpuSum += closing.Cpu * weight;
            _covered += weight;
            if (closing.Gpu is { } gpu)
            {
                _gpuSum += gpu * weight;
                _gpuSeconds += weight;
                if (gpu < _idle)
                {
                    _gpuIdle += weight;
                }
            }
        }

        _maxCpu = _maxCpu is { } cpu ? Math.Max(cpu, sample.CpuUsage) : sample.CpuUsage;
        _maxGpu = sample.GpuUsage is { } g ? Math.Max(_maxGpu ?? g, g) : _maxGpu;
        _maxPeak = sample.MemoryPeakMb is { } peak ? Math.Max(_maxPeak ?? peak, peak) : _maxPeak;

        // oom_kills is cumulative per node: the highest count seen is the node's total.
        _oomKills = sample.OomKills is { } kills ? Math.Max(_oomKills, kills) : _oomKills;
    }

    public readonly NodeFootprint ToRecord()
    {
        var open = _count == _open.Length ? _open : _open[.._count];
        return new NodeFootprint(
            _from.Node, _samples, _first, _last, _cpuSum, _covered, _gpuSum, _gpuSeconds, _gpuIdle, _maxCpu, _maxGpu, _maxPeak, _oomKills, open);
    }

    /// <summary>The record's open array is shared and immutable: the fold works on its own copy, room for a full set.</summary>
    private void Writable()
    {
        if (_copied)
        {
            return;
        }

        var copy = new OpenSample[Footprint.OpenSamples];
        Array.Copy(_open, copy, _count);
        _open = copy;
        _copied = true;
    }
}

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
        double covered = 0, cpuSum = 0, gpuSum = 0, gpuSeconds = 0, gpuIdle = 0, cpuShareSum = 0, gpuShareSum = 0;
        double? maxCpu = null, maxGpu = null;
        long peakSum = 0, oomKills = 0;
        DateTimeOffset? first = null, last = null;
        var perNode = Math.Max(1, nodeCount);
        var reporters = 1;
        foreach (var node in Nodes)
        {
            var open = node.Closed(until, cap.TotalSeconds, idleGpuPercent);
            if (node.Node.Length > 0)
            {
                reporters = perNode;
            }

            covered += open.CoveredSeconds;
            cpuSum += open.CpuSum;
            gpuSum += open.GpuSum;
            gpuSeconds += open.GpuSeconds;
            gpuIdle += open.GpuIdleSeconds;

            // A node's share of the allocation; a whole-job sample stands for all of it.
            var share = node.Node.Length == 0 ? 1.0 : 1.0 / perNode;
            cpuShareSum += open.CpuSum * share;
            gpuShareSum += open.GpuSum * share;
            maxCpu = Max(maxCpu, node.MaxCpu);
            maxGpu = Max(maxGpu, node.MaxGpu);
            peakSum += node.MaxPeakMb ?? 0;
            oomKills += node.OomKills;
            first = first is null || node.First < first ? node.First : first;
            last = last is null || node.Last > last ? node.Last : last;
        }

        var samples = SampleCount;
        var maxMemory = samples == 0 ? (long?)null : Math.Max(MaxMemoryMb, peakSum);
        var hours = runtime / 3600;
        return new JobSummary(
            samples,
            first,
            last,
            covered > 0 ? cpuSum / covered : null,
            maxCpu,
            gpuSeconds > 0 ? gpuSum / gpuSeconds : null,
            maxGpu,
            maxMemory,
            allocation.Cpus * hours,
            allocation.Cpus is { } cpus ? cpuShareSum / 100 * cpus / 3600 : null,
            allocation.Gpus * hours,
            allocation.Gpus is { } gpus && gpuSeconds > 0 ? gpuShareSum / 100 * gpus / 3600 : null,
            maxMemory is { } peak && allocation.MemoryMb is > 0 and { } limit ? 100.0 * peak / limit : null,
            gpuSeconds > 0 ? gpuIdle / gpuSeconds : null,
            runtime > 0 ? Math.Clamp(covered / (runtime * reporters), 0, 1) : 0,
            oomKills);
    }

    // Loops, not Array.FindIndex with a lambda: that lambda captures the key, a closure and a
    // delegate per sample on the ingest path (twice: the writer's stage and the grain's view).
    private int IndexOf(string node)
    {
        for (var i = 0; i < Nodes.Length; i++)
        {
            if (string.Equals(Nodes[i].Node, node, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private static double? Max(double? a, double? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);
}

/// <summary>One reporting node's part of a <see cref="Footprint"/> (sums over its closed samples, and its open ones).</summary>
public sealed record NodeFootprint(
    string Node,
    long Samples,
    DateTimeOffset First,
    DateTimeOffset Last,
    double CpuSum,
    double CoveredSeconds,
    double GpuSum,
    double GpuSeconds,
    double GpuIdleSeconds,
    double? MaxCpu,
    double? MaxGpu,
    long? MaxPeakMb,
    long OomKills,
    OpenSample[] Open)
{
    public static NodeFootprint Empty(string node) =>
        new(node, 0, DateTimeOffset.MaxValue, DateTimeOffset.MinValue, 0, 0, 0, 0, 0, null, null, null, 0, []);

    public NodeFootprint With(UsageSample sample, double capSeconds, double idleGpuPercent)
    {
        var open = new OpenSample(sample.Timestamp, sample.CpuUsage, sample.GpuUsage);
        OpenSample[] samples;
        OpenSample? closing = null;
        var weight = 0.0;
        if (Open.Length > 0 && open.At < Open[0].At && CoveredSeconds + GpuSeconds > 0)
        {
            // Older than every open sample of a node whose earlier ones are already summed: it
            // stands for the time until the oldest open sample (its predecessor's share is not
            // re-cut; coverage is clamped to 1).
            samples = Open;
            closing = open;
            weight = Math.Min((Open[0].At - open.At).TotalSeconds, capSeconds);
        }
        else
        {
            var position = Open.Length;
            while (position > 0 && Open[position - 1].At > open.At)
            {
                position--;
            }

            if (Open.Length < Footprint.OpenSamples)
            {
                samples = new OpenSample[Open.Length + 1];
                Array.Copy(Open, samples, position);
                samples[position] = open;
                Array.Copy(Open, position, samples, position + 1, Open.Length - position);
            }
            else
            {
                // Five samples, of which the oldest now has a known successor: it is summed and
                // leaves the open set (one array, one record per sample in the steady state).
                samples = new OpenSample[Open.Length];
                if (position == 0)
                {
                    closing = open;
                    Array.Copy(Open, samples, Open.Length);
                }
                else
                {
                    closing = Open[0];
                    Array.Copy(Open, 1, samples, 0, position - 1);
                    samples[position - 1] = open;
                    Array.Copy(Open, position, samples, position, Open.Length - position);
                }

                weight = Math.Min((samples[0].At - closing.At).TotalSeconds, capSeconds);
            }
        }

        var gpuClosed = closing?.Gpu;
        return new NodeFootprint(
            Node,
            Samples + 1,
            sample.Timestamp < First ? sample.Timestamp : First,
            sample.Timestamp > Last ? sample.Timestamp : Last,
            closing is null ? CpuSum : CpuSum + closing.Cpu * weight,
            closing is null ? CoveredSeconds : CoveredSeconds + weight,
            gpuClosed is { } gpu ? GpuSum + gpu * weight : GpuSum,
            gpuClosed is not null ? GpuSeconds + weight : GpuSeconds,
            gpuClosed < idleGpuPercent ? GpuIdleSeconds + weight : GpuIdleSeconds,
            MaxCpu is { } cpu ? Math.Max(cpu, sample.CpuUsage) : sample.CpuUsage,
            sample.GpuUsage is { } g ? Math.Max(MaxGpu ?? g, g) : MaxGpu,
            sample.MemoryPeakMb is { } peak ? Math.Max(MaxPeakMb ?? peak, peak) : MaxPeakMb,

            // oom_kills is cumulative per node: the highest count seen is the node's total.
            sample.OomKills is { } kills ? Math.Max(OomKills, kills) : OomKills,
            samples);
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

/// <summary>A sample whose successor on its node is not known yet: what its weight will multiply.</summary>
public sealed record OpenSample(DateTimeOffset At, double Cpu, double? Gpu);

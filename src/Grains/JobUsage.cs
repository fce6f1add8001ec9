namespace HpcJobs.Grains;

/// <summary>
/// A job's latest usage as its stored samples define it: the newest sample of each node and the
/// newest whole-job sample, and <see cref="LatestUsage.Combine"/> of them. The sample writer stages
/// each sample it actually inserted (never a duplicate), writes the staged latest usage into the jobs
/// row in the same transaction, and commits or discards the stage with it; so the row, the grain and
/// the log agree, and a rolled-back batch leaves no trace here. Staging runs only on the writer's
/// loop (one at a time); readers see <see cref="Latest"/>, replaced whole on commit.
/// </summary>
public sealed class JobUsage(string jobId, JobUsageSettings settings)
{
    public JobUsage(string jobId, TimeSpan window, EfficiencyOptions? efficiency = null, TimeProvider? time = null)
        : this(jobId, new JobUsageSettings(window, efficiency ?? new EfficiencyOptions(), time ?? TimeProvider.System))
    {
    }

    private State _committed = State.Empty;
    private State? _staged;

    public string JobId { get; } = jobId;

    /// <summary>The jobs row's integer key (<see cref="JobRecord.Key"/>) that the sample log stores this job's samples under.</summary>
    public long JobKey { get; set; }

    /// <summary>What the summary and flags are judged against; the grain replaces it at every lifecycle change.</summary>
    public JobFacts Facts { get; set; } = JobFacts.None;

    /// <summary>The committed samples' footprint over the current attempt.</summary>
    public Footprint Footprint => _committed.Footprint;

    /// <summary>
    /// The footprint including the samples staged in the open transaction: what the writer stores
    /// with the row. The staged samples are folded once, when it is first asked for (one record per
    /// node and commit, not a chain of records per sample: docs/benchmarks.md, "Summary cost").
    /// </summary>
    public Footprint StagedFootprint =>
        _stagedFootprint ??= _pending is null
            ? (_staged ?? _committed).Footprint
            : (_staged ?? _committed).Footprint.WithAll(_pending, settings.Window, settings.Efficiency.IdleGpuPercent);

    /// <summary>
    /// The samples staged in the open transaction, in staging order, not yet in a footprint; null
    /// between transactions, so that an idle active job holds no list (memory per job, row 5).
    /// </summary>
    private List<UsageSample>? _pending;
    private Footprint? _stagedFootprint;

    /// <summary>The summary and flags of <paramref name="footprint"/> for this job, as of now (or its end).</summary>
    public (JobSummary Summary, IReadOnlyList<string> Flags) Verdict(Footprint footprint) =>
        JobVerdict.Of(footprint, Facts, settings.Window, settings.Time.GetUtcNow(), settings.Efficiency);

    /// <summary>The flags alone of <see cref="Verdict"/>, as of <paramref name="now"/>.</summary>
    private IReadOnlyList<string> FlagsOf(Footprint footprint, DateTimeOffset now) =>
        JobVerdict.FlagsOf(footprint, Facts, settings.Window, now, settings.Efficiency);

    /// <summary>
    /// How often the footprint is written into the jobs row while samples arrive. The latest usage is
    /// written with every commit; the footprint (a few hundred bytes of JSON) at most this often, and
    /// at once when the stored flags change — writing it with every commit cost a fifth of batch
    /// ingest (docs/benchmarks.md). Samples committed since the last write are caught up on
    /// activation from the sample log (<see cref="Load"/>), a bounded read of that last minute.
    /// </summary>
    public static readonly TimeSpan FootprintWriteInterval = TimeSpan.FromSeconds(60);

    /// <summary>When the footprint was last written, in UTC ticks (0 for never): 8 bytes of every active job, not 16.</summary>
    private long _footprintWrittenAt;
    /// <summary>
    /// The flags the writer judged for the staged footprint (<see cref="StagedRowFootprint"/>), and
    /// the ones it judged for the committed footprint: the grain tells its observers the committed
    /// ones after each commit (<see cref="TakeCommittedFlags"/>), and judging them twice per commit
    /// was a second judgement per sample.
    /// </summary>
    private Judged? _judging;
    private volatile Judged? _judged;

    /// <summary>The stored flags last written with the row; null before the first write.</summary>
    private IReadOnlyList<string>? _flagsWritten;
    /// <summary>What the open transaction writes: the time in UTC ticks and the flags, null when it writes no footprint.</summary>
    private long _footprintWritingAt;
    private IReadOnlyList<string>? _flagsWriting;

    /// <summary>
    /// The footprint and stored flags (JSON) the open transaction must write with the row, or null
    /// when the row's are recent enough and the flags have not changed.
    /// </summary>
    public (string Footprint, string? Flags)? StagedRowFootprint()
    {
        // The flags are compared as lists and serialized only when written: every commit asks, and
        // a flagged job's JSON was a string per commit.
        var footprint = StagedFootprint;
        var now = settings.Time.GetUtcNow();
        var judged = FlagsOf(footprint, now);
        _judging = new Judged(footprint, Facts, judged);
        var flags = Flagging.Stored(judged);
        if (now.UtcTicks - _footprintWrittenAt < FootprintWriteInterval.Ticks && _flagsWritten is { } written && SameFlags(flags, written))
        {
            _flagsWriting = null;
            return null;
        }

        (_footprintWritingAt, _flagsWriting) = (now.UtcTicks, flags);
        return (Storage.StorageJson.FootprintJson(footprint), Storage.StorageJson.Flags(flags));
    }

    private static bool SameFlags(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (!string.Equals(a[i], b[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The summary and flags of the committed footprint, judged now (a view's).</summary>
    public (JobSummary Summary, IReadOnlyList<string> Flags) CommittedVerdict() => Verdict(Footprint);

    /// <summary>
    /// The flags of the committed footprint: as the writer judged them at the commit (moments ago
    /// when the grain asks after its append), or judged now when the writer did not judge this
    /// footprint or the lifecycle changed since.
    /// </summary>
    public IReadOnlyList<string> CommittedFlags()
    {
        var footprint = Footprint;
        return _judged is { } judged && ReferenceEquals(judged.Footprint, footprint) && ReferenceEquals(judged.Facts, Facts)
            ? judged.Flags
            : FlagsOf(footprint, settings.Time.GetUtcNow());
    }

    /// <summary>
    /// <see cref="CommittedFlags"/>, after which the writer's judgement is let go: the grain takes it
    /// once per commit to tell its observers, and keeping it until the next commit was memory of
    /// every active job for nothing.
    /// </summary>
    public IReadOnlyList<string> TakeCommittedFlags()
    {
        var judged = _judged;
        var flags = CommittedFlags();
        if (judged is not null && ReferenceEquals(judged.Flags, flags))
        {
            // Compare-and-clear: a commit on the writer's loop may have put a newer one meanwhile.
            Interlocked.CompareExchange(ref _judged, null, judged);
        }

        return flags;
    }

    /// <summary>A requeued job's new attempt starts with an empty footprint.</summary>
    public void StartAttempt(int attempt)
    {
        _committed = _committed with { Footprint = Footprint.Empty(attempt) };
        _footprintWrittenAt = 0;
    }

    /// <summary>The latest usage of the committed samples, or null before the first.</summary>
    public UsageSample? Latest => _committed.Latest;

    /// <summary>The latest usage including the samples staged in the open transaction.</summary>
    public UsageSample? StagedLatest => (_staged ?? _committed).Latest;

    /// <summary>Whether samples are staged in the open transaction.</summary>
    public bool IsStaged => _staged is not null;

    /// <summary>
    /// Rebuilds the state on activation from the newest stored samples (oldest first), the row's
    /// latest usage and the row's footprint (never from the history: the footprint was stored with
    /// every commit); a footprint of an earlier attempt is not this attempt's.
    /// </summary>
    public void Load(
        IReadOnlyList<UsageSample> recent, UsageSample? rowLatest, Footprint? stored = null, int attempt = 1, IReadOnlyList<UsageSample>? sinceStored = null)
    {
        var state = State.Empty;
        foreach (var sample in recent)
        {
            state = state.With(sample, settings.Window);
        }

        var footprint = stored is { } row && row.Attempt == attempt ? row : Footprint.Empty(attempt);
        foreach (var sample in sinceStored ?? [])
        {
            if (!footprint.Includes(sample))
            {
                footprint = footprint.With(sample, settings.Window, settings.Efficiency.IdleGpuPercent);
            }
        }

        _committed = (rowLatest is null ? state : state with { Latest = rowLatest }) with { Footprint = footprint };
        _staged = null;
        _pending = null;
        _stagedFootprint = null;
    }

    /// <summary>Adds a sample that the open transaction inserted.</summary>
    public void Stage(UsageSample sample)
    {
        _staged = (_staged ?? _committed).With(sample, settings.Window);
        (_pending ??= []).Add(sample);
        _stagedFootprint = null;
    }

    public void Commit()
    {
        if (_flagsWriting is { } written)
        {
            (_footprintWrittenAt, _flagsWritten) = (_footprintWritingAt, written);
            _flagsWriting = null;
        }

        if (_staged is { } staged)
        {
            _committed = staged with { Footprint = StagedFootprint };
            _staged = null;
        }

        _pending = null;
        _stagedFootprint = null;

        if (_judging is { } judging)
        {
            _judged = judging;
            _judging = null;
        }
    }

    public void Discard()
    {
        _staged = null;
        _pending = null;
        _stagedFootprint = null;
        _flagsWriting = null;
        _judging = null;
    }

    /// <summary>A verdict and what it was judged from; compared by reference, as both are immutable.</summary>
    private sealed record Judged(Footprint Footprint, JobFacts Facts, IReadOnlyList<string> Flags);

    private sealed record State(UsageSample? WholeJob, UsageSample[] ByNode, UsageSample? Latest, Footprint Footprint)
    {
        public static State Empty { get; } = new(null, [], null, Footprint.Empty(1));

        /// <summary>The latest usage with <paramref name="sample"/>; the footprint is folded apart (<see cref="StagedFootprint"/>), only its peak memory here.</summary>
        public State With(UsageSample sample, TimeSpan window)
        {
            var footprint = Footprint;
            var wholeJob = WholeJob;
            var byNode = ByNode;
            if (sample.Node is null)
            {
                wholeJob = LatestUsage.Merge(wholeJob, sample);
            }
            else
            {
                var at = IndexOf(byNode, sample.Node);
                if (at < 0)
                {
                    byNode = [.. byNode, sample];
                }
                else
                {
                    var merged = LatestUsage.Merge(byNode[at], sample);
                    if (!ReferenceEquals(merged, byNode[at]))
                    {
                        byNode = (UsageSample[])byNode.Clone();
                        byNode[at] = merged;
                    }
                }
            }

            if (ReferenceEquals(wholeJob, WholeJob) && ReferenceEquals(byNode, ByNode))
            {
                return this;
            }

            var latest = LatestUsage.Combine(wholeJob, byNode, window);
            return new State(wholeJob, byNode, latest, latest is null ? footprint : footprint.WithMemory(latest.MemoryUsageMb));
        }

        // A loop, not Array.FindIndex with a lambda capturing the node: no closure per staged sample.
        private static int IndexOf(UsageSample[] byNode, string node)
        {
            for (var i = 0; i < byNode.Length; i++)
            {
                if (string.Equals(byNode[i].Node, node, StringComparison.Ordinal))
                {
                    return i;
                }
            }

            return -1;
        }
    }
}

/// <summary>
/// What every job's usage is judged with: the node window (the cap of a sample's weight), the flag
/// thresholds and the clock. One object per silo, not three fields in every active job.
/// </summary>
public sealed record JobUsageSettings(TimeSpan Window, EfficiencyOptions Efficiency, TimeProvider Time);

/// <summary>The lifecycle facts a job's summary and flags are judged against.</summary>
public sealed record JobFacts
{
    // The times as UTC ticks (UtcTicks): every active job's usage holds its facts.
    private readonly long _start;
    private readonly long _end;

    public JobFacts(DateTimeOffset start, DateTimeOffset? end, JobState state, JobAllocation allocation, int nodeCount, string? rawState)
    {
        (_start, _end) = (UtcTicks.Of(start), UtcTicks.Of(end));
        (State, Allocation, NodeCount, RawState) = (state, allocation, nodeCount, rawState);
    }

    public DateTimeOffset Start => UtcTicks.At(_start);

    public DateTimeOffset? End => UtcTicks.AtOrNull(_end);

    public JobState State { get; init; }

    public JobAllocation Allocation { get; init; }

    public int NodeCount { get; init; }

    /// <summary>The scheduler's own state word (<c>raw_state</c>), if it gave one.</summary>
    public string? RawState { get; init; }

    public static JobFacts None { get; } = new(DateTimeOffset.UnixEpoch, null, JobState.Running, JobAllocation.None, 1, null);

    public static JobFacts Of(JobView job) => new(
        job.StartTime, job.EndTime, job.State, job.Allocation ?? JobAllocation.None, job.Nodes.Count, SchedulerJson.Text(job.SchedulerJson, "raw_state"));

    public static JobFacts Of(JobRecord job) => new(
        job.StartTime, job.EndTime, job.State, job.Allocation, job.Nodes.Count, SchedulerJson.Text(job.SchedulerJson, "raw_state"));
}

namespace HpcJobs.Grains;

/// <summary>
/// A job's latest usage and footprint as its stored samples define them. Two threads share it, each
/// with its own part:
/// <list type="bullet">
/// <item>The sample writer (its group-commit loop, one batch at a time) stages each sample it
/// actually inserted (never a duplicate), writes the staged latest usage into the jobs row in the
/// same transaction, and commits or discards the stage with it; so the row, the grain and the log
/// agree, and a rolled-back batch leaves no trace here. With a commit it hands the committed
/// samples over, unfolded.</item>
/// <item>The grain, on its own turn after the append returns, folds the handed-over samples into
/// the footprint (<see cref="Footprint"/>), judges the flags, and when the row's footprint is due
/// (<see cref="PrepareRow"/>) hands its JSON back for the writer's next transaction of this job.</item>
/// </list>
/// So the writer's loop, the thread that bounds batch ingest on SQLite, does no summary work beyond
/// a list per job and commit: folding there was 3.4 % of its time (docs/benchmarks.md, "Summary cost").
/// </summary>
public sealed class JobUsage(string jobId, JobUsageSettings settings)
{
    public JobUsage(string jobId, TimeSpan window, EfficiencyOptions? efficiency = null, TimeProvider? time = null)
        : this(jobId, new JobUsageSettings(window, efficiency ?? new EfficiencyOptions(), time ?? TimeProvider.System))
    {
    }

    // The writer's part: the committed and the staged latest usage, the samples the open transaction
    // inserted, and the row footprint it took to write.
    private State _committed = State.Empty;
    private State? _staged;
    private List<UsageSample>? _staging;
    private RowFootprint? _rowWriting;

    // Handed over: committed samples not folded yet (the writer appends, the grain takes all), and
    // the row footprint the grain prepared (the grain puts, the writer takes). Both by Interlocked.
    private List<UsageSample>? _unfolded;
    private RowFootprint? _rowDue;

    /// <summary>
    /// Which row footprints are still current: a lifecycle write (and a new attempt) moves it on
    /// before it is queued, and the writer drops a prepared footprint of an earlier generation, when
    /// taking it and when putting it back after a discarded transaction — judged against the old
    /// lifecycle, it must not overwrite what the lifecycle write stored.
    /// </summary>
    private int _rowGeneration;

    // The grain's part: the folded footprint, and what it last prepared for the row.
    private Footprint _footprint = Footprint.Empty(1);

    /// <summary>When the grain last prepared the row's footprint, in UTC ticks (0 for never): 8 bytes of every active job, not 16.</summary>
    private long _preparedAt;

    /// <summary>The stored flags of the last footprint prepared (or of the last lifecycle write); null before the first.</summary>
    private IReadOnlyList<string>? _flagsPrepared;

    /// <summary>
    /// The transactions the writer committed for this job (bumped after their samples are handed
    /// over), and the count <see cref="JudgeCommitted"/> last judged (-1: judge at the next append).
    /// Counted, not inferred from a new footprint, so that every commit is told to the observers even
    /// when it changes no footprint (a measurement build that keeps none, bench/summary-off.patch).
    /// </summary>
    private int _commits;
    private int _commitsJudged = -1;

    public string JobId { get; } = jobId;

    /// <summary>The jobs row's integer key (<see cref="JobRecord.Key"/>) that the sample log stores this job's samples under.</summary>
    public long JobKey { get; set; }

    /// <summary>What the summary and flags are judged against; the grain replaces it at every lifecycle change.</summary>
    public JobFacts Facts { get; set; } = JobFacts.None;

    /// <summary>
    /// How often the footprint is written into the jobs row while samples arrive. The latest usage is
    /// written with every commit; the footprint (a few hundred bytes of JSON) at most this often, and
    /// at once when the stored flags change — writing it with every commit cost a fifth of batch
    /// ingest (docs/benchmarks.md). Samples committed since the last write are caught up on
    /// activation from the sample log (<see cref="Load"/>), a bounded read of that last minute.
    /// </summary>
    public static readonly TimeSpan FootprintWriteInterval = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The committed samples' footprint over the current attempt. Read on the grain's turn only: the
    /// samples the writer committed since the last read are folded into it first, all in one
    /// (<see cref="Footprint.WithAll"/>: one record per node, not a chain of records per sample).
    /// </summary>
    public Footprint Footprint
    {
        get
        {
            if (Volatile.Read(ref _unfolded) is not null && Interlocked.Exchange(ref _unfolded, null) is { } committed)
            {
                // The peak memory (all nodes together) is the writer's, from the latest usage it combined per sample.
                _footprint = _footprint.WithAll(committed, settings.Window, settings.Efficiency.IdleGpuPercent)
                    .WithMemory(_committed.PeakMemoryMb);
            }

            return _footprint;
        }
    }

    /// <summary>The summary and flags of <paramref name="footprint"/> for this job, as of now (or its end).</summary>
    public (JobSummary Summary, IReadOnlyList<string> Flags) Verdict(Footprint footprint) =>
        JobVerdict.Of(footprint, Facts, settings.Window, settings.Time.GetUtcNow(), settings.Efficiency);

    /// <summary>The summary and flags of the committed footprint, judged now (a view's).</summary>
    public (JobSummary Summary, IReadOnlyList<string> Flags) CommittedVerdict() => Verdict(Footprint);

    /// <summary>The flags alone of <see cref="Verdict"/>, judged on <see cref="FlagFigures"/> without building a summary: what the grain tells its observers and stores after each commit.</summary>
    public IReadOnlyList<string> FlagsOf(Footprint footprint) =>
        JobVerdict.FlagsOf(footprint, Facts, settings.Window, settings.Time.GetUtcNow(), settings.Efficiency);

    /// <summary>
    /// After an append, on the grain's turn: the committed footprint (the writer's new samples folded)
    /// and its flags, or false when no commit came since the last judgement. The appends of one job that a
    /// group commit held complete together (a 5,000-sample batch of 1,000 jobs is one append per job,
    /// and a commit holds several batches); the first folds and judges, the others have nothing new.
    /// </summary>
    public bool JudgeCommitted(out Footprint footprint, out IReadOnlyList<string> flags)
    {
        // The count first: the samples of every commit it counts are handed over before it is bumped.
        var commits = Volatile.Read(ref _commits);
        footprint = Footprint;
        if (commits == _commitsJudged)
        {
            flags = [];
            return false;
        }

        _commitsJudged = commits;
        flags = FlagsOf(footprint);
        return true;
    }

    /// <summary>
    /// After a commit, on the grain's turn: hands the row <paramref name="footprint"/> and the stored
    /// form of <paramref name="flags"/> (its judgement) for the writer's next transaction of this job,
    /// when they are due — the flags changed, or the last was prepared <see cref="FootprintWriteInterval"/>
    /// ago. True when the flags changed: then the caller has the row written at once (an append of no
    /// sample), so that a <c>?flag=</c> list agrees with the job once its samples are acknowledged.
    /// <paramref name="rowVersion"/> is the jobs row's lifecycle version the judgement was made on:
    /// a backend whose lifecycle writes do not go through the sample writer (PostgreSQL) writes the
    /// footprint only if the row is still at it, so a lifecycle write that committed in between keeps its own.
    /// </summary>
    public bool PrepareRow(Footprint footprint, IReadOnlyList<string> flags, long rowVersion)
    {
        var now = settings.Time.GetUtcNow().UtcTicks;
        var stored = Flagging.Stored(flags);
        var changed = _flagsPrepared is not { } prepared || !SameFlags(stored, prepared);
        if (!changed && now - _preparedAt < FootprintWriteInterval.Ticks)
        {
            return false;
        }

        (_preparedAt, _flagsPrepared) = (now, stored);
        Volatile.Write(ref _rowDue, new RowFootprint(footprint, stored, Volatile.Read(ref _rowGeneration), rowVersion));
        return changed;
    }

    /// <summary>
    /// Before the grain queues a lifecycle write (which stores the flags and the footprint itself): a
    /// footprint prepared before it carries flags judged against the old lifecycle, so it is
    /// withdrawn, and one the writer holds already is not put back.
    /// </summary>
    public void LifecycleWriting()
    {
        Interlocked.Increment(ref _rowGeneration);
        Interlocked.Exchange(ref _rowDue, null);
    }

    /// <summary>
    /// The lifecycle write stored <paramref name="flags"/> (judged against the new facts), and the
    /// footprint with them when it had samples: the next footprint is due a full interval later
    /// (unless the flags change), so a job that was created and then reported once holds no
    /// footprint for the writer until its next sample a minute on (memory per job, row 5). A
    /// footprint prepared while the write was under way is newer than it, and stays due.
    /// </summary>
    public void LifecycleWritten(IReadOnlyList<string> flags) =>
        (_preparedAt, _flagsPrepared) = (settings.Time.GetUtcNow().UtcTicks, Flagging.Stored(flags));

    /// <summary>
    /// On the writer's loop, once per touched job and transaction: the footprint and stored flags (JSON)
    /// that the transaction writes with the row, or null when none is due. Put back if the transaction
    /// is discarded, unless the grain prepared a newer one meanwhile. Serialized here, when written:
    /// a job whose last sample left a footprint due holds only the two references until its next
    /// transaction (its JSON, held instead, was 850 bytes of every idle active job; row 5).
    /// </summary>
    public (string Footprint, string? Flags, long RowVersion)? TakeRowFootprint()
    {
        _rowWriting = Interlocked.Exchange(ref _rowDue, null) is { } due && IsCurrent(due) ? due : null;
        return _rowWriting is { } row ? (Storage.StorageJson.FootprintJson(row.Footprint), Storage.StorageJson.Flags(row.Flags), row.RowVersion) : null;
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

    /// <summary>A requeued job's new attempt starts with an empty footprint; samples committed for the old one and not folded yet are let go with it.</summary>
    public void StartAttempt(int attempt)
    {
        Interlocked.Exchange(ref _unfolded, null);
        LifecycleWriting();
        _footprint = Footprint.Empty(attempt);
        _commitsJudged = -1;
        _committed = _committed with { PeakMemoryMb = 0 };
        (_preparedAt, _flagsPrepared) = (0, null);
    }

    /// <summary>The latest usage of the committed samples, or null before the first.</summary>
    public UsageSample? Latest => _committed.Latest;

    /// <summary>The latest usage including the samples staged in the open transaction.</summary>
    public UsageSample? StagedLatest => (_staged ?? _committed).Latest;

    /// <summary>Whether the open transaction touches this job's row (samples staged, or <see cref="Touch"/>).</summary>
    public bool IsStaged => _staged is not null;

    /// <summary>
    /// Rebuilds the state on activation from the newest stored samples (oldest first), the row's
    /// latest usage and the row's footprint (never from the history: the footprint is stored with
    /// the row), plus the samples committed since it was stored; a footprint of an earlier attempt is
    /// not this attempt's.
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

        // The recent samples give the latest usage only; the peak is the stored footprint's.
        _committed = (rowLatest is null ? state : state with { Latest = rowLatest }) with { PeakMemoryMb = 0 };
        _footprint = footprint;
        _commitsJudged = -1;
        _staged = null;
        _staging = null;
        _unfolded = null;
        _rowDue = null;
        _rowWriting = null;
        (_preparedAt, _flagsPrepared) = (0, null);
    }

    /// <summary>Adds a sample that the open transaction inserted.</summary>
    public void Stage(UsageSample sample)
    {
        _staged = (_staged ?? _committed).With(sample, settings.Window);
        (_staging ??= []).Add(sample);
    }

    /// <summary>The open transaction writes this job's row without a sample of its own (to write a prepared footprint); a job with no latest usage has no row to touch.</summary>
    public bool Touch()
    {
        if (_staged is not null || _committed.Latest is null)
        {
            return false;
        }

        _staged = _committed;
        return true;
    }

    public void Commit()
    {
        _rowWriting = null;
        var staged = _staged;
        if (staged is not null)
        {
            // The latest usage (and the peak memory a fold reads) before the samples are handed over.
            _committed = staged;
            _staged = null;
        }

        if (_staging is { } samples)
        {
            _staging = null;
            HandOver(samples);
        }

        if (staged is not null)
        {
            Volatile.Write(ref _commits, _commits + 1);
        }
    }

    public void Discard()
    {
        _staged = null;
        _staging = null;
        if (_rowWriting is { } row)
        {
            if (IsCurrent(row))
            {
                Interlocked.CompareExchange(ref _rowDue, row, null);
            }

            _rowWriting = null;
        }
    }

    /// <summary>The committed samples join those the grain has not folded yet; a list once handed over is never changed.</summary>
    private void HandOver(List<UsageSample> samples)
    {
        var current = Volatile.Read(ref _unfolded);
        while (true)
        {
            var next = current is null ? samples : [.. current, .. samples];
            var seen = Interlocked.CompareExchange(ref _unfolded, next, current);
            if (ReferenceEquals(seen, current))
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>A footprint and its stored flags, prepared by the grain for the jobs row (both immutable, shared with the grain's own).</summary>
    private sealed record RowFootprint(Footprint Footprint, IReadOnlyList<string> Flags, int Generation, long RowVersion);

    private bool IsCurrent(RowFootprint row) => row.Generation == Volatile.Read(ref _rowGeneration);

    /// <summary>The latest usage, and the peak of the job's combined memory over the samples staged since the attempt started.</summary>
    private sealed record State(UsageSample? WholeJob, UsageSample[] ByNode, UsageSample? Latest, long PeakMemoryMb)
    {
        public static State Empty { get; } = new(null, [], null, 0);

        /// <summary>The latest usage with <paramref name="sample"/>; the footprint is folded apart, on the grain (<see cref="Footprint"/>).</summary>
        public State With(UsageSample sample, TimeSpan window)
        {
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
            var peak = latest is not null && latest.MemoryUsageMb > PeakMemoryMb ? latest.MemoryUsageMb : PeakMemoryMb;
            return new State(wholeJob, byNode, latest, peak);
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

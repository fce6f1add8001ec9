using HpcJobs.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace HpcJobs.Grains;

/// <summary>
/// One job. The only writer of the job: it enforces the state machine, persists the lifecycle
/// through grain storage (the jobs row itself, one transaction per change), and appends samples
/// through the silo's group-commit writer. Samples interleave with each other (they only append),
/// so a busy job is not limited to one commit per sample.
/// </summary>
[GrainType("job")]
public sealed partial class JobGrain(
    [PersistentState("job", StorageNames.JobState)] IPersistentState<JobRecord> record,
    JobGrainServices shared) : Grain, IJobGrain
{
    internal const int RecentSampleCount = 16;

    /// <summary>
    /// A recovery pass that reached this activation at most this long before Orleans dropped it may
    /// have come too early for the drop (see <see cref="OnDeactivateAsync"/>).
    /// </summary>
    internal static readonly TimeSpan RecoveryWindow = TimeSpan.FromMinutes(1);

    private SampleRing _recent = new(RecentSampleCount);
    private JobUsage? _usage;
    private Task _lastAppend = Task.CompletedTask;
    private bool _deleting;

    /// <summary>A lifecycle write is under way: a footprint prepared meanwhile is judged on the version it will store.</summary>
    private bool _writingLifecycle;

    /// <summary>When a recovery pass last reached this activation.</summary>
    private long _recoveredAt = UtcTicks.None;

    /// <summary>The last sample, event or request (not a recovery call; from the row on activation) and the stale limit, for the silo's sweep.</summary>
    private StaleWatch? _watch;

    private string? _id;

    /// <summary>Once per activation: the grain key is decoded into a new string at every read, and each sample reads it.</summary>
    private string Id => _id ??= JobKey.FromGrainKey(this.GetPrimaryKeyString());

    private bool Exists => record.RecordExists && !_deleting;

    /// <summary>
    /// The jobs row's lifecycle version a footprint prepared now is judged on: the activation's ETag
    /// (0 before the row exists), or the version a lifecycle write under way will store — a
    /// footprint prepared during that write is judged on its new facts, and is newer than it.
    /// </summary>
    private long RowVersion => (JobRowStorage.ParseETag(record.Etag) ?? 0) + (_writingLifecycle ? 1 : 0);

    private JobUsage Usage => _usage ??= new JobUsage(Id, shared.Usage) { Facts = JobFacts.Of(record.State) };

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (record.RecordExists)
        {
            shared.Names.Intern(record.State);
            var stored = await shared.Index.ReadUsageAsync(Id).ConfigureAwait(true);
            var recent = await shared.Samples.ReadRecentAsync(Id, RecentSampleCount).ConfigureAwait(true);
            foreach (var sample in recent)
            {
                _recent.Add(sample);
            }

            // The summary goes on from the footprint stored with the row (never from the history), plus
            // the samples committed since it was last written (at most a minute of them).
            var footprint = stored.Footprint is { } row && row.Attempt == record.State.Attempt ? row : null;
            IReadOnlyList<UsageSample> since = [];
            if (stored.Latest is not null)
            {
                var from = footprint?.CountedUntil ?? record.State.StartTime - shared.SampleOptions.MaxClockSkew;
                since = await shared.Samples.ReadRangeAsync(Id, from, null, 10_000, CancellationToken.None).ConfigureAwait(true);
            }

            Usage.Load(recent, stored.Latest, footprint, record.State.Attempt, since);
            Watch.LastActivity = Latest(record.State.StartTime, stored.Latest?.Timestamp, record.State.UpdatedAt);
            shared.Observer.OnChanged(View());
            KeepActiveJobsActivated();
        }
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        shared.Observer.OnDeactivated(Id);
        if (_watch is { } watch)
        {
            shared.Sweeper.Forget(watch);
        }

        // Orleans drops the activations whose grain-directory entry lived on a silo that left. The
        // departure's pass brings such a job back when it calls it after the drop; when it reached
        // this activation just before the drop (this silo learned of the departure late), nothing
        // else would, so the job asks for one more call.
        if (reason.ReasonCode == DeactivationReasonCode.DirectoryFailure
            && Exists
            && !record.State.State.IsTerminal()
            && UtcTicks.AtOrNull(_recoveredAt) is { } recovered
            && shared.Time.GetUtcNow() - recovered < RecoveryWindow)
        {
            shared.Activator.Reactivate(Id);
        }

        return Task.CompletedTask;
    }

    public async Task<JobOutcome> CreateAsync(CreateJob command, WriteContext context)
    {
        Touch();
        if (record.RecordExists)
        {
            return JobOutcome.Conflict($"job '{Id}' already exists");
        }

        var now = MicrosecondTime.Truncate(shared.Time.GetUtcNow());
        await WriteLifecycleAsync(new JobRecord
        {
            User = command.User,
            Nodes = [.. command.Nodes],
            State = command.State,
            StartTime = command.StartTime is { } start ? MicrosecondTime.Truncate(start) : now,
            SchedulerJson = command.SchedulerJson,
            Allocation = command.Allocation ?? JobAllocation.None,
            Cluster = command.Cluster,
            PendingAudit = LifecycleEvents.Audit(now, AuditChanges.Created, null, command.State, context),
        }).ConfigureAwait(true);
        shared.Observer.OnCreated(View());
        KeepActiveJobsActivated();
        LogCreated(shared.Logger, Id, command.State, context.ChangedBy, context.Source);
        return new JobOutcome(OutcomeKind.Created, View(), null);
    }

    public Task<JobOutcome> GetAsync()
    {
        Touch();
        return Task.FromResult(Exists ? new JobOutcome(OutcomeKind.Ok, View(), null) : JobOutcome.NotFound(Id));
    }

    public Task RecoverAsync()
    {
        _recoveredAt = UtcTicks.Of(shared.Time.GetUtcNow());
        return Task.CompletedTask;
    }

    public async Task<JobOutcome> UpdateAsync(UpdateJob command, WriteContext context)
    {
        Touch();
        if (!Exists)
        {
            return JobOutcome.NotFound(Id);
        }

        var current = record.State.State;
        if (command.State is { } target && !JobStateMachine.CanMove(current, target))
        {
            return JobOutcome.Conflict($"job '{Id}' cannot move from {current.ToWire()} to {target.ToWire()}");
        }

        if (command.HasUsage)
        {
            if (current.IsTerminal())
            {
                return JobOutcome.Conflict($"job '{Id}' is {current.ToWire()} and takes no more samples");
            }

            var latest = Usage.Latest;
            await AppendAsync([new UsageSample(
                MicrosecondTime.Truncate(shared.Time.GetUtcNow()),
                command.CpuUsage ?? latest?.CpuUsage ?? 0,
                command.MemoryUsageMb ?? latest?.MemoryUsageMb ?? 0,
                command.GpuUsage)]).ConfigureAwait(true);
        }

        if (command.State is { } newState && newState != current)
        {
            var next = record.State.Copy();
            var now = MicrosecondTime.Truncate(shared.Time.GetUtcNow());
            next.State = newState;
            next.EndTime = newState.IsTerminal() ? Max(next.StartTime, now) : null;
            next.PendingAudit = LifecycleEvents.Audit(now, AuditChanges.Transition, current, newState, context);
            await WriteLifecycleAsync(next).ConfigureAwait(true);
            shared.Observer.OnTransition(View(), current);
            KeepActiveJobsActivated();
            LogTransition(shared.Logger, Id, current, newState, context.ChangedBy, context.Source);
        }

        return new JobOutcome(OutcomeKind.Ok, View(), null);
    }

    public async Task<EventOutcome> StartedAsync(JobStarted started, WriteContext context)
    {
        Touch();
        var before = Exists ? record.State : null;
        var decision = LifecycleEvents.Started(Id, before, started, context, MicrosecondTime.Truncate(shared.Time.GetUtcNow()));
        return await StoreAsync(decision, before?.State).ConfigureAwait(true);
    }

    public async Task<EventOutcome> FinishedAsync(JobFinished finished, WriteContext context)
    {
        Touch();
        if (!Exists)
        {
            return new EventOutcome(EventStatus.NotFound, null, $"job '{Id}' not found");
        }

        var from = record.State.State;
        var decision = LifecycleEvents.Finished(Id, record.State, finished, context, MicrosecondTime.Truncate(shared.Time.GetUtcNow()));
        return await StoreAsync(decision, from).ConfigureAwait(true);
    }

    public async Task<OutcomeKind> DeleteAsync(WriteContext context)
    {
        if (!Exists)
        {
            return OutcomeKind.NotFound;
        }

        _deleting = true;
        try
        {
            // Samples already queued must land before their rows are removed, or they would outlive the job.
            await _lastAppend.ContinueWith(static _ => { }, TaskScheduler.Current).ConfigureAwait(true);

            // The row, its node entries and its samples go in one transaction (JobRowStorage).
            var removed = View();
            await record.ClearStateAsync().ConfigureAwait(true);
            _recent.Clear();
            _usage = null;
            shared.Observer.OnDeleted(removed);
            LogDeleted(shared.Logger, Id, context.ChangedBy, context.Source);
        }
        finally
        {
            _deleting = false;
        }

        DeactivateOnIdle();
        return OutcomeKind.Ok;
    }

    public async Task<SampleOutcome> RecordSamplesAsync(IReadOnlyList<UsageSample> batch, WriteContext context)
    {
        Touch();
        if (!Exists)
        {
            return new SampleOutcome(OutcomeKind.NotFound, null, $"job '{Id}' not found");
        }

        var job = record.State;
        if (job.State.IsTerminal())
        {
            return new SampleOutcome(OutcomeKind.Conflict, null, $"job '{Id}' is {job.State.ToWire()} and takes no more samples");
        }

        if (context.ScopedNode is { } scoped && !job.Nodes.Contains(scoped))
        {
            return new SampleOutcome(OutcomeKind.Forbidden, null, $"job '{Id}' does not run on node '{scoped}', which this token is for");
        }

        var (valid, rejected) = Admit(batch, job, context.ScopedNode);
        if (valid.Count == 0)
        {
            return new SampleOutcome(OutcomeKind.Created, null, null, 0, 0, rejected);
        }

        var result = await AppendAsync(valid).ConfigureAwait(true);
        var last = valid.Count - 1;
        return new SampleOutcome(
            OutcomeKind.Created,
            result.StoredDuplicate(last) ?? valid[last],
            null,
            valid.Count - result.Duplicates,
            result.Duplicates,
            rejected);
    }

    public Task<IReadOnlyList<UsageSample>> GetRecentSamplesAsync()
    {
        Touch();
        return Task.FromResult(_recent.ToList());
    }

    /// <summary>
    /// Pending and running jobs stay activated: their Prometheus series come from the activation,
    /// so idle collection must not drop them between samples — until they are stale
    /// (<see cref="DeactivateIfStaleAsync"/>). Ended jobs are collected as usual.
    /// </summary>
    private void KeepActiveJobsActivated()
    {
        if (record.State.State.IsTerminal())
        {
            DelayDeactivation(TimeSpan.FromTicks(-1));
            if (_watch is { } watch)
            {
                shared.Sweeper.Forget(watch);
            }

            return;
        }

        DelayDeactivation(TimeSpan.MaxValue);

        // The limit may change with the lifecycle (a job-started event brings the time limit).
        Watch.Limit = shared.StaleOptions.LimitFor(record.State.SchedulerJson);
        shared.Sweeper.Watch(Watch);
    }

    private StaleWatch Watch => _watch ??= new StaleWatch(Id);

    private void Touch() => Watch.LastActivity = shared.Time.GetUtcNow();

    /// <summary>
    /// The samples that may be stored, in order, and the refused ones with their positions in
    /// <paramref name="batch"/>. A node token's sample without <c>node</c> is its node's.
    /// </summary>
    private (IReadOnlyList<UsageSample> Valid, List<SampleRejection>? Rejected) Admit(
        IReadOnlyList<UsageSample> batch, JobRecord job, string? scopedNode)
    {
        var now = shared.Time.GetUtcNow();
        List<UsageSample>? valid = null;
        List<SampleRejection>? rejected = null;
        for (var i = 0; i < batch.Count; i++)
        {
            var sample = batch[i];
            if (scopedNode is not null && sample.Node is null)
            {
                sample = sample with { Node = scopedNode };
            }

            var problem = Problem(sample, job, scopedNode, now);
            if (problem is null && valid is null && rejected is null && ReferenceEquals(sample, batch[i]))
            {
                continue; // every sample so far is valid as given: no copy yet
            }

            if (valid is null)
            {
                valid = new List<UsageSample>(batch.Count);
                for (var j = 0; j < i; j++)
                {
                    valid.Add(batch[j]);
                }
            }

            if (problem is { } refused)
            {
                (rejected ??= []).Add(new SampleRejection(i, refused.Problem, refused.Message));
            }
            else
            {
                valid.Add(sample);
            }
        }

        return valid is null ? (batch, null) : (valid, rejected);
    }

    private (SampleProblem Problem, string Message)? Problem(UsageSample sample, JobRecord job, string? scopedNode, DateTimeOffset now)
    {
        if (sample.Node is { } node)
        {
            if (scopedNode is not null && node != scopedNode)
            {
                return (SampleProblem.Forbidden, $"this token may post samples only for node '{scopedNode}', not '{node}'");
            }

            if (!job.Nodes.Contains(node))
            {
                return (SampleProblem.Node, $"'{node}' is not one of the job's nodes");
            }
        }

        return SampleWindow.Problem(sample.Timestamp, now, job.StartTime, shared.SampleOptions.MaxClockSkew, shared.Retention) is { } message
            ? (SampleProblem.Timestamp, message)
            : null;
    }

    private async Task<AppendResult> AppendAsync(IReadOnlyList<UsageSample> batch)
    {
        // The append is queued before the first await, so samples of one job commit in call order.
        Usage.JobKey = record.State.Key;
        var append = shared.Samples.AppendAsync(Id, batch, Usage);
        _lastAppend = append;
        AppendResult result;
        try
        {
            result = await append.ConfigureAwait(true);
        }
        finally
        {
            // A finished append has nothing left to wait for; holding it kept its state machine (136 bytes) per job.
            if (ReferenceEquals(_lastAppend, append))
            {
                _lastAppend = Task.CompletedTask;
            }
        }

        var stored = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            if (!result.IsDuplicate(i))
            {
                _recent.Add(batch[i]);
                stored++;
            }
        }

        // The samples the writer committed are folded and judged here, on the job's turn, not on the
        // writer's loop (once per commit: another append of the same commit may have done it, and
        // told the observers the latest usage it published with them); a due footprint goes with
        // the job's next transaction, a change of flags at once.
        if (stored == 0 || !Usage.JudgeCommitted(out var footprint, out var flags))
        {
            return result;
        }

        if (Usage.Latest is { } latest)
        {
            // Only the usage moved: no view per sample (the observers keep the lifecycle they have).
            shared.Observer.OnUsageChanged(Id, new JobUsageChange(latest, footprint.LastSample(), flags));
        }

        if (Usage.PrepareRow(footprint, flags, RowVersion))
        {
            try
            {
                await shared.Samples.AppendAsync(Id, [], Usage).ConfigureAwait(true);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                // The samples are stored and acknowledged as such; the prepared footprint stays due and
                // goes with the job's next transaction.
                LogRowWriteFailed(shared.Logger, error, Id);
            }
        }

        return result;
    }

    /// <summary>
    /// A pending or running job with no sample, event or request for its stale limit leaves memory
    /// and the exporter; its row stays as it is (ending a job that went silent is the reconciler's
    /// decision, from heartbeats), and its next request activates it again. The silo's sweep
    /// (<see cref="StaleJobSweeper"/>) asks; the job decides on its own turn.
    /// </summary>
    public Task DeactivateIfStaleAsync()
    {
        if (!Exists || record.State.State.IsTerminal() || _watch is not { } watch)
        {
            return Task.CompletedTask;
        }

        if (!watch.IsStale(shared.Time.GetUtcNow()))
        {
            return Task.CompletedTask;
        }

        LogStale(shared.Logger, Id, record.State.State, watch.LastActivity, watch.Limit.TotalHours);
        shared.Activator.CountStaleDeactivation();
        shared.Sweeper.Forget(watch);
        shared.Observer.OnDeactivated(Id);
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    /// <summary>Stores what an event decided, and tells the observers as a create or a transition would.</summary>
    private async Task<EventOutcome> StoreAsync(LifecycleEvents.Decision decision, JobState? from)
    {
        if (decision.Next is not { } next)
        {
            return new EventOutcome(decision.Status, Exists ? View() : null, decision.Message);
        }

        var audit = next.PendingAudit!;
        var requeued = from is not null && next.Attempt != record.State.Attempt;
        if (requeued && next.Attempts.Count > 0)
        {
            // The attempt that ends here keeps its summary and flags, frozen at its end.
            var (summary, flags) = Usage.Verdict(Usage.Footprint);
            var ended = next.Attempts[^1];
            next.Attempts = [.. next.Attempts.SkipLast(1), ended with { Summary = summary, Flags = flags }];
        }

        await WriteLifecycleAsync(next).ConfigureAwait(true);
        if (requeued)
        {
            Usage.StartAttempt(next.Attempt);
        }

        if (from is not { } previous)
        {
            shared.Observer.OnCreated(View());
        }
        else if (previous != next.State)
        {
            shared.Observer.OnTransition(View(), previous);
        }
        else
        {
            shared.Observer.OnChanged(View());
        }

        KeepActiveJobsActivated();
        LogEvent(shared.Logger, Id, audit.Change, audit.ToState, audit.ChangedBy, audit.Source);
        return new EventOutcome(decision.Status, View(), decision.Message);
    }

    /// <summary>
    /// Stores <paramref name="next"/> as the job's lifecycle. The write is one transaction, so when it
    /// fails nothing was stored and memory goes back to what is stored: the caller's 503 means "no change".
    /// </summary>
    private async Task WriteLifecycleAsync(JobRecord next)
    {
        var previous = record.State;
        var previousFacts = Usage.Facts;
        next.UpdatedAt = MicrosecondTime.Truncate(shared.Time.GetUtcNow());
        shared.Names.Intern(next);
        record.State = next;

        // The flags stored with the row are judged against the new lifecycle (final when it ends), and
        // the footprint goes with them: the row's summary is the job's as of each transition.
        Usage.Facts = JobFacts.Of(next);
        Usage.LifecycleWriting();
        var footprint = next.Attempt == previous.Attempt ? Usage.Footprint : Footprint.Empty(next.Attempt);
        next.Flags = Usage.Verdict(footprint).Flags;
        next.PendingFootprint = footprint.SampleCount > 0 ? StorageJson.FootprintJson(footprint) : null;
        _writingLifecycle = true;
        try
        {
            await record.WriteStateAsync().ConfigureAwait(true);
            Usage.LifecycleWritten(next.Flags);
        }
        catch
        {
            record.State = previous;
            Usage.Facts = previousFacts;
            throw;
        }
        finally
        {
            _writingLifecycle = false;
            next.PendingAudit = null;
            next.PendingFootprint = null;
        }
    }

    private JobView View()
    {
        var r = record.State;
        var (summary, flags) = Usage.Verdict(Usage.Footprint);
        return new JobView(
            Id, r.User, r.Nodes, r.State, r.StartTime, r.EndTime, r.SchedulerJson, _usage?.Latest,
            r.Allocation, r.Cluster, r.Attempt, r.Attempts, summary, flags);
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset Latest(DateTimeOffset start, DateTimeOffset? sample, DateTimeOffset? written) =>
        Max(start, Max(sample ?? start, written ?? start));

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} created in state {State} by {ChangedBy} ({Source})")]
    private static partial void LogCreated(ILogger logger, string jobId, JobState state, string changedBy, string source);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} moved from {From} to {To} by {ChangedBy} ({Source})")]
    private static partial void LogTransition(ILogger logger, string jobId, JobState from, JobState to, string changedBy, string source);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId}: {Change} to {State} by {ChangedBy} ({Source})")]
    private static partial void LogEvent(ILogger logger, string jobId, string change, JobState? state, string changedBy, string source);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} ({State}) is stale: nothing since {LastActivity:o}, limit {Hours:F1} h; deactivated and no longer exported, its stored state unchanged")]
    private static partial void LogStale(ILogger logger, string jobId, JobState state, DateTimeOffset lastActivity, double hours);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: its changed flags were not written with its row now; they go with its next samples")]
    private static partial void LogRowWriteFailed(ILogger logger, Exception error, string jobId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} deleted by {ChangedBy} ({Source})")]
    private static partial void LogDeleted(ILogger logger, string jobId, string changedBy, string source);
}

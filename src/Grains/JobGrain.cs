using HpcJobs.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace HpcJobs.Grains;

/// <summary>
/// One job. The only writer of the job: it enforces the state machine, persists the lifecycle
/// through grain storage, keeps the jobs row current, and appends samples through the silo's
/// group-commit writer. Samples interleave with each other (they only append), so a busy job is
/// not limited to one commit per sample.
/// </summary>
[GrainType("job")]
public sealed partial class JobGrain(
    [PersistentState("job", StorageNames.JobState)] IPersistentState<JobRecord> record,
    IJobIndex index,
    ISampleLog samples,
    IJobObserver observer,
    TimeProvider time,
    ILogger<JobGrain> logger) : Grain, IJobGrain
{
    internal const int RecentSampleCount = 16;

    private readonly SampleRing _recent = new(RecentSampleCount);
    private UsageSample? _latest;
    private Task _lastAppend = Task.CompletedTask;
    private bool _deleting;
    private bool _rowStale;

    private string Id => JobKey.FromGrainKey(this.GetPrimaryKeyString());

    private bool Exists => record.RecordExists && !_deleting;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (record.RecordExists)
        {
            // The row may lag the state if the process died between the two writes.
            await index.EnsureAsync(ToRow()).ConfigureAwait(true);
            _latest = await index.ReadLatestAsync(Id).ConfigureAwait(true);
            foreach (var sample in await samples.ReadRecentAsync(Id, RecentSampleCount).ConfigureAwait(true))
            {
                _recent.Add(sample);
            }

            observer.OnChanged(View());
            KeepActiveJobsActivated();
        }
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        observer.OnDeactivated(Id);
        return Task.CompletedTask;
    }

    public async Task<JobOutcome> CreateAsync(CreateJob command)
    {
        if (record.RecordExists)
        {
            // A retried create whose first attempt stored the state but not the row completes the row.
            await RepairRowAsync().ConfigureAwait(true);
            return JobOutcome.Conflict($"job '{Id}' already exists");
        }

        var now = MicrosecondTime.Truncate(time.GetUtcNow());
        record.State = new JobRecord
        {
            User = command.User,
            Nodes = [.. command.Nodes],
            State = command.State,
            StartTime = command.StartTime is { } start ? MicrosecondTime.Truncate(start) : now,
            SchedulerJson = command.SchedulerJson,
        };
        await WriteLifecycleAsync(created: true).ConfigureAwait(true);
        observer.OnCreated(View());
        KeepActiveJobsActivated();
        LogCreated(logger, Id, command.State);
        return new JobOutcome(OutcomeKind.Created, View(), null);
    }

    public Task<JobOutcome> GetAsync() =>
        Task.FromResult(Exists ? new JobOutcome(OutcomeKind.Ok, View(), null) : JobOutcome.NotFound(Id));

    public async Task<JobOutcome> UpdateAsync(UpdateJob command)
    {
        if (!Exists)
        {
            return JobOutcome.NotFound(Id);
        }

        await RepairRowAsync().ConfigureAwait(true);
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

            await AppendAsync([new UsageSample(
                MicrosecondTime.Truncate(time.GetUtcNow()),
                command.CpuUsage ?? _latest?.CpuUsage ?? 0,
                command.MemoryUsageMb ?? _latest?.MemoryUsageMb ?? 0,
                command.GpuUsage)]).ConfigureAwait(true);
        }

        if (command.State is { } next && next != current)
        {
            var previous = record.State;
            record.State = new JobRecord
            {
                User = previous.User,
                Nodes = previous.Nodes,
                State = next,
                StartTime = previous.StartTime,
                EndTime = next.IsTerminal() ? Max(previous.StartTime, MicrosecondTime.Truncate(time.GetUtcNow())) : null,
                SchedulerJson = previous.SchedulerJson,
            };
            try
            {
                await WriteLifecycleAsync().ConfigureAwait(true);
            }
            catch
            {
                record.State = previous;
                throw;
            }

            observer.OnTransition(View(), current);
            KeepActiveJobsActivated();
            LogTransition(logger, Id, current, next);
        }

        return new JobOutcome(OutcomeKind.Ok, View(), null);
    }

    public async Task<OutcomeKind> DeleteAsync()
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

            // Row first, state second: a crash in between leaves the state, and the next activation
            // restores the row, so the job is never half-deleted from a client's point of view.
            await index.DeleteAsync(Id).ConfigureAwait(true);
            var removed = View();
            await record.ClearStateAsync().ConfigureAwait(true);
            _recent.Clear();
            _latest = null;
            observer.OnDeleted(removed);
            LogDeleted(logger, Id);
        }
        finally
        {
            _deleting = false;
        }

        DeactivateOnIdle();
        return OutcomeKind.Ok;
    }

    public Task<SampleOutcome> RecordSampleAsync(UsageSample sample) => RecordSamplesAsync([sample]);

    public async Task<SampleOutcome> RecordSamplesAsync(IReadOnlyList<UsageSample> samples)
    {
        if (!Exists)
        {
            return new SampleOutcome(OutcomeKind.NotFound, null, $"job '{Id}' not found");
        }

        if (record.State.State.IsTerminal())
        {
            return new SampleOutcome(
                OutcomeKind.Conflict, null, $"job '{Id}' is {record.State.State.ToWire()} and takes no more samples");
        }

        await AppendAsync(samples).ConfigureAwait(true);
        return new SampleOutcome(OutcomeKind.Created, samples[^1], null);
    }

    public Task<IReadOnlyList<UsageSample>> GetRecentSamplesAsync() => Task.FromResult(_recent.ToList());

    private async Task AppendAsync(IReadOnlyList<UsageSample> batch)
    {
        // The append is queued before the first await, so samples of one job commit in call order.
        var append = samples.AppendAsync(Id, batch);
        _lastAppend = append;
        await append.ConfigureAwait(true);
        var latest = _latest;
        foreach (var sample in batch)
        {
            _recent.Add(sample);
            latest = LatestUsage.Merge(latest, sample);
        }

        if (!ReferenceEquals(latest, _latest))
        {
            _latest = latest;
            observer.OnChanged(View());
        }
    }

    /// <summary>
    /// Pending and running jobs stay activated: their Prometheus series come from the activation,
    /// so idle collection must not drop them between samples. Ended jobs are collected as usual.
    /// </summary>
    private void KeepActiveJobsActivated() =>
        DelayDeactivation(record.State.State.IsTerminal() ? TimeSpan.FromTicks(-1) : TimeSpan.MaxValue);

    private async Task WriteLifecycleAsync(bool created = false)
    {
        // State first, row second: see DeleteAsync for why a crash in between is repaired on activation.
        await record.WriteStateAsync().ConfigureAwait(true);
        _rowStale = true;
        await index.UpsertAsync(ToRow(), created).ConfigureAwait(true);
        _rowStale = false;
    }

    /// <summary>Rewrites the row if the last lifecycle write stored the state but failed on the row.</summary>
    private async Task RepairRowAsync()
    {
        if (_rowStale)
        {
            await index.EnsureAsync(ToRow()).ConfigureAwait(true);
            _rowStale = false;
        }
    }

    private JobRow ToRow()
    {
        var r = record.State;
        return new JobRow(Id, r.User, r.Nodes, r.State, r.StartTime, r.EndTime, r.SchedulerJson);
    }

    private JobView View()
    {
        var r = record.State;
        return new JobView(Id, r.User, r.Nodes, r.State, r.StartTime, r.EndTime, r.SchedulerJson, _latest);
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} created in state {State}")]
    private static partial void LogCreated(ILogger logger, string jobId, JobState state);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} moved from {From} to {To}")]
    private static partial void LogTransition(ILogger logger, string jobId, JobState from, JobState to);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} deleted")]
    private static partial void LogDeleted(ILogger logger, string jobId);
}

using HpcJobs.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace HpcJobs.Grains;

[GrainType("job-stats")]
public sealed partial class JobStatsGrain(
    IJobIndex index, TimeProvider time, ILogger<JobStatsGrain> logger) : Grain, IJobStatsGrain
{
    /// <summary>How often the counts are re-read, bounding any drift from a delta lost with a crashed silo.</summary>
    internal static readonly TimeSpan ResyncPeriod = TimeSpan.FromMinutes(5);

    private readonly Dictionary<JobState, long> _byState = JobStateMachine.All.ToDictionary(s => s, _ => 0L);
    private long _everCreated;
    private long _createdSinceResync;
    private long _lastReportedCreated;
    private DateTimeOffset _countedUpTo = DateTimeOffset.MinValue;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await ResyncAsync(cancellationToken).ConfigureAwait(true);
        this.RegisterGrainTimer(
            static (grain, token) => grain.ResyncAsync(token),
            this,
            new GrainTimerCreationOptions { DueTime = ResyncPeriod, Period = ResyncPeriod, Interleave = false });
    }

    public Task ApplyAsync(JobCountDelta delta)
    {
        // A change committed before the last re-read is already in the counts.
        if (delta.CommittedAt < _countedUpTo)
        {
            return Task.CompletedTask;
        }

        if (delta.Removed is { } removed)
        {
            _byState[removed] = Math.Max(0, _byState[removed] - 1);
        }

        if (delta.Added is { } added)
        {
            _byState[added]++;
        }

        if (delta.Created)
        {
            _createdSinceResync++;
        }

        return Task.CompletedTask;
    }

    public Task<JobStats> GetAsync()
    {
        // A counter must never go down, even when a resync lands between a create's commit and its delta.
        _lastReportedCreated = Math.Max(_lastReportedCreated, _everCreated + _createdSinceResync);
        return Task.FromResult(new JobStats(new Dictionary<JobState, long>(_byState), _lastReportedCreated));
    }

    private async Task ResyncAsync(CancellationToken cancellationToken)
    {
        var readStarted = time.GetUtcNow();
        try
        {
            var counts = await index.CountByStateAsync(cancellationToken).ConfigureAwait(true);
            var created = await index.ReadJobsCreatedAsync(cancellationToken).ConfigureAwait(true);
            foreach (var state in JobStateMachine.All)
            {
                _byState[state] = counts.TryGetValue(state, out var count) ? count : 0;
            }

            _everCreated = created;
            _createdSinceResync = 0;
            _countedUpTo = readStarted;
        }
        catch (StorageUnavailableException error)
        {
            // Keep serving the last known counts; the next resync tries again.
            LogResyncFailed(logger, error);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job counts could not be re-read from storage")]
    private static partial void LogResyncFailed(ILogger logger, Exception error);
}

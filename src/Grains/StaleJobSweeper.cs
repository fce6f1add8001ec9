using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HpcJobs.Grains;

/// <summary>
/// Finds this silo's stale active jobs (<see cref="StaleJobOptions"/>) for all of them at once: every
/// <see cref="Interval"/> it looks at the last activity each activated pending or running job
/// recorded in its <see cref="StaleWatch"/>, and asks the jobs past their limit to check and leave
/// (<see cref="IJobGrain.DeactivateIfStaleAsync"/>, on the job's own turn). One sweep per silo instead
/// of a grain timer per job: that timer and its bookkeeping were about 650 bytes of every active job
/// (docs/benchmarks.md, row 5); a watch is a small object in one set.
/// </summary>
public sealed partial class StaleJobSweeper(IGrainFactory grains, TimeProvider time, ILogger<StaleJobSweeper> logger) : BackgroundService
{
    /// <summary>How often the watches are looked at: a stale job leaves at most this long after its limit (hours or days).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    /// <summary>Calls to stale jobs under way at once, so that many jobs going stale together do not flood the silo.</summary>
    private const int Concurrency = 16;

    private readonly Lock _lock = new();
    private readonly HashSet<StaleWatch> _watched = [];

    /// <summary>Jobs watched on this silo (activated pending and running ones).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _watched.Count;
            }
        }
    }

    /// <summary>Starts watching an activated pending or running job; watching it again changes nothing.</summary>
    public void Watch(StaleWatch watch)
    {
        lock (_lock)
        {
            _watched.Add(watch);
        }
    }

    /// <summary>Stops watching a job (it ended, was deleted, went stale or was deactivated).</summary>
    public void Forget(StaleWatch watch)
    {
        lock (_lock)
        {
            _watched.Remove(watch);
        }
    }

    /// <summary>The watched jobs past their limit at <paramref name="now"/>.</summary>
    internal List<StaleWatch> Due(DateTimeOffset now)
    {
        var due = new List<StaleWatch>();
        lock (_lock)
        {
            foreach (var watch in _watched)
            {
                if (watch.IsStale(now))
                {
                    due.Add(watch);
                }
            }
        }

        return due;
    }

    /// <summary>One sweep: each job past its limit checks on its own turn whether it still is, and leaves.</summary>
    internal async Task SweepAsync(CancellationToken cancellationToken)
    {
        var due = Due(time.GetUtcNow());
        if (due.Count == 0)
        {
            return;
        }

        await Parallel.ForEachAsync(
            due,
            new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = cancellationToken },
            async (watch, _) =>
            {
                try
                {
                    await grains.GetJob(watch.JobId).DeactivateIfStaleAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is TimeoutException or OrleansException)
                {
                    // It stays watched: the next sweep asks again.
                    LogCallFailed(logger, watch.JobId, e);
                }
            }).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await SweepAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stale job {JobId} could not be asked to leave; the next sweep asks again")]
    private static partial void LogCallFailed(ILogger logger, string jobId, Exception error);
}

/// <summary>
/// What <see cref="StaleJobSweeper"/> knows of one activated job: its last activity (a sample, an
/// event or a request, not a recovery call) and its stale limit. The job's grain writes it on its
/// turns; the sweep reads it from its own thread, so both values are plain 64-bit fields (UTC ticks).
/// </summary>
public sealed class StaleWatch(string jobId)
{
    private long _lastActivityTicks;
    private long _limitTicks = TimeSpan.MaxValue.Ticks;

    public string JobId { get; } = jobId;

    public DateTimeOffset LastActivity
    {
        get => new(Volatile.Read(ref _lastActivityTicks), TimeSpan.Zero);
        set => Volatile.Write(ref _lastActivityTicks, value.UtcTicks);
    }

    public TimeSpan Limit
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _limitTicks));
        set => Volatile.Write(ref _limitTicks, value.Ticks);
    }

    /// <summary>Whether nothing touched the job for its limit at <paramref name="now"/>.</summary>
    public bool IsStale(DateTimeOffset now) => now.UtcTicks - Volatile.Read(ref _lastActivityTicks) >= Volatile.Read(ref _limitTicks);
}

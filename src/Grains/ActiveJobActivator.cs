using HpcJobs.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HpcJobs.Grains;

/// <summary>
/// Brings back the activations of pending and running jobs, so that their Prometheus series are
/// exported without waiting for each job's next request: a pass over every active job when the
/// cluster starts or a silo leaves (run by one silo, <see cref="DepartedSiloWatcher"/>), and single
/// jobs that Orleans dropped after a pass had reached them (<see cref="Reactivate"/>). Jobs that are
/// stale by what their row records are left alone: they come back at their next request.
/// </summary>
public sealed partial class ActiveJobActivator(
    IGrainFactory grains,
    IJobIndex index,
    IOptions<ActivationOptions> options,
    IOptions<StaleJobOptions> staleOptions,
    TimeProvider time,
    ILogger<ActiveJobActivator> logger)
    : IActivationStatus
{
    /// <summary>How long a dropped job waits before it is called again: the deactivation and the directory settle first.</summary>
    private static readonly TimeSpan ReactivateDelay = TimeSpan.FromSeconds(1);

    private const int ReactivateAttempts = 3;

    private int _running;
    private long _completedRuns;
    private long _calls;
    private long _stale;
    private ActivationRun? _last;

    public int Running => Volatile.Read(ref _running);

    public long CompletedRuns => Interlocked.Read(ref _completedRuns);

    public ActivationRun? LastCompleted => Volatile.Read(ref _last);

    public long ReactivationCalls => Interlocked.Read(ref _calls);

    public long StaleDeactivations => Interlocked.Read(ref _stale);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var started = time.GetTimestamp();
        var activated = 0;
        var stale = 0;
        var failed = 0;
        Interlocked.Increment(ref _running);
        try
        {
            // Keyset pages by id: each page costs the same however many came before it (LIMIT/OFFSET
            // made the whole pass quadratic, about a minute of CPU at 250,000 active jobs).
            var after = string.Empty;
            while (true)
            {
                var page = await index.ListActiveJobsAsync(after, settings.PageSize, cancellationToken).ConfigureAwait(false);
                var now = time.GetUtcNow();

                // A stale job would be deactivated again at once; re-activating it at every pass would keep
                // its activation (and its series) coming back forever.
                var due = page.Where(job => !staleOptions.Value.IsStale(job.LastActivity, job.TimeLimitMinutes, now)).ToList();
                await Parallel.ForEachAsync(
                    due,
                    new ParallelOptions { MaxDegreeOfParallelism = settings.Concurrency, CancellationToken = cancellationToken },
                    async (job, token) =>
                    {
                        if (!await CallAsync(job.Id, ReactivateAttempts, TimeSpan.Zero, token).ConfigureAwait(false))
                        {
                            Interlocked.Increment(ref failed);
                        }
                    }).ConfigureAwait(false);
                activated += due.Count;
                stale += page.Count - due.Count;
                if (page.Count < settings.PageSize)
                {
                    break;
                }

                after = page[^1].Id;
            }

            var run = new ActivationRun(activated, time.GetElapsedTime(started), stale);
            Volatile.Write(ref _last, run);
            Interlocked.Increment(ref _completedRuns);
            LogActivated(logger, activated, run.Duration.TotalSeconds, stale);
            if (failed > 0)
            {
                LogFailed(logger, failed);
            }
        }
        catch (Exception e) when (e is StorageUnavailableException or TimeoutException or OrleansException or OperationCanceledException)
        {
            LogStopped(logger, activated, e);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    /// <summary>Calls one job again, off the caller's scheduler (a grain that is being deactivated).</summary>
    public void Reactivate(string jobId) => _ = Task.Run(() => ReactivateAsync(jobId));

    /// <summary>Counts one stale deactivation (the job grain logs it).</summary>
    public void CountStaleDeactivation() => Interlocked.Increment(ref _stale);

    private async Task ReactivateAsync(string jobId)
    {
        if (await CallAsync(jobId, ReactivateAttempts, ReactivateDelay, CancellationToken.None).ConfigureAwait(false))
        {
            LogReactivated(logger, jobId);
        }
    }

    /// <summary>
    /// One job's re-activation: a call, and again after a pause when it fails (while a silo leaves, a
    /// call may still be routed to it, or the row may be out of reach for a moment). Every attempt counts.
    /// </summary>
    private async Task<bool> CallAsync(string jobId, int attempts, TimeSpan firstDelay, CancellationToken cancellationToken)
    {
        if (firstDelay > TimeSpan.Zero)
        {
            await Task.Delay(firstDelay, time, cancellationToken).ConfigureAwait(false);
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Interlocked.Increment(ref _calls);
                await grains.GetJob(jobId).RecoverAsync().ConfigureAwait(false);
                return true;
            }
            catch (Exception e) when (e is StorageUnavailableException or TimeoutException or OrleansException)
            {
                if (attempt == attempts)
                {
                    LogCallFailed(logger, jobId, e);
                    return false;
                }

                await Task.Delay(ReactivateDelay * attempt, time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Re-activated {Count} pending and running jobs in {Seconds:F1} s, so their series are exported; {Stale} stale jobs left alone")]
    private static partial void LogActivated(ILogger logger, int count, double seconds, int stale);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Activating active jobs stopped after {Count}; the rest return at their next request")]
    private static partial void LogStopped(ILogger logger, int count, Exception error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} re-activated after Orleans dropped its activation")]
    private static partial void LogReactivated(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} could not be re-activated; it returns at its next request")]
    private static partial void LogCallFailed(ILogger logger, string jobId, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} active jobs could not be re-activated by the pass; they return at their next request")]
    private static partial void LogFailed(ILogger logger, int count);
}

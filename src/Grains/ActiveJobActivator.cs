using HpcJobs.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace HpcJobs.Grains;

/// <summary>
/// Activates every pending and running job after the cluster starts (or after the job-count grain
/// moves because its silo died), so that their Prometheus series come back without waiting for
/// each job's next request.
/// </summary>
public sealed partial class ActiveJobActivator(IGrainFactory grains, IJobIndex index, ILogger<ActiveJobActivator> logger)
{
    private const int PageSize = 1000;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var activated = 0;
        try
        {
            foreach (var state in new[] { JobState.Running, JobState.Pending })
            {
                for (long offset = 0; !cancellationToken.IsCancellationRequested; offset += PageSize)
                {
                    var page = await index.ListAsync(new JobQuery(state, null, null, PageSize, offset), cancellationToken).ConfigureAwait(false);
                    await Parallel.ForEachAsync(
                        page.Jobs,
                        new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
                        async (job, _) => await grains.GetJob(job.Id).GetAsync().ConfigureAwait(false)).ConfigureAwait(false);
                    activated += page.Jobs.Count;
                    if (page.Jobs.Count < PageSize)
                    {
                        break;
                    }
                }
            }

            LogActivated(logger, activated);
        }
        catch (Exception e) when (e is StorageUnavailableException or TimeoutException or OrleansException or OperationCanceledException)
        {
            LogStopped(logger, activated, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Activated {Count} pending and running jobs so their series are exported")]
    private static partial void LogActivated(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Activating active jobs stopped after {Count}; the rest return at their next request")]
    private static partial void LogStopped(ILogger logger, int count, Exception error);
}

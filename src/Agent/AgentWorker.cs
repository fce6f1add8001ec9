using HpcJobs.Agent.Cgroups;
using HpcJobs.Agent.Collection;
using HpcJobs.Agent.Sending;
using HpcJobs.Agent.Spool;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HpcJobs.Agent;

/// <summary>
/// The agent's loop: a priming read, then every interval one read, one batch and one heartbeat.
/// <c>--once</c> stops after the first batch (exit code 0 when it was sent or spooled, 1 otherwise).
/// </summary>
public sealed class AgentWorker(
    AgentSettings settings,
    RunMode mode,
    Collector collector,
    BatchSpool spool,
    Delivery delivery,
    DryRun dryRun,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<AgentWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var root = settings.Collection.CgroupRoot;
        AgentLog.Started(logger, settings.Service.Node, settings.Service.ServiceUrl, settings.Service.Interval.TotalSeconds,
            root, SlurmCgroups.Version(root).ToString());
        if (!mode.DryRun)
        {
            try
            {
                spool.Open();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Sending still works; each batch that needs the spool will say it could not be written.
                AgentLog.SpoolWriteFailed(logger, spool.Directory, e.Message);
            }
        }

        try
        {
            await PrimeAsync(stoppingToken);
            using var timer = new PeriodicTimer(settings.Service.Interval, time);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var handled = await IntervalAsync(stoppingToken);
                if (mode.Once)
                {
                    Environment.ExitCode = handled ? 0 : 1;
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            if (mode.Once)
            {
                lifetime.StopApplication();
            }
        }
    }

    /// <summary>The first read only primes the CPU counters; a failure here is the next interval's to retry.</summary>
    private async Task PrimeAsync(CancellationToken stoppingToken)
    {
        try
        {
            await collector.CollectAsync(stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            AgentLog.IntervalFailed(logger, e);
        }
    }

    private async Task<bool> IntervalAsync(CancellationToken stoppingToken)
    {
        try
        {
            var collection = await collector.CollectAsync(stoppingToken);
            if (mode.DryRun)
            {
                dryRun.Print(collection);
                return true;
            }

            return await delivery.DeliverAsync(collection, stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            AgentLog.IntervalFailed(logger, e);
            return false;
        }
    }
}

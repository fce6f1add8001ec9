using HpcJobs.Grains;
using HpcJobs.Grains.Storage;

namespace HpcJobs.Silo.Demo;

/// <summary>
/// <c>DEMO_COLLECTOR=1</c>: keeps the demo moving, as a mock scheduler and node agents would.
/// Every few seconds each running job of the demo cluster reports a fresh sample through its grain
/// (the write path the API uses); now and then one ends (a job-finished event) and a new one
/// starts (job-started, with its allocation), so dashboards show change.
/// </summary>
public sealed partial class DemoCollector(
    IGrainFactory grains, IJobIndex index, TimeProvider time, ILogger<DemoCollector> logger) : BackgroundService
{
    private static readonly WriteContext Source = new("demo-collector", "agent", null, null);
    private static readonly WriteContext Prolog = new("demo-collector", "prolog", null, null);
    private static readonly WriteContext Epilog = new("demo-collector", "epilog", null, null);

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private const int TargetRunning = 60;

    private readonly Random _random = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await TickAsync(stoppingToken);
            }
            catch (Exception e) when (e is StorageUnavailableException or TimeoutException or OrleansException)
            {
                LogTickFailed(logger, e);
            }
        }
    }

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        var page = await index.ListAsync(new JobQuery(JobState.Running, null, null, 1000, 0, Cluster: DemoSeeder.Cluster), cancellationToken);
        var mock = page.Jobs;
        var now = time.GetUtcNow();
        foreach (var job in mock)
        {
            var grain = grains.GetJob(job.Id);
            var roll = _random.NextDouble();
            if (roll < 0.004)
            {
                await grain.FinishedAsync(
                    roll < 0.001 ? new JobFinished(now, null, 1, null, "FAILED", null) : new JobFinished(now, null, 0, null, "COMPLETED", null),
                    Epilog);
                continue;
            }

            var profile = DemoProfile.For(job.Id, job.Nodes[0].StartsWith("gpu-", StringComparison.Ordinal));
            await grain.RecordSamplesAsync([profile.At(job.StartTime, now, _random)], Source);
        }

        if (mock.Count < TargetRunning && _random.NextDouble() < 0.3)
        {
            await StartJobAsync(now);
        }
    }

    private async Task StartJobAsync(DateTimeOffset now)
    {
        var id = $"mock-{now.ToUnixTimeMilliseconds()}";
        var gpu = _random.Next(4) == 0;
        var node = gpu ? $"gpu-{_random.Next(1, 13):D2}" : $"cn-{_random.Next(1, 49):D3}";
        var allocation = new JobAllocation(gpu ? 32 : 64, gpu ? 256_000 : 128_000, gpu ? 4 : null, gpu ? "nvidia" : "none");
        await grains.GetJob(id).StartedAsync(
            new JobStarted("demo", [node], now, allocation, DemoSeeder.Cluster, gpu ? "gpu" : "cpu", "demo", "normal", 240, 0), Prolog);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Demo collector tick failed; next tick retries")]
    private static partial void LogTickFailed(ILogger logger, Exception error);
}

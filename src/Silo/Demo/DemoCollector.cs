using System.Text.Json;
using HpcJobs.Grains;
using HpcJobs.Grains.Storage;

namespace HpcJobs.Silo.Demo;

/// <summary>
/// <c>DEMO_COLLECTOR=1</c>: keeps the demo moving. Every few seconds each running job whose
/// scheduler type is <c>mock</c> reports a fresh sample through its grain (the write path the API
/// uses); now and then one ends and a new one starts, so dashboards show change.
/// </summary>
public sealed partial class DemoCollector(
    IGrainFactory grains, IJobIndex index, TimeProvider time, ILogger<DemoCollector> logger) : BackgroundService
{
    private static readonly WriteContext Source = new("demo-collector", "demo", null, null);

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
        var page = await index.ListAsync(new JobQuery(JobState.Running, null, null, 1000, 0), cancellationToken);
        var mock = page.Jobs.Where(IsMock).ToList();
        var now = time.GetUtcNow();
        foreach (var job in mock)
        {
            var grain = grains.GetJob(job.Id);
            var roll = _random.NextDouble();
            if (roll < 0.004)
            {
                await grain.UpdateAsync(new UpdateJob(roll < 0.001 ? JobState.Failed : JobState.Completed, null, null, null), Source);
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
        var scheduler = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["type"] = "mock",
            ["partition"] = gpu ? "gpu" : "cpu",
            ["account"] = "demo",
        });
        await grains.GetJob(id).CreateAsync(new CreateJob("demo", [node], JobState.Running, now, scheduler), Source);
    }

    private static bool IsMock(JobView job)
    {
        if (job.SchedulerJson is null)
        {
            return false;
        }

        using var scheduler = JsonDocument.Parse(job.SchedulerJson);
        return scheduler.RootElement.TryGetProperty("type", out var type) && type.ValueEquals("mock");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Demo collector tick failed; next tick retries")]
    private static partial void LogTickFailed(ILogger logger, Exception error);
}

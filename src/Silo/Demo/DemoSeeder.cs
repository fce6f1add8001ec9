using System.Text.Json;
using HpcJobs.Grains;

namespace HpcJobs.Silo.Demo;

/// <summary>
/// <c>--seed-demo</c>: a believable cluster through the job grains (the same path as the API):
/// a few hundred jobs over dozens of nodes and users, every state, CPU-only and GPU jobs, and
/// sample histories with realistic shapes. Ids are fixed, so a second run adds nothing.
/// </summary>
public sealed partial class DemoSeeder(IGrainFactory grains, TimeProvider time, ILogger<DemoSeeder> logger)
{
    private static readonly WriteContext Source = new("demo-seed", "demo", null, null);

    public const int JobCount = 300;
    private static readonly TimeSpan SampleEvery = TimeSpan.FromMinutes(5);

    private static readonly string[] Users =
    [
        "alice", "bob", "chen", "dmitri", "elena", "farah", "gustav", "hana", "ivan", "jamal", "kenji", "lucia",
        "mateo", "nadia", "omar", "priya", "quentin", "rosa", "sven", "tariq", "uma", "viktor", "wei", "yusuf",
    ];

    private static readonly string[] Accounts = ["physics", "chemistry", "biology", "ml-lab", "climate"];

    public async Task<(int Created, int Existing, int Samples)> SeedAsync(CancellationToken cancellationToken)
    {
        var random = new Random(20261129);
        var now = time.GetUtcNow();
        int created = 0, existing = 0, samples = 0;
        for (var i = 0; i < JobCount && !cancellationToken.IsCancellationRequested; i++)
        {
            var plan = Plan(i, random, now);
            var grain = grains.GetJob(plan.Id);
            var outcome = await grain.CreateAsync(new CreateJob(plan.User, plan.Nodes, plan.InitialState, plan.Start, plan.Scheduler), Source);
            if (outcome.Kind == OutcomeKind.Conflict)
            {
                existing++;
                continue;
            }

            created++;
            if (plan.InitialState == JobState.Running)
            {
                var profile = DemoProfile.For(plan.Id, plan.Nodes[0].StartsWith("gpu-", StringComparison.Ordinal));
                var history = new List<UsageSample>();
                for (var at = plan.Start; at <= now; at += SampleEvery)
                {
                    history.Add(profile.At(plan.Start, at, random));
                }

                if (history.Count > 0)
                {
                    await grain.RecordSamplesAsync(history, Source);
                    samples += history.Count;
                }
            }

            if (plan.FinalState != plan.InitialState)
            {
                await grain.UpdateAsync(new UpdateJob(plan.FinalState, null, null, null), Source);
            }
        }

        LogSeeded(logger, created, existing, samples);
        return (created, existing, samples);
    }

    private static JobPlan Plan(int i, Random random, DateTimeOffset now)
    {
        var gpu = i % 4 == 0;
        var id = i % 10 == 3 ? $"{4_200_000 + i}_{i % 7}" : (4_200_000 + i).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var nodeCount = 1 + (i % 3 == 0 ? random.Next(1, 4) : 0);
        var first = random.Next(gpu ? 12 : 48);
        var nodes = Enumerable.Range(0, nodeCount)
            .Select(k => gpu ? $"gpu-{(first + k) % 12 + 1:D2}" : $"cn-{(first + k) % 48 + 1:D3}")
            .ToList();
        var final = (i % 20) switch
        {
            < 7 => JobState.Running,
            < 9 => JobState.Pending,
            < 15 => JobState.Completed,
            < 18 => JobState.Failed,
            _ => JobState.Cancelled,
        };
        var cancelledWhilePending = final == JobState.Cancelled && i % 2 == 0;
        var initial = final == JobState.Pending || cancelledWhilePending ? JobState.Pending : JobState.Running;
        var start = initial == JobState.Pending ? now : now - TimeSpan.FromMinutes(random.Next(15, 20 * 60));
        var scheduler = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["type"] = "mock",
            ["external_job_id"] = id,
            ["partition"] = gpu ? "gpu" : i % 9 == 0 ? "debug" : "cpu",
            ["account"] = Accounts[i % Accounts.Length],
            ["qos"] = i % 6 == 0 ? "high" : "normal",
            ["priority"] = 1000 + random.Next(9000),
            ["raw_state"] = final.ToWire().ToUpperInvariant(),
        });
        return new JobPlan(id, Users[i % Users.Length], nodes, initial, final, start, scheduler);
    }

    private sealed record JobPlan(
        string Id, string User, IReadOnlyList<string> Nodes, JobState InitialState, JobState FinalState, DateTimeOffset Start, string Scheduler);

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo data: created {Created} jobs with {Samples} samples; {Existing} demo jobs were already present and left unchanged")]
    private static partial void LogSeeded(ILogger logger, int created, int existing, int samples);
}

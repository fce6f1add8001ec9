using HpcJobs.Grains;

namespace HpcJobs.Silo.Demo;

/// <summary>
/// <c>--seed-demo</c>: a believable cluster, told to the job grains the way Slurm's prolog and
/// epilog tell the API (job-started with the allocation, samples, job-finished with exit code,
/// signal and state word): a few hundred jobs over dozens of nodes, users, accounts and partitions,
/// every state, CPU-only and GPU jobs, a requeued job and an OOM-killed one, and sample histories
/// with realistic shapes. Ids are fixed, so a second run adds nothing.
/// </summary>
public sealed partial class DemoSeeder(IGrainFactory grains, TimeProvider time, ILogger<DemoSeeder> logger)
{
    /// <summary>The cluster name of every demo job: what the demo collector keeps moving.</summary>
    public const string Cluster = "demo";

    public const int JobCount = 300;

    /// <summary>The plans that show the requeue and the OOM kill (any running, non-pending slot works).</summary>
    internal const int RequeuedJob = 1;
    internal const int OomKilledJob = 10;

    /// <summary>A running job whose agent went quiet 20 minutes ago (no_data).</summary>
    internal const int SilentJob = 5;

    /// <summary>A job whose epilog never came, ended by the reconciler (lost).</summary>
    internal const int LostJob = 6;

    /// <summary>A job that asked for just a little more memory than it peaked at (near_memory_limit).</summary>
    internal const int TightMemoryJob = 21;

    private static readonly WriteContext Reconciler = new("reconciler", "reconciler", null, null);

    private static readonly WriteContext Prolog = new("demo-seed", "prolog", null, null);
    private static readonly WriteContext Epilog = new("demo-seed", "epilog", null, null);
    private static readonly WriteContext Api = new("demo-seed", "demo", null, null);
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
            if ((await grain.GetAsync()).Kind == OutcomeKind.Ok)
            {
                existing++;
                continue;
            }

            created++;
            if (plan.Pending)
            {
                // Pending jobs have not reached a prolog: they come from the scheduler's queue.
                var scheduler = SchedulerJson.With(
                    null, ("partition", plan.Partition), ("account", plan.Account), ("qos", plan.Qos), ("time_limit_minutes", plan.TimeLimitMinutes));
                await grain.CreateAsync(new CreateJob(plan.User, plan.Nodes, JobState.Pending, plan.Start, scheduler, plan.Allocation, Cluster), Api);
                if (plan.Final == JobState.Cancelled)
                {
                    await grain.UpdateAsync(new UpdateJob(JobState.Cancelled, null, null, null), Api);
                }

                continue;
            }

            if (i == RequeuedJob)
            {
                // The first attempt died with its node; Slurm requeued it and it runs again on another.
                await grain.StartedAsync(plan.Started(plan.Start.AddHours(-2), restarts: 0), Prolog);
                await grain.FinishedAsync(new JobFinished(plan.Start.AddMinutes(-30), null, 1, null, "NODE_FAIL", 0), Epilog);
            }

            var history = History(plan, i, now, random);
            if (i == TightMemoryJob && history.Count > 0)
            {
                plan = plan with { Allocation = plan.Allocation with { MemoryMb = (long)(history.Max(h => h.MemoryUsageMb) / 0.97) } };
            }

            await grain.StartedAsync(plan.Started(plan.Start, restarts: i == RequeuedJob ? 1 : 0), Prolog);
            if (history.Count > 0)
            {
                await grain.RecordSamplesAsync(history, Api);
                samples += history.Count;
            }

            if (i == LostJob)
            {
                await grain.FinishedAsync(new JobFinished(now.AddMinutes(-1), JobState.Failed, null, null, Grains.Flagging.LostRawState, null), Reconciler);
            }
            else if (plan.Final != JobState.Running)
            {
                await grain.FinishedAsync(plan.Finished(plan.End(now), i == OomKilledJob), Epilog);
            }
        }

        LogSeeded(logger, created, existing, samples);
        return (created, existing, samples);
    }

    private static List<UsageSample> History(JobPlan plan, int i, DateTimeOffset now, Random random)
    {
        var profile = DemoProfile.For(plan.Id, plan.Gpu);
        var until = i == SilentJob ? now.AddMinutes(-20) : plan.End(now);
        var history = new List<UsageSample>();
        for (var at = plan.Start; at <= until; at += SampleEvery)
        {
            history.Add(profile.At(plan.Start, at, random));
        }

        if (i == OomKilledJob && history.Count > 0)
        {
            // The last reading before the kill: at the limit, one OOM kill counted by the cgroup.
            history[^1] = history[^1] with { MemoryUsageMb = plan.Allocation.MemoryMb!.Value, MemoryPeakMb = plan.Allocation.MemoryMb, OomKills = 1 };
        }

        return history;
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
        var final = i == OomKilledJob ? JobState.Failed : (i % 20) switch
        {
            < 7 => JobState.Running,
            < 9 => JobState.Pending,
            < 15 => JobState.Completed,
            < 18 => JobState.Failed,
            _ => JobState.Cancelled,
        };
        var cancelledWhilePending = final == JobState.Cancelled && i % 2 == 0;
        var pending = final == JobState.Pending || cancelledWhilePending;
        var start = pending ? now : now - TimeSpan.FromMinutes(i == SilentJob ? 90 : random.Next(15, 20 * 60));
        var cpusPerNode = gpu ? 32 : 64;
        var allocation = new JobAllocation(
            cpusPerNode * nodeCount,
            (gpu ? 256_000L : 128_000L) * nodeCount,
            gpu ? 4 * nodeCount : null,
            gpu ? "nvidia" : "none",
            null,
            null);
        var partition = gpu ? "gpu" : i % 9 == 0 ? "debug" : "cpu";
        return new JobPlan(
            id, Users[i % Users.Length], nodes, gpu, pending, final, start, allocation, partition,
            Accounts[i % Accounts.Length], i % 6 == 0 ? "high" : "normal", partition == "debug" ? 30 : 24 * 60);
    }

    private sealed record JobPlan(
        string Id, string User, IReadOnlyList<string> Nodes, bool Gpu, bool Pending, JobState Final, DateTimeOffset Start,
        JobAllocation Allocation, string Partition, string Account, string Qos, long TimeLimitMinutes)
    {
        public JobStarted Started(DateTimeOffset at, int restarts) =>
            new(User, Nodes, at, Allocation, Cluster, Partition, Account, Qos, TimeLimitMinutes, restarts);

        /// <summary>When the job ended (a few minutes ago), or now while it runs.</summary>
        public DateTimeOffset End(DateTimeOffset now) =>
            Final == JobState.Running ? now : now - TimeSpan.FromMinutes(Math.Min(10, (now - Start).TotalMinutes / 2));

        /// <summary>What an epilog reports for the planned end: Slurm's exit code, signal and state word.</summary>
        public JobFinished Finished(DateTimeOffset end, bool oomKilled) => Final switch
        {
            _ when oomKilled => new JobFinished(end, null, 125, null, "OUT_OF_MEMORY", null),
            JobState.Completed => new JobFinished(end, null, 0, null, "COMPLETED", null),
            JobState.Cancelled => new JobFinished(end, null, 0, 15, "CANCELLED", null),
            _ => new JobFinished(end, null, Id.Length % 2 == 0 ? 1 : 0, null, Id.Length % 2 == 0 ? "FAILED" : "TIMEOUT", null),
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo data: created {Created} jobs with {Samples} samples; {Existing} demo jobs were already present and left unchanged")]
    private static partial void LogSeeded(ILogger logger, int created, int existing, int samples);
}

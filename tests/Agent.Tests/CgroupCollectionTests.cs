using HpcJobs.Agent.Cgroups;
using HpcJobs.Agent.Collection;

namespace HpcJobs.Agent.Tests;

/// <summary>Discovery and every computed figure on fake v2 and v1 trees, checked exactly.</summary>
public sealed class CgroupCollectionTests : IDisposable
{
    private const ulong MiB = 1024 * 1024;
    private const string Cpus = "0-3,8,10-11"; // 7 CPUs
    private readonly ManualTime _time = new(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero));
    private CgroupTree? _tree;

    public void Dispose() => _tree?.Dispose();

    [Fact]
    public async Task V2_FirstReadPrimes_SecondGivesExactUsage()
    {
        var tree = _tree = new CgroupTree(v2: true);
        tree.V2Job("1001", usageUsec: 100_000_000, Cpus, current: 3072 * MiB, inactiveFile: 512 * MiB, peak: 4096 * MiB, oomKills: 2);
        tree.V2Job("1002", usageUsec: 0, "0", current: 100 * MiB + 5, inactiveFile: 0);
        var collector = Collector(tree);

        var first = await collector.CollectAsync(default);
        Assert.Equal(["1001", "1002"], first.Jobs);
        Assert.Empty(first.Samples);

        _time.Advance(TimeSpan.FromSeconds(10));
        tree.SetV2Cpu("1001", 100_000_000 + 35_000_000); // 35 CPU-seconds in 10 s on 7 CPUs: 50 %
        tree.SetV2Cpu("1002", 2_500_000); // 2.5 s in 10 s on 1 CPU: 25 %
        var second = await collector.CollectAsync(default);

        Assert.Equal(
            [
                new AgentSample("1001", "node-a", "2026-12-01T10:00:10.000000Z", 50, 2560, null, null, 4096, 2),
                new AgentSample("1002", "node-a", "2026-12-01T10:00:10.000000Z", 25, 100, null, null, null, 0),
            ],
            second.Samples);
    }

    [Fact]
    public async Task V2_UsageAboveTheCpusAllocated_IsClampedTo100()
    {
        var tree = _tree = new CgroupTree(v2: true);
        tree.V2Job("7", 0, "0-1", current: MiB, inactiveFile: 0);
        var collector = Collector(tree);
        await collector.CollectAsync(default);
        _time.Advance(TimeSpan.FromSeconds(1));
        tree.SetV2Cpu("7", 3_000_000);
        Assert.Equal(100, (await collector.CollectAsync(default)).Samples.Single().CpuUsage);
    }

    [Fact]
    public async Task V2_JobsAppearAndDisappearBetweenReads()
    {
        var tree = _tree = new CgroupTree(v2: true);
        tree.V2Job("1", 0, Cpus, MiB * 10, 0);
        tree.V2Job("2", 0, Cpus, MiB * 20, 0);
        var collector = Collector(tree);
        await collector.CollectAsync(default);

        _time.Advance(TimeSpan.FromSeconds(10));
        tree.V2Job("3", 1_000_000, Cpus, MiB * 30, 0);
        var second = await collector.CollectAsync(default);
        Assert.Equal(["1", "2", "3"], second.Jobs);
        Assert.Equal(["1", "2"], second.Samples.Select(s => s.JobId));

        _time.Advance(TimeSpan.FromSeconds(10));
        tree.Remove("system.slice/slurmstepd.scope/job_2");
        tree.SetV2Cpu("3", 1_000_000 + 7_000_000); // 7 s in 10 s on 7 CPUs: 10 %
        var third = await collector.CollectAsync(default);
        Assert.Equal(["1", "3"], third.Jobs);
        Assert.Equal([("1", 0.0), ("3", 10.0)], third.Samples.Select(s => (s.JobId, s.CpuUsage)));

        // Back under the same id: a new cgroup, so it primes again rather than using the old counter.
        _time.Advance(TimeSpan.FromSeconds(10));
        tree.V2Job("2", 0, Cpus, MiB * 20, 0);
        var fourth = await collector.CollectAsync(default);
        Assert.Equal(["1", "3"], fourth.Samples.Select(s => s.JobId));
    }

    [Fact]
    public async Task V2_CounterThatGoesBackwards_PrimesAgain_ThenCountsFromTheNewValue()
    {
        var tree = _tree = new CgroupTree(v2: true);
        tree.V2Job("9", 100_000_000, Cpus, MiB, 0);
        var collector = Collector(tree);
        await collector.CollectAsync(default);

        _time.Advance(TimeSpan.FromSeconds(10));
        tree.SetV2Cpu("9", 5_000_000);
        Assert.Empty((await collector.CollectAsync(default)).Samples);

        _time.Advance(TimeSpan.FromSeconds(10));
        tree.SetV2Cpu("9", 5_000_000 + 17_500_000); // 17.5 s in 10 s on 7 CPUs: 25 %
        Assert.Equal(25, (await collector.CollectAsync(default)).Samples.Single().CpuUsage);
    }

    [Fact]
    public async Task V2_MultipleSlurmdScope_OnlyThisNodesIsRead_AndNonNumericIdsAreIgnored()
    {
        var tree = _tree = new CgroupTree(v2: true);
        tree.V2Job("11", 0, Cpus, MiB, 0);
        tree.V2Job("12", 0, Cpus, MiB, 0, scope: "node-a_slurmstepd.scope");
        tree.V2Job("13", 0, Cpus, MiB, 0, scope: "node-b_slurmstepd.scope");
        Directory.CreateDirectory(Path.Combine(tree.Root, "system.slice", "slurmstepd.scope", "job_abc"));
        Directory.CreateDirectory(Path.Combine(tree.Root, "system.slice", "slurmstepd.scope", "job_12_3"));

        Assert.Equal(["11", "12"], SlurmCgroups.Discover(tree.Root, "node-a").Select(j => j.JobId));
    }

    [Fact]
    public void V2_TheHostsOnlyNodeScope_IsReadEvenWhenSpeltOtherwise_ButNeverOneOfSeveral()
    {
        var tree = _tree = new CgroupTree(v2: true);
        tree.V2Job("21", 0, Cpus, MiB, 0, scope: "node-a.cluster.example_slurmstepd.scope");
        Assert.Equal(["21"], SlurmCgroups.Discover(tree.Root, "node-a").Select(j => j.JobId));

        tree.V2Job("22", 0, Cpus, MiB, 0, scope: "node-b_slurmstepd.scope");
        Assert.Empty(SlurmCgroups.Discover(tree.Root, "node-a"));
        Assert.Equal(["22"], SlurmCgroups.Discover(tree.Root, "node-b").Select(j => j.JobId));
    }

    [Fact]
    public async Task V2_WithoutCpusetFiles_TheNodesCpusAreUsed_AndWithoutMemoryPeakTheFieldIsAbsent()
    {
        var tree = _tree = new CgroupTree(v2: true); // the root's cpuset.cpus.effective is 0-15
        var dir = tree.V2Job("5", 0, Cpus, 64 * MiB, 0);
        File.Delete(Path.Combine(dir, "cpuset.cpus.effective"));
        File.Delete(Path.Combine(dir, "cpuset.cpus"));
        var collector = Collector(tree);
        await collector.CollectAsync(default);
        _time.Advance(TimeSpan.FromSeconds(10));
        tree.SetV2Cpu("5", 40_000_000); // 40 s in 10 s on 16 CPUs: 25 %
        var sample = (await collector.CollectAsync(default)).Samples.Single();
        Assert.Equal((25.0, 64L, (long?)null, (long?)0), (sample.CpuUsage, sample.MemoryUsageMb, sample.MemoryPeakMb, sample.OomKills));
    }

    [Fact]
    public async Task V1_ReadsEachControllerHierarchy_WithExactValues()
    {
        var tree = _tree = new CgroupTree(v2: false);
        tree.V1Job("2001", usageNs: 1_000_000_000, Cpus, usage: 2048 * MiB, totalInactiveFile: 1024 * MiB, maxUsage: 3000 * MiB,
            jobOomKills: 1, stepOomKills: 2);
        tree.V1Job("2002", usageNs: 0, "8", usage: 10 * MiB, totalInactiveFile: 20 * MiB, maxUsage: 10 * MiB, uid: "1001");
        tree.V1Job("2003", usageNs: 0, Cpus, usage: MiB, totalInactiveFile: 0, maxUsage: MiB, withCpuacct: false);
        var collector = Collector(tree);
        await collector.CollectAsync(default);

        _time.Advance(TimeSpan.FromSeconds(20));
        tree.SetV1Cpu("2001", 1_000_000_000 + 105_000_000_000); // 105 s in 20 s on 7 CPUs: 75 %
        tree.SetV1Cpu("2002", 5_000_000_000, uid: "1001"); // 5 s in 20 s on 1 CPU: 25 %
        var second = await collector.CollectAsync(default);

        Assert.Equal(["2001", "2002", "2003"], second.Jobs);
        Assert.Equal(
            [
                new AgentSample("2001", "node-a", "2026-12-01T10:00:20.000000Z", 75, 1024, null, null, 3000, 3),

                // More inactive file cache than usage (the counters are read at different moments): 0, never negative.
                new AgentSample("2002", "node-a", "2026-12-01T10:00:20.000000Z", 25, 0, null, null, 10, 0),
            ],
            second.Samples);
    }

    [Fact]
    public async Task V1_CpuacctCounterReset_PrimesAgain()
    {
        var tree = _tree = new CgroupTree(v2: false);
        tree.V1Job("3001", 50_000_000_000, "0-1", MiB, 0, MiB);
        var collector = Collector(tree);
        await collector.CollectAsync(default);
        _time.Advance(TimeSpan.FromSeconds(10));
        tree.SetV1Cpu("3001", 1_000_000_000);
        Assert.Empty((await collector.CollectAsync(default)).Samples);
        _time.Advance(TimeSpan.FromSeconds(10));
        tree.SetV1Cpu("3001", 1_000_000_000 + 10_000_000_000); // 10 s in 10 s on 2 CPUs: 50 %
        Assert.Equal(50, (await collector.CollectAsync(default)).Samples.Single().CpuUsage);
    }

    [Fact]
    public void Version_IsV2_OnlyWithCgroupControllersAtTheRoot()
    {
        using var v2 = new CgroupTree(v2: true);
        using var v1 = new CgroupTree(v2: false);
        Assert.Equal(CgroupVersion.V2, SlurmCgroups.Version(v2.Root));
        Assert.Equal(CgroupVersion.V1, SlurmCgroups.Version(v1.Root));
    }

    private Collector Collector(CgroupTree tree) => new(tree.Root, tree.ProcRoot, "node-a", [], _time);
}

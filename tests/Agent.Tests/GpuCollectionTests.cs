using HpcJobs.Agent.Collection;
using HpcJobs.Agent.Gpus;

namespace HpcJobs.Agent.Tests;

/// <summary>GPU figures through fake vendor executables: attribution by cgroup.procs, [N/A], no GPUs, idle GPUs, a missing tool.</summary>
public sealed class GpuCollectionTests : IDisposable
{
    private const ulong MiB = 1024 * 1024;
    private readonly ManualTime _time = new(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero));
    private readonly CgroupTree _tree = new(v2: true);
    private readonly FakeGpuTools _tools = new();
    private readonly ListLogger _log = new();

    public void Dispose()
    {
        _tree.Dispose();
        _tools.Dispose();
    }

    [Fact]
    public async Task Nvidia_GpuBelongsToTheJobWhoseCgroupListsItsProcess()
    {
        _tree.V2Job("1", 0, "0-3", MiB, 0, pids: [5001, 5002]);
        _tree.V2Job("2", 0, "0-3", MiB, 0, pids: [6001]);
        _tree.V2Job("3", 0, "0-3", MiB, 0, pids: [7001]);
        _tools.Nvidia(
            "0, GPU-a, 40, 1000\n1, GPU-b, 60, 3000\n2, GPU-c, [N/A], 512\n3, GPU-idle, 0, 0\n",
            "5001, GPU-a, 900\n5002, GPU-b, 2900\n6001, GPU-c, [N/A]\n9999, GPU-a, 100\n");

        var samples = await TwoReadsAsync(GpuTool.Nvidia(_tools.NvidiaSmi, TimeSpan.FromSeconds(10), _log));

        Assert.Equal((50.0, 4000L), (samples["1"].GpuUsage, samples["1"].GpuMemoryMb)!);
        Assert.Equal((null, 512L), (samples["2"].GpuUsage, samples["2"].GpuMemoryMb));
        Assert.Equal((null, null), (samples["3"].GpuUsage, samples["3"].GpuMemoryMb));
    }

    [Fact]
    public async Task Nvidia_SharedGpu_EachJobGetsItsOwnProcessesMemory_AndTheGpusUtilisation()
    {
        _tree.V2Job("1", 0, "0-3", MiB, 0, pids: [5001]);
        _tree.V2Job("2", 0, "0-3", MiB, 0, pids: [6001]);
        _tools.Nvidia("0, GPU-s, 80, 10000\n", "5001, GPU-s, 3000\n6001, GPU-s, 5000\n");

        var samples = await TwoReadsAsync(GpuTool.Nvidia(_tools.NvidiaSmi, TimeSpan.FromSeconds(10), _log));

        Assert.Equal((80.0, 3000L), (samples["1"].GpuUsage, samples["1"].GpuMemoryMb)!);
        Assert.Equal((80.0, 5000L), (samples["2"].GpuUsage, samples["2"].GpuMemoryMb)!);
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("0, GPU-a, 75, 2000\n", "")]
    [InlineData("0, GPU-a, 75, 2000\n", "No running processes found\n")]
    public async Task Nvidia_NoGpusOrGpusWithoutProcesses_GiveNoGpuFields(string gpus, string apps)
    {
        _tree.V2Job("1", 0, "0-3", MiB, 0, pids: [5001]);
        _tools.Nvidia(gpus, apps);

        var sample = (await TwoReadsAsync(GpuTool.Nvidia(_tools.NvidiaSmi, TimeSpan.FromSeconds(10), _log)))["1"];

        Assert.Equal((null, null), (sample.GpuUsage, sample.GpuMemoryMb));
        Assert.Empty(_log.Lines);
    }

    [Fact]
    public async Task Rocm_JsonAndPidGpus_GiveMeanUseAndSummedVram()
    {
        _tree.V2Job("1", 0, "0-3", MiB, 0, pids: [5001]);
        _tree.V2Job("2", 0, "0-3", MiB, 0, pids: [6001]);
        _tools.Rocm(
            """
            {"card0": {"GPU use (%)": "37", "VRAM Total Memory (B)": "68702699520", "VRAM Total Used Memory (B)": "2147483648"},
             "card1": {"GPU use (%)": "63", "VRAM Total Memory (B)": "68702699520", "VRAM Total Used Memory (B)": "1073741824"},
             "card2": {"GPU use (%)": "99", "VRAM Total Memory (B)": "68702699520", "VRAM Total Used Memory (B)": "1073741824"}}
            """,
            "========== GPUs Indexed by PID ==========\nPID 5001 is using 2 DRM device(s):\n0 1 \nPID 6001 is using 0 DRM device(s)\n=========================================\n");

        var samples = await TwoReadsAsync(GpuTool.Rocm(_tools.RocmSmi, TimeSpan.FromSeconds(10), _log));

        Assert.Equal((50.0, 3072L), (samples["1"].GpuUsage, samples["1"].GpuMemoryMb)!);
        Assert.Equal((null, null), (samples["2"].GpuUsage, samples["2"].GpuMemoryMb));
    }

    [Fact]
    public async Task MissingTool_GivesNoGpuFields_AndOneLogLineInTotal()
    {
        _tree.V2Job("1", 0, "0-3", MiB, 0, pids: [5001]);
        var tool = GpuTool.Nvidia(Path.Combine(_tools.Directory, "not-installed-smi"), TimeSpan.FromSeconds(10), _log);
        var collector = new Collector(_tree.Root, _tree.ProcRoot, "node-a", [tool], _time);
        for (var i = 0; i < 4; i++)
        {
            var collection = await collector.CollectAsync(default);
            Assert.All(collection.Samples, s => Assert.Null(s.GpuUsage ?? s.GpuMemoryMb));
            _time.Advance(TimeSpan.FromSeconds(10));
        }

        Assert.True(tool.Missing);
        Assert.Equal(3, (await collector.CollectAsync(default)).Samples.Count + 2);
        Assert.Single(_log.Lines);
        Assert.Contains("not found", _log.Lines[0]);
    }

    [Fact]
    public async Task FailingTool_IsSaidOnceUntilItRecovers()
    {
        _tree.V2Job("1", 0, "0-3", MiB, 0, pids: [5001]);
        var broken = Path.Combine(_tools.Directory, "broken-smi");
        File.WriteAllText(broken, "#!/bin/bash\necho 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'\nexit 9\n");
        File.SetUnixFileMode(broken, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var collector = new Collector(_tree.Root, _tree.ProcRoot, "node-a", [GpuTool.Nvidia(broken, TimeSpan.FromSeconds(10), _log)], _time);
        for (var i = 0; i < 4; i++)
        {
            await collector.CollectAsync(default);
            _time.Advance(TimeSpan.FromSeconds(10));
        }

        Assert.Single(_log.Lines);
        Assert.Contains("exit code 9", _log.Lines[0]);
    }

    [Fact]
    public async Task ProcessCgroupFile_SaysWhereToLook_AndThatCgroupsProcsConfirmsIt()
    {
        // The pid is (impossibly) listed by both jobs: a walk in job order would pick job 1, the hint picks job 2.
        _tree.V2Job("1", 0, "0-3", MiB, 0, pids: [5001]);
        _tree.V2Job("2", 0, "0-3", MiB, 0, pids: [5001]);
        _tree.ProcCgroup(5001, "0::/system.slice/slurmstepd.scope/job_2/step_0/user/task_0\n");
        _tools.Nvidia("0, GPU-a, 40, 1000\n", "5001, GPU-a, 900\n");

        var samples = await TwoReadsAsync(GpuTool.Nvidia(_tools.NvidiaSmi, TimeSpan.FromSeconds(10), _log));

        Assert.Equal((null, null), (samples["1"].GpuUsage, samples["1"].GpuMemoryMb));
        Assert.Equal((40.0, 1000L), (samples["2"].GpuUsage, samples["2"].GpuMemoryMb)!);
    }

    [Fact]
    public async Task ProcessOutsideEveryJob_OwnsNoGpu_AndAStaleHintFallsBackToCgroupProcs()
    {
        _tree.V2Job("1", 0, "0-3", MiB, 0, pids: [5001]);
        _tree.V2Job("2", 0, "0-3", MiB, 0, pids: [6001]);
        _tree.ProcCgroup(9001, "0::/system.slice/nvidia-persistenced.service\n");
        _tree.ProcCgroup(5001, "0::/system.slice/slurmstepd.scope/job_2/step_0/user/task_0\n"); // stale: job 2 does not list it
        _tools.Nvidia("0, GPU-a, 40, 1000\n1, GPU-b, 70, 2000\n", "9001, GPU-b, 100\n5001, GPU-a, 900\n");

        var samples = await TwoReadsAsync(GpuTool.Nvidia(_tools.NvidiaSmi, TimeSpan.FromSeconds(10), _log));

        Assert.Equal((40.0, 1000L), (samples["1"].GpuUsage, samples["1"].GpuMemoryMb)!);
        Assert.Equal((null, null), (samples["2"].GpuUsage, samples["2"].GpuMemoryMb));
    }

    [Fact]
    public async Task V1_ProcessCgroupFile_NamesTheMemoryHierarchysStep()
    {
        using var tree = new CgroupTree(v2: false);
        tree.V1Job("3001", 0, "0-3", MiB, 0, MiB, pids: [7001]);
        tree.V1Job("3002", 0, "0-3", MiB, 0, MiB, pids: [7002]);
        tree.ProcCgroup(7002, "11:cpuset:/slurm/uid_1000/job_3002/step_0\n4:memory:/slurm/uid_1000/job_3002/step_0\n2:cpu,cpuacct:/slurm/uid_1000/job_3002/step_0\n");
        _tools.Nvidia("0, GPU-v1, 55, 4096\n", "7001, GPU-v1, 2000\n7002, GPU-v1, 2096\n");
        var collector = new Collector(tree.Root, tree.ProcRoot, "node-a", [GpuTool.Nvidia(_tools.NvidiaSmi, TimeSpan.FromSeconds(10), _log)], _time);
        await collector.CollectAsync(default);
        _time.Advance(TimeSpan.FromSeconds(10));

        var samples = (await collector.CollectAsync(default)).Samples.ToDictionary(s => s.JobId);

        // 7001 has no /proc entry (hidepid): found by reading cgroup.procs. The GPU is shared: each job its own processes' memory.
        Assert.Equal((55.0, 2000L), (samples["3001"].GpuUsage, samples["3001"].GpuMemoryMb)!);
        Assert.Equal((55.0, 2096L), (samples["3002"].GpuUsage, samples["3002"].GpuMemoryMb)!);
    }

    private async Task<Dictionary<string, AgentSample>> TwoReadsAsync(GpuTool tool)
    {
        var collector = new Collector(_tree.Root, _tree.ProcRoot, "node-a", [tool], _time);
        await collector.CollectAsync(default);
        _time.Advance(TimeSpan.FromSeconds(10));
        return (await collector.CollectAsync(default)).Samples.ToDictionary(s => s.JobId);
    }
}

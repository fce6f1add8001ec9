using HpcJobs.Agent.Cgroups;

namespace HpcJobs.Agent.Tests;

/// <summary>The real kernel's files, not a fake: this test process's own cgroup, whatever version is mounted.</summary>
public sealed class OwnCgroupTests
{
    [SkippableFact]
    public void OwnCgroup_HasMemoryAboveZero_ReadFromTheRealKernelFiles()
    {
        Skip.IfNot(File.Exists("/proc/self/cgroup") && Directory.Exists("/sys/fs/cgroup"), "no cgroup file system on this machine");
        var job = ProcessCgroup.Find("/sys/fs/cgroup", File.ReadAllText("/proc/self/cgroup"), "self");
        Assert.NotNull(job);
        Assert.NotNull(job.MemoryDir);

        // A container whose cgroup namespace puts this process at the root of a v2 hierarchy has no
        // memory.current there (the kernel keeps none for the root): nothing real to read.
        Skip.IfNot(
            File.Exists(Path.Combine(job.MemoryDir, "memory.current")) || File.Exists(Path.Combine(job.MemoryDir, "memory.usage_in_bytes")),
            $"{job.MemoryDir} has no memory accounting file (root of a cgroup namespace)");

        var counters = new CgroupReader("/sys/fs/cgroup").Read(job);

        Assert.NotNull(counters.MemoryBytes);
        Assert.True(counters.MemoryBytes > 0, $"memory of {job.MemoryDir} is {counters.MemoryBytes}");
        Assert.True(counters.Cpus >= 1);
    }
}

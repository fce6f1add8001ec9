namespace HpcJobs.Agent.Cgroups;

/// <summary>One read of a job's cgroup files; a null field is a file the kernel does not provide.</summary>
public sealed record CgroupCounters(
    ulong? CpuNanoseconds,
    int Cpus,
    ulong? MemoryBytes,
    ulong? PeakBytes,
    ulong? OomKills);

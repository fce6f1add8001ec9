namespace HpcJobs.Agent.Cgroups;

public enum CgroupVersion
{
    V1,
    V2,
}

/// <summary>
/// Where one job's counters live. On cgroup v2 every directory is the same one; on v1 each
/// controller has its own hierarchy, and a directory is null when that controller has no job cgroup.
/// </summary>
public sealed record JobCgroup(string JobId, CgroupVersion Version, string? CpuDir, string? MemoryDir, string? CpusetDir)
{
    public static JobCgroup Unified(string jobId, string dir) => new(jobId, CgroupVersion.V2, dir, dir, dir);

    /// <summary>The directory whose subtree holds every process of the job (for GPU attribution).</summary>
    public string? ProcsDir => MemoryDir ?? CpuDir ?? CpusetDir;

    /// <summary>Identifies the cgroup, not only the job: a job id seen under another directory starts afresh.</summary>
    public string Key => string.Concat(CpuDir, "|", MemoryDir, "|", CpusetDir);
}

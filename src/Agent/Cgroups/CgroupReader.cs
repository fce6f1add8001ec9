namespace HpcJobs.Agent.Cgroups;

/// <summary>
/// Reads one job's counters from its cgroup directories. Every figure is hierarchical (it covers the
/// job's steps and tasks below it) except v1's <c>oom_kill</c>, which the kernel keeps in the cgroup
/// where the kill happened, so it is summed over the job's subtree.
/// </summary>
public sealed class CgroupReader(string root)
{
    private readonly KernelFileReader _files = new();

    public string Root { get; } = root;

    public CgroupCounters Read(JobCgroup job) => job.Version == CgroupVersion.V2 ? ReadV2(job) : ReadV1(job);

    private CgroupCounters ReadV2(JobCgroup job)
    {
        var dir = job.CpuDir!;
        var usec = _files.ReadKey(Path.Combine(dir, "cpu.stat"), "usage_usec");
        var current = _files.ReadValue(Path.Combine(dir, "memory.current"));
        var inactive = _files.ReadKey(Path.Combine(dir, "memory.stat"), "inactive_file");
        return new CgroupCounters(
            usec * 1000,
            Cpus(dir, "cpuset.cpus.effective", "cpuset.cpus") ?? NodeCpus(),
            WithoutInactive(current, inactive),
            _files.ReadValue(Path.Combine(dir, "memory.peak")),
            _files.ReadKey(Path.Combine(dir, "memory.events"), "oom_kill"));
    }

    private CgroupCounters ReadV1(JobCgroup job)
    {
        ulong? nanos = null, memory = null, peak = null, oomKills = null;
        if (job.CpuDir is { } cpu)
        {
            nanos = _files.ReadValue(Path.Combine(cpu, "cpuacct.usage"));
        }

        if (job.MemoryDir is { } mem)
        {
            var usage = _files.ReadValue(Path.Combine(mem, "memory.usage_in_bytes"));
            var inactive = _files.ReadKey(Path.Combine(mem, "memory.stat"), "total_inactive_file");
            memory = WithoutInactive(usage, inactive);
            peak = _files.ReadValue(Path.Combine(mem, "memory.max_usage_in_bytes"));
            oomKills = SubtreeOomKills(mem);
        }

        var cpus = job.CpusetDir is { } set ? Cpus(set, "cpuset.effective_cpus", "cpuset.cpus") : null;
        return new CgroupCounters(nanos, cpus ?? NodeCpus(), memory, peak, oomKills);
    }

    /// <summary>Process ids in the cgroup and every cgroup below it (Slurm puts them in step and task cgroups).</summary>
    public void AddProcesses(string dir, ISet<int> pids)
    {
        if (_files.TryRead(Path.Combine(dir, "cgroup.procs"), out var text))
        {
            ProcsFile.AddTo(text, pids);
        }

        foreach (var child in SafeSubdirectories(dir))
        {
            AddProcesses(child, pids);
        }
    }

    /// <summary>Process ids in this cgroup only.</summary>
    public void AddOwnProcesses(string dir, ISet<int> pids)
    {
        if (_files.TryRead(Path.Combine(dir, "cgroup.procs"), out var text))
        {
            ProcsFile.AddTo(text, pids);
        }
    }

    /// <summary>A small file's text (e.g. <c>/proc/PID/cgroup</c>), or null when it cannot be read.</summary>
    public string? ReadText(string path) => _files.TryRead(path, out var text) ? text.ToString() : null;

    private ulong? SubtreeOomKills(string dir)
    {
        var total = _files.ReadKey(Path.Combine(dir, "memory.oom_control"), "oom_kill");
        if (total is null)
        {
            return null;
        }

        foreach (var child in SafeSubdirectories(dir))
        {
            total += SubtreeOomKills(child) ?? 0;
        }

        return total;
    }

    private int? Cpus(string dir, string effective, string configured)
    {
        var count = _files.ReadCpuCount(Path.Combine(dir, effective));
        if (count is null or 0)
        {
            count = _files.ReadCpuCount(Path.Combine(dir, configured));
        }

        return count is > 0 ? count : null;
    }

    /// <summary>Without a cpuset the job may run on every CPU of the node.</summary>
    private int NodeCpus() =>
        _files.ReadCpuCount(Path.Combine(Root, "cpuset.cpus.effective")) is > 0 and var v2
            ? v2
            : _files.ReadCpuCount(Path.Combine(Root, "cpuset", "cpuset.effective_cpus")) is > 0 and var v1
                ? v1
                : Environment.ProcessorCount;

    /// <summary>Inactive file pages are page cache the kernel reclaims before it OOM-kills anything.</summary>
    private static ulong? WithoutInactive(ulong? usage, ulong? inactive) =>
        usage is { } used ? used - Math.Min(used, inactive ?? 0) : null;

    private static string[] SafeSubdirectories(string dir)
    {
        try
        {
            return Directory.GetDirectories(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}

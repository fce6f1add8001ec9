using System.Globalization;

namespace HpcJobs.Agent.Tests;

/// <summary>
/// Cgroup trees in temporary directories, in the kernel's own file formats (every line the kernel
/// writes, not only the ones the agent reads), so a parser that picks the wrong line fails.
/// </summary>
public sealed class CgroupTree : IDisposable
{
    public CgroupTree(bool v2)
    {
        Root = Directory.CreateTempSubdirectory("hpc-agent-cgroup-").FullName;
        if (v2)
        {
            Write("cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
            Write("cpuset.cpus.effective", "0-15\n");
        }
        else
        {
            foreach (var controller in new[] { "cpuacct", "memory", "cpuset" })
            {
                Directory.CreateDirectory(Path.Combine(Root, controller));
            }
        }
    }

    public string Root { get; }

    /// <summary>A fake <c>/proc</c>: empty unless the test writes <c>PID/cgroup</c> files into it.</summary>
    public string ProcRoot => Path.Combine(Root, "proc");

    public void ProcCgroup(int pid, string content) => Write(Path.Combine("proc", pid.ToString(CultureInfo.InvariantCulture), "cgroup"), content);

    public static string V2JobDir(string root, string job, string scope = "slurmstepd.scope") =>
        Path.Combine(root, "system.slice", scope, "job_" + job);

    /// <summary>A cgroup v2 job as Slurm lays it out: the job, its extern step and a task cgroup holding the pids.</summary>
    public string V2Job(string job, ulong usageUsec, string cpus, ulong current, ulong inactiveFile, ulong? peak = null,
        ulong oomKills = 0, string scope = "slurmstepd.scope", int[]? pids = null)
    {
        var dir = V2JobDir(Root, job, scope);
        Directory.CreateDirectory(Path.Combine(dir, "step_extern"));
        Directory.CreateDirectory(Path.Combine(dir, "step_0", "user", "task_0"));
        File.WriteAllText(Path.Combine(dir, "cgroup.procs"), string.Empty);
        File.WriteAllText(Path.Combine(dir, "step_extern", "cgroup.procs"), "4000\n");
        File.WriteAllText(Path.Combine(dir, "step_0", "user", "task_0", "cgroup.procs"), string.Join("", (pids ?? []).Select(p => p + "\n")));
        File.WriteAllText(Path.Combine(dir, "cpuset.cpus.effective"), cpus + "\n");
        File.WriteAllText(Path.Combine(dir, "cpuset.cpus"), cpus + "\n");
        SetV2Cpu(job, usageUsec, scope);
        File.WriteAllText(Path.Combine(dir, "memory.current"), current + "\n");
        File.WriteAllText(Path.Combine(dir, "memory.stat"), V2MemoryStat(inactiveFile));
        if (peak is { } p)
        {
            File.WriteAllText(Path.Combine(dir, "memory.peak"), p + "\n");
        }

        File.WriteAllText(Path.Combine(dir, "memory.events"), $"low 0\nhigh 0\nmax 7\noom 3\noom_kill {oomKills}\noom_group_kill 0\n");
        return dir;
    }

    public void SetV2Cpu(string job, ulong usageUsec, string scope = "slurmstepd.scope") =>
        File.WriteAllText(Path.Combine(V2JobDir(Root, job, scope), "cpu.stat"),
            $"usage_usec {usageUsec}\nuser_usec {usageUsec / 4 * 3}\nsystem_usec {usageUsec / 4}\nnr_periods 12\nnr_throttled 1\nthrottled_usec 999\nnr_bursts 0\nburst_usec 0\n");

    /// <summary>A cgroup v1 job: one directory per controller hierarchy, and a step below each.</summary>
    public void V1Job(string job, ulong usageNs, string? cpus, ulong usage, ulong totalInactiveFile, ulong maxUsage,
        ulong jobOomKills = 0, ulong stepOomKills = 0, string uid = "1000", bool withCpuacct = true, int[]? pids = null)
    {
        var tail = Path.Combine("slurm", "uid_" + uid, "job_" + job);
        if (withCpuacct)
        {
            var cpu = Path.Combine(Root, "cpuacct", tail);
            Directory.CreateDirectory(Path.Combine(cpu, "step_0"));
            SetV1Cpu(job, usageNs, uid);
            File.WriteAllText(Path.Combine(cpu, "cpuacct.stat"), "user 100\nsystem 20\n");
        }

        var memory = Path.Combine(Root, "memory", tail);
        Directory.CreateDirectory(Path.Combine(memory, "step_0"));
        File.WriteAllText(Path.Combine(memory, "cgroup.procs"), string.Empty);
        File.WriteAllText(Path.Combine(memory, "step_0", "cgroup.procs"), string.Join("", (pids ?? []).Select(p => p + "\n")));
        File.WriteAllText(Path.Combine(memory, "memory.usage_in_bytes"), usage + "\n");
        File.WriteAllText(Path.Combine(memory, "memory.max_usage_in_bytes"), maxUsage + "\n");
        File.WriteAllText(Path.Combine(memory, "memory.stat"), V1MemoryStat(totalInactiveFile));
        File.WriteAllText(Path.Combine(memory, "memory.oom_control"), $"oom_kill_disable 0\nunder_oom 0\noom_kill {jobOomKills}\n");
        File.WriteAllText(Path.Combine(memory, "step_0", "memory.oom_control"), $"oom_kill_disable 0\nunder_oom 0\noom_kill {stepOomKills}\n");
        if (cpus is not null)
        {
            var cpuset = Path.Combine(Root, "cpuset", tail);
            Directory.CreateDirectory(cpuset);
            File.WriteAllText(Path.Combine(cpuset, "cpuset.cpus"), cpus + "\n");
            File.WriteAllText(Path.Combine(cpuset, "cpuset.effective_cpus"), cpus + "\n");
            File.WriteAllText(Path.Combine(cpuset, "cpuset.mems"), "0\n");
        }
    }

    public void SetV1Cpu(string job, ulong usageNs, string uid = "1000") =>
        File.WriteAllText(Path.Combine(Root, "cpuacct", "slurm", "uid_" + uid, "job_" + job, "cpuacct.usage"), usageNs + "\n");

    public void Write(string relative, string content)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    public void Remove(string relative) => Directory.Delete(Path.Combine(Root, relative), recursive: true);

    public void Dispose() => Directory.Delete(Root, recursive: true);

    /// <summary>A 6.x kernel's memory.stat; every other key holds a value the agent must not pick up.</summary>
    public static string V2MemoryStat(ulong inactiveFile) => string.Join("", new (string Key, ulong Value)[]
    {
        ("anon", 11), ("file", 22), ("kernel", 33), ("kernel_stack", 44), ("pagetables", 55), ("sec_pagetables", 0), ("percpu", 66),
        ("sock", 0), ("vmalloc", 0), ("shmem", 77), ("zswap", 0), ("zswapped", 0), ("file_mapped", 88), ("file_dirty", 0),
        ("file_writeback", 0), ("swapcached", 0), ("anon_thp", 0), ("file_thp", 0), ("shmem_thp", 0), ("inactive_anon", 99),
        ("active_anon", 111), ("inactive_file", inactiveFile), ("active_file", 222), ("unevictable", 0), ("slab_reclaimable", 333),
        ("slab_unreclaimable", 444), ("slab", 777), ("workingset_refault_anon", 0), ("workingset_refault_file", 5),
        ("pgscan", 0), ("pgsteal", 0), ("pgfault", 123456), ("pgmajfault", 12), ("thp_fault_alloc", 0),
    }.Select(kv => kv.Key + " " + kv.Value.ToString(CultureInfo.InvariantCulture) + "\n"));

    /// <summary>A v1 memory.stat: the local <c>inactive_file</c> differs from the hierarchical <c>total_inactive_file</c>.</summary>
    public static string V1MemoryStat(ulong totalInactiveFile) => string.Join("", new (string Key, ulong Value)[]
    {
        ("cache", 1000), ("rss", 2000), ("rss_huge", 0), ("shmem", 0), ("mapped_file", 300), ("dirty", 0), ("writeback", 0),
        ("swap", 0), ("pgpgin", 10), ("pgpgout", 5), ("pgfault", 100), ("pgmajfault", 1), ("inactive_anon", 4096),
        ("active_anon", 8192), ("inactive_file", 12288), ("active_file", 16384), ("unevictable", 0),
        ("hierarchical_memory_limit", 9223372036854771712), ("hierarchical_memsw_limit", 9223372036854771712),
        ("total_cache", 5000), ("total_rss", 6000), ("total_rss_huge", 0), ("total_shmem", 0), ("total_mapped_file", 700),
        ("total_dirty", 0), ("total_writeback", 0), ("total_swap", 0), ("total_pgpgin", 20), ("total_pgpgout", 10),
        ("total_pgfault", 200), ("total_pgmajfault", 2), ("total_inactive_anon", 4096), ("total_active_anon", 8192),
        ("total_inactive_file", totalInactiveFile), ("total_active_file", 32768), ("total_unevictable", 0),
    }.Select(kv => kv.Key + " " + kv.Value.ToString(CultureInfo.InvariantCulture) + "\n"));
}

/// <summary>A clock the test moves: monotonic nanoseconds for CPU deltas, and a UTC time for timestamps.</summary>
public sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private long _nanoseconds = 1_000_000_000;

    public DateTimeOffset Now { get; private set; } = start;

    public override long TimestampFrequency => 1_000_000_000;

    public override long GetTimestamp() => _nanoseconds;

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan elapsed)
    {
        _nanoseconds += (long)(elapsed.TotalSeconds * 1e9);
        Now += elapsed;
    }
}

using System.Globalization;
using System.Text;

namespace HpcJobs.Agent.Bench;

/// <summary>
/// A cgroup v2 tree shaped like a Slurm node's, for the benchmark: jobs under
/// <c>system.slice/slurmstepd.scope</c> with a step and a task cgroup each, full-size <c>memory.stat</c>
/// files, and a fake <c>nvidia-smi</c> whose GPUs run processes of the first jobs.
/// </summary>
public sealed class FakeCgroupTree : IDisposable
{
    private readonly int _jobs;
    private readonly ulong[] _usage;

    public FakeCgroupTree(int jobs, int gpus, bool foreignGpuProcess)
    {
        _jobs = jobs;
        _usage = new ulong[jobs];
        Root = Directory.CreateTempSubdirectory("hpc-agent-bench-").FullName;
        File.WriteAllText(Path.Combine(Root, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids rdma misc\n");
        File.WriteAllText(Path.Combine(Root, "cpuset.cpus.effective"), "0-127\n");
        for (var j = 0; j < jobs; j++)
        {
            var job = JobDir(j);
            var task = Path.Combine(job, "step_0", "user", "task_0");
            Directory.CreateDirectory(task);
            Directory.CreateDirectory(Path.Combine(job, "step_extern"));
            File.WriteAllText(Path.Combine(job, "cgroup.procs"), string.Empty);
            File.WriteAllText(Path.Combine(job, "step_extern", "cgroup.procs"), Pid(j, 0) + "\n");
            File.WriteAllText(Path.Combine(task, "cgroup.procs"), $"{Pid(j, 1)}\n{Pid(j, 2)}\n");
            ProcCgroup(Pid(j, 0), Path.GetRelativePath(Root, Path.Combine(job, "step_extern")));
            ProcCgroup(Pid(j, 1), Path.GetRelativePath(Root, task));
            ProcCgroup(Pid(j, 2), Path.GetRelativePath(Root, task));
            File.WriteAllText(Path.Combine(job, "cpuset.cpus.effective"), "0-3,8,10-11\n");
            File.WriteAllText(Path.Combine(job, "memory.current"), (4UL << 30).ToString(CultureInfo.InvariantCulture) + "\n");
            File.WriteAllText(Path.Combine(job, "memory.stat"), MemoryStat());
            File.WriteAllText(Path.Combine(job, "memory.peak"), (6UL << 30).ToString(CultureInfo.InvariantCulture) + "\n");
            File.WriteAllText(Path.Combine(job, "memory.events"), "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
            WriteCpuStat(j);
        }

        NvidiaSmi = Path.Combine(Root, "nvidia-smi");
        var gpuLines = new StringBuilder();
        var appLines = new StringBuilder();
        for (var g = 0; g < gpus; g++)
        {
            gpuLines.Append(CultureInfo.InvariantCulture, $"{g}, GPU-{g:D8}-bench, {40 + g}, {1024 * (g + 1)}\n");
            appLines.Append(CultureInfo.InvariantCulture, $"{Pid(g % jobs, 1)}, GPU-{g:D8}-bench, {512 * (g + 1)}\n");
        }

        if (foreignGpuProcess)
        {
            // A compute process outside every job (a site's monitoring, a leftover): the agent must walk every job to know.
            appLines.Append("99, GPU-00000000-bench, 100\n");
            ProcCgroup(99, "system.slice/nvidia-persistenced.service");
        }

        File.WriteAllText(NvidiaSmi, $"""
            #!/bin/sh
            case "$1" in
              --query-gpu=*) printf '%s' '{gpuLines}' ;;
              --query-compute-apps=*) printf '%s' '{appLines}' ;;
              *) exit 2 ;;
            esac
            """.Replace("\r", string.Empty, StringComparison.Ordinal) + "\n");
        File.SetUnixFileMode(NvidiaSmi, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public string Root { get; }

    public string NvidiaSmi { get; }

    /// <summary>The fake <c>/proc</c>: a <c>PID/cgroup</c> file per process, as the kernel writes it for v2.</summary>
    public string ProcRoot => Path.Combine(Root, "proc");

    /// <summary>Every job burns 2 CPUs' worth of time over <paramref name="elapsed"/>.</summary>
    public void Advance(TimeSpan elapsed)
    {
        for (var j = 0; j < _jobs; j++)
        {
            _usage[j] += (ulong)(elapsed.TotalMicroseconds * 2);
            WriteCpuStat(j);
        }
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);

    private string JobDir(int j) => Path.Combine(Root, "system.slice", "slurmstepd.scope", "job_" + (100000 + j).ToString(CultureInfo.InvariantCulture));

    private void ProcCgroup(int pid, string cgroup)
    {
        var dir = Path.Combine(ProcRoot, pid.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "cgroup"), "0::/" + cgroup.Replace('\\', '/') + "\n");
    }

    private static int Pid(int job, int n) => 200000 + (job * 4) + n;

    private void WriteCpuStat(int j) => File.WriteAllText(Path.Combine(JobDir(j), "cpu.stat"),
        $"usage_usec {_usage[j]}\nuser_usec {_usage[j] * 9 / 10}\nsystem_usec {_usage[j] / 10}\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n");

    /// <summary>The keys of a 6.x kernel's memory.stat, in its order.</summary>
    private static string MemoryStat()
    {
        string[] keys = ["anon", "file", "kernel", "kernel_stack", "pagetables", "sec_pagetables", "percpu", "sock", "vmalloc", "shmem",
            "zswap", "zswapped", "file_mapped", "file_dirty", "file_writeback", "swapcached", "anon_thp", "file_thp", "shmem_thp",
            "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable", "slab_reclaimable", "slab_unreclaimable",
            "slab", "workingset_refault_anon", "workingset_refault_file", "workingset_activate_anon", "workingset_activate_file",
            "workingset_restore_anon", "workingset_restore_file", "workingset_nodereclaim", "pgscan", "pgsteal", "pgscan_kswapd",
            "pgscan_direct", "pgscan_khugepaged", "pgsteal_kswapd", "pgsteal_direct", "pgsteal_khugepaged", "pgfault", "pgmajfault",
            "pgrefill", "pgactivate", "pgdeactivate", "pglazyfree", "pglazyfreed", "zswpin", "zswpout", "thp_fault_alloc",
            "thp_collapse_alloc", "thp_swpout", "thp_swpout_fallback"];
        var text = new StringBuilder();
        foreach (var key in keys)
        {
            text.Append(key).Append(' ').Append(key == "inactive_file" ? 1UL << 30 : 123456789UL).Append('\n');
        }

        return text.ToString();
    }
}

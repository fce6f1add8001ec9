using HpcJobs.Agent.Cgroups;

namespace HpcJobs.Agent.Collection;

/// <summary>
/// Which job each GPU compute process belongs to: the job whose cgroup, or a cgroup below it, lists
/// the pid in <c>cgroup.procs</c>. For each pid the process's own <c>PROC/PID/cgroup</c> says where to
/// look (one file, no scan of /proc), and that cgroup's <c>cgroup.procs</c> confirms it; a pid that
/// names no job's cgroup belongs to none. Only pids without a readable entry (/proc mounted with
/// hidepid, another pid namespace) or whose hint was stale make the agent read every job's
/// cgroup.procs, stopping once each has a job.
/// </summary>
public sealed class ProcessJobs(CgroupReader reader, string procRoot)
{
    private static readonly string[] V1Controllers = ["memory", "cpuacct", "cpuset"];
    private readonly HashSet<int> _members = [];

    public Dictionary<int, string> Find(IReadOnlyCollection<int> pids, IReadOnlyList<JobCgroup> jobs)
    {
        var owners = new Dictionary<int, string>();
        var byDir = new Dictionary<string, JobCgroup>(StringComparer.Ordinal);
        foreach (var job in jobs)
        {
            if (job.ProcsDir is { } dir)
            {
                byDir.TryAdd(dir, job);
            }
        }

        var unresolved = new HashSet<int>();
        foreach (var pid in pids)
        {
            var hint = reader.ReadText(Path.Combine(procRoot, pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "cgroup"));
            if (hint is null)
            {
                unresolved.Add(pid);
                continue;
            }

            foreach (var dir in Candidates(hint))
            {
                if (JobAbove(dir, byDir) is not { } job)
                {
                    continue;
                }

                _members.Clear();
                reader.AddOwnProcesses(dir, _members);
                if (_members.Contains(pid))
                {
                    owners[pid] = job.JobId;
                }
                else
                {
                    unresolved.Add(pid);
                }

                break;
            }
        }

        if (unresolved.Count > 0)
        {
            Walk(unresolved, jobs, owners);
        }

        return owners;
    }

    private void Walk(HashSet<int> wanted, IReadOnlyList<JobCgroup> jobs, Dictionary<int, string> owners)
    {
        foreach (var job in jobs)
        {
            if (job.ProcsDir is not { } dir)
            {
                continue;
            }

            _members.Clear();
            reader.AddProcesses(dir, _members);
            foreach (var pid in _members)
            {
                if (wanted.Remove(pid))
                {
                    owners[pid] = job.JobId;
                }
            }

            if (wanted.Count == 0)
            {
                return;
            }
        }
    }

    /// <summary>The process's cgroup directories under the root: v2's one, or each v1 hierarchy's.</summary>
    private IEnumerable<string> Candidates(string procCgroup)
    {
        if (SlurmCgroups.Version(reader.Root) == CgroupVersion.V2)
        {
            if (ProcSelfCgroup.Unified(procCgroup) is { } path)
            {
                yield return Path.Combine(reader.Root, path.TrimStart('/'));
            }

            yield break;
        }

        foreach (var controller in V1Controllers)
        {
            if (ProcSelfCgroup.Controller(procCgroup, controller) is { } path)
            {
                yield return Path.Combine(reader.Root, controller, path.TrimStart('/'));
            }
        }
    }

    private JobCgroup? JobAbove(string dir, Dictionary<string, JobCgroup> byDir)
    {
        for (var current = dir; current is not null && current.Length > reader.Root.Length; current = Path.GetDirectoryName(current))
        {
            if (byDir.TryGetValue(current, out var job))
            {
                return job;
            }
        }

        return null;
    }
}

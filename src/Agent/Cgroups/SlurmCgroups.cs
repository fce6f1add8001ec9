using System.Globalization;

namespace HpcJobs.Agent.Cgroups;

/// <summary>
/// Finds the cgroups Slurm creates for the jobs of this node under a cgroup root.
/// v2 (the root has <c>cgroup.controllers</c>): <c>system.slice/slurmstepd.scope/job_ID</c>, and
/// <c>system.slice/NODE_slurmstepd.scope/job_ID</c> when several slurmd share a host (only this
/// node's scope is read, or the host's only such scope). v1: <c>CONTROLLER/slurm/uid_UID/job_ID</c> (and <c>slurm_NODE</c>, the
/// multiple-slurmd form) for the cpuacct, memory and cpuset hierarchies.
/// ID is Slurm's numeric job id: an array task has a job id of its own (<c>SLURM_JOB_ID</c>), and that
/// id, never <c>ARRAY_TASK</c>, names its cgroup.
/// </summary>
public static class SlurmCgroups
{
    private static readonly string[] V1Controllers = ["cpuacct", "memory", "cpuset"];

    public static CgroupVersion Version(string root) =>
        File.Exists(Path.Combine(root, "cgroup.controllers")) ? CgroupVersion.V2 : CgroupVersion.V1;

    public static List<JobCgroup> Discover(string root, string node)
    {
        var jobs = new List<JobCgroup>();
        if (Version(root) == CgroupVersion.V2)
        {
            var slice = Path.Combine(root, "system.slice");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var scope in V2Scopes(slice, node))
            {
                foreach (var (id, dir) in JobDirs(Path.Combine(slice, scope)))
                {
                    if (seen.Add(id))
                    {
                        jobs.Add(JobCgroup.Unified(id, dir));
                    }
                }
            }

            return jobs;
        }

        var byJob = new Dictionary<string, string?[]>(StringComparer.Ordinal);
        var order = new List<string>();
        for (var c = 0; c < V1Controllers.Length; c++)
        {
            foreach (var top in new[] { "slurm", "slurm_" + node })
            {
                var slurm = Path.Combine(root, V1Controllers[c], top);
                foreach (var uid in Subdirectories(slurm, "uid_"))
                {
                    foreach (var (id, dir) in JobDirs(uid))
                    {
                        if (!byJob.TryGetValue(id, out var dirs))
                        {
                            dirs = new string?[V1Controllers.Length];
                            byJob.Add(id, dirs);
                            order.Add(id);
                        }

                        dirs[c] ??= dir;
                    }
                }
            }
        }

        foreach (var id in order)
        {
            var dirs = byJob[id];
            jobs.Add(new JobCgroup(id, CgroupVersion.V1, dirs[0], dirs[1], dirs[2]));
        }

        return jobs;
    }

    /// <summary>
    /// <c>slurmstepd.scope</c> and this node's <c>NODE_slurmstepd.scope</c>; when neither exists and the
    /// host has exactly one <c>*_slurmstepd.scope</c>, that one: a single slurmd is this node's, even
    /// when its name is spelt otherwise than NODE_NAME (a fully qualified host name, say).
    /// </summary>
    private static IEnumerable<string> V2Scopes(string slice, string node)
    {
        string[] own = ["slurmstepd.scope", node + "_slurmstepd.scope"];
        var existing = own.Where(scope => Directory.Exists(Path.Combine(slice, scope))).ToList();
        if (existing.Count > 0)
        {
            return existing;
        }

        try
        {
            var others = Directory.GetDirectories(slice, "*_slurmstepd.scope");
            return others.Length == 1 ? [Path.GetFileName(others[0])] : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary><c>job_ID</c> directories with a numeric ID, in name order.</summary>
    private static IEnumerable<(string Id, string Dir)> JobDirs(string parent)
    {
        foreach (var dir in Subdirectories(parent, "job_"))
        {
            var id = Path.GetFileName(dir).AsSpan(4);
            if (id.Length > 0 && ulong.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                yield return (id.ToString(), dir);
            }
        }
    }

    private static string[] Subdirectories(string parent, string prefix)
    {
        try
        {
            var dirs = Directory.GetDirectories(parent, prefix + "*");
            Array.Sort(dirs, StringComparer.Ordinal);
            return dirs;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}

namespace HpcJobs.Agent.Cgroups;

/// <summary>The cgroup a process runs in (from <c>/proc/PID/cgroup</c>), read like a job's: v2 when the root is unified, else each v1 controller's hierarchy.</summary>
public static class ProcessCgroup
{
    public static JobCgroup? Find(string root, string procCgroup, string name)
    {
        if (SlurmCgroups.Version(root) == CgroupVersion.V2)
        {
            return ProcSelfCgroup.Unified(procCgroup) is { } path ? JobCgroup.Unified(name, Under(root, null, path)) : null;
        }

        string? Dir(string controller) =>
            ProcSelfCgroup.Controller(procCgroup, controller) is { } path && Directory.Exists(Under(root, controller, path))
                ? Under(root, controller, path)
                : null;

        return new JobCgroup(name, CgroupVersion.V1, Dir("cpuacct"), Dir("memory"), Dir("cpuset"));
    }

    private static string Under(string root, string? controller, string path)
    {
        var relative = path.TrimStart('/');
        return controller is null ? Path.Combine(root, relative) : Path.Combine(root, controller, relative);
    }
}

namespace HpcJobs.Agent;

/// <summary>Where and how often to report (HPC_SERVICE_URL, NODE_NAME, AGENT_TOKEN_FILE, INTERVAL_SECONDS).</summary>
public sealed record ServiceOptions(Uri ServiceUrl, string Node, string? TokenFile, TimeSpan Interval, TimeSpan RequestTimeout);

/// <summary>What to read (CGROUP_ROOT, NVIDIA_SMI, ROCM_SMI).</summary>
public sealed record CollectionOptions(string CgroupRoot, string NvidiaSmi, string RocmSmi, TimeSpan ToolTimeout);

/// <summary>Where undelivered work waits (SPOOL_DIR, SPOOL_MAX_MB, EVENT_SPOOL_DIR).</summary>
public sealed record SpoolOptions(string Directory, long MaxBytes, string EventDirectory);

/// <summary>The command line: <c>--once</c>, <c>--dry-run</c>, <c>--bench</c>.</summary>
public sealed record RunMode(bool Once, bool DryRun, bool Bench)
{
    public static RunMode Parse(string[] args)
    {
        foreach (var arg in args)
        {
            if (arg is not ("--once" or "--dry-run" or "--bench"))
            {
                throw new SettingsException("arguments", arg, "is not a flag of the agent (--once, --dry-run, --bench)");
            }
        }

        return new RunMode(args.Contains("--once"), args.Contains("--dry-run"), args.Contains("--bench"));
    }
}

/// <summary>A setting the agent cannot run with; its message names the variable.</summary>
public sealed class SettingsException(string variable, string value, string problem)
    : Exception($"invalid setting {variable}={value}: {problem}")
{
    public string Variable { get; } = variable;
}

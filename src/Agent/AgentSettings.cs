using System.Globalization;

namespace HpcJobs.Agent;

/// <summary>
/// The contract's environment variables, parsed and checked once before the host starts: a bad value
/// stops the agent with one line that names the variable (exit code 2).
/// </summary>
public sealed record AgentSettings(ServiceOptions Service, CollectionOptions Collection, SpoolOptions Spool)
{
    public static AgentSettings Load(Func<string, string?> environment)
    {
        string? Get(string name) => environment(name) is { Length: > 0 } value ? value.Trim() : null;

        var url = Get("HPC_SERVICE_URL") ?? throw new SettingsException("HPC_SERVICE_URL", "", "is required (the service's base URL, e.g. http://hpc-jobs:8080)");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var serviceUrl) || serviceUrl.Scheme is not ("http" or "https") || serviceUrl.Query.Length > 0)
        {
            throw new SettingsException("HPC_SERVICE_URL", url, "must be an http:// or https:// URL without a query");
        }

        var node = Get("NODE_NAME") ?? Environment.MachineName;
        if (node.Length > 255 || node.Any(c => char.IsControl(c) || c is '/' or ' '))
        {
            throw new SettingsException("NODE_NAME", node, "must be 1-255 printable characters without '/' or spaces");
        }

        var tokenFile = Get("AGENT_TOKEN_FILE");
        if (tokenFile is not null && TokenFile.Read(tokenFile) is { Error: { } tokenError })
        {
            throw new SettingsException("AGENT_TOKEN_FILE", tokenFile, tokenError);
        }

        var interval = Integer(Get, "INTERVAL_SECONDS", 30, 1, 3600);
        var cgroupRoot = Get("CGROUP_ROOT") ?? "/sys/fs/cgroup";
        if (!Directory.Exists(cgroupRoot))
        {
            throw new SettingsException("CGROUP_ROOT", cgroupRoot, "is not a directory");
        }

        var spoolDir = Get("SPOOL_DIR") ?? "/var/spool/hpc-agent";
        var maxMb = Integer(Get, "SPOOL_MAX_MB", 64, 1, 1024 * 1024);
        var eventDir = Get("EVENT_SPOOL_DIR") ?? "/var/spool/hpc-jobs";
        return new AgentSettings(
            new ServiceOptions(WithTrailingSlash(serviceUrl), node, tokenFile, TimeSpan.FromSeconds(interval),
                TimeSpan.FromSeconds(Math.Clamp(interval, 5, 30))),
            new CollectionOptions(cgroupRoot, Get("NVIDIA_SMI") ?? "nvidia-smi", Get("ROCM_SMI") ?? "rocm-smi",
                TimeSpan.FromSeconds(Math.Clamp(interval / 2, 1, 10))),
            new SpoolOptions(spoolDir, maxMb * 1024L * 1024L, eventDir));
    }

    private static int Integer(Func<string, string?> get, string name, int fallback, int min, int max)
    {
        var text = get(name);
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new SettingsException(name, text, $"must be a whole number from {min} to {max}");
    }

    /// <summary>A base URL with a path (<c>http://proxy/hpc</c>) must end in '/' for relative routes to stay under it.</summary>
    private static Uri WithTrailingSlash(Uri url) =>
        url.AbsolutePath.EndsWith('/') ? url : new Uri(url.GetLeftPart(UriPartial.Path) + "/");
}

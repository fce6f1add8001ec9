namespace HpcJobs.Agent.Tests;

/// <summary>contrib/systemd/hpc-agent.service says what docs/agent.md promises, and follows the agent's defaults.</summary>
public sealed class SystemdUnitTests
{
    [Fact]
    public void Unit_RestartsOnFailure_ReadsItsEnvironmentFile_AndIsReadOnlyButForTheSpools()
    {
        var unit = Unit();
        var defaults = AgentSettings.Load(name => name switch
        {
            "HPC_SERVICE_URL" => "http://127.0.0.1:8080",
            "CGROUP_ROOT" => Path.GetTempPath(),
            _ => null,
        });

        Assert.Equal(["on-failure"], unit["Restart"]);
        Assert.Equal(["2"], unit["RestartPreventExitStatus"]);
        Assert.Equal(["/etc/default/hpc-agent"], unit["EnvironmentFile"]);
        Assert.Equal(["strict"], unit["ProtectSystem"]);
        Assert.Equal(["yes"], unit["ProtectControlGroups"]);
        Assert.Equal(["yes"], unit["NoNewPrivileges"]);
        Assert.True(int.Parse(unit["CPUWeight"].Single(), System.Globalization.CultureInfo.InvariantCulture) < 100, "CPUWeight below the default of 100");
        Assert.True(int.Parse(unit["Nice"].Single(), System.Globalization.CultureInfo.InvariantCulture) > 0);
        var writable = unit["ReadWritePaths"].SelectMany(v => v.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToHashSet();
        Assert.Equal(new HashSet<string> { defaults.Spool.Directory, defaults.Spool.EventDirectory }, writable);
        Assert.False(unit.ContainsKey("PrivateDevices"), "PrivateDevices would hide the GPUs from nvidia-smi and rocm-smi");
    }

    [SkippableFact]
    public async Task Unit_PassesSystemdAnalyzeVerify()
    {
        Skip.IfNot(File.Exists("/usr/bin/systemd-analyze"), "systemd-analyze is not installed");
        var dir = Directory.CreateTempSubdirectory("hpc-agent-unit-").FullName;
        try
        {
            // The binary is not installed here; everything else is checked as written.
            var unit = File.ReadAllText(Path.Combine(Root(), "contrib", "systemd", "hpc-agent.service"))
                .Replace("ExecStart=/usr/local/bin/hpc-agent", "ExecStart=/bin/true", StringComparison.Ordinal);
            var path = Path.Combine(dir, "hpc-agent.service");
            File.WriteAllText(path, unit);
            var start = new System.Diagnostics.ProcessStartInfo("/usr/bin/systemd-analyze", ["verify", path])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = System.Diagnostics.Process.Start(start)!;
            var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();

            Assert.True(process.ExitCode == 0 && output.Trim().Length == 0, output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void DefaultFile_NamesOnlySettingsTheAgentReads()
    {
        var known = new HashSet<string>
        {
            "HPC_SERVICE_URL", "NODE_NAME", "AGENT_TOKEN_FILE", "INTERVAL_SECONDS", "CGROUP_ROOT", "SPOOL_DIR", "SPOOL_MAX_MB",
            "EVENT_SPOOL_DIR", "NVIDIA_SMI", "ROCM_SMI", "LOG_LEVEL",
        };
        var named = File.ReadAllLines(Path.Combine(Root(), "contrib", "systemd", "hpc-agent.default"))
            .Select(l => l.TrimStart('#', ' '))
            .Where(l => l.Length > 0 && char.IsUpper(l[0]) && l.Contains('=', StringComparison.Ordinal))
            .Select(l => l[..l.IndexOf('=', StringComparison.Ordinal)])
            .ToList();

        Assert.Equal(known.Order(), named.Order());
        Assert.All(known.Where(k => k != "LOG_LEVEL"), k => Assert.Contains("`" + k + "`", File.ReadAllText(Path.Combine(Root(), "docs", "agent.md"))));
    }

    private static Dictionary<string, List<string>> Unit()
    {
        var entries = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var raw in File.ReadAllLines(Path.Combine(Root(), "contrib", "systemd", "hpc-agent.service")))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';' or '[' || !line.Contains('=', StringComparison.Ordinal))
            {
                continue;
            }

            var key = line[..line.IndexOf('=', StringComparison.Ordinal)];
            if (!entries.TryGetValue(key, out var values))
            {
                entries[key] = values = [];
            }

            values.Add(line[(key.Length + 1)..]);
        }

        return entries;
    }

    private static string Root() =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(AgentProcess.AgentAssembly())!, "..", "..", "..", "..", ".."));
}

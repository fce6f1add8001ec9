using System.Diagnostics;

namespace HpcJobs.Agent.Tests;

public sealed record AgentRun(int ExitCode, string Stdout, string Stderr);

/// <summary>The real agent as a child process (<c>dotnet HpcJobs.Agent.dll</c>), with only the environment the test gives it.</summary>
public static class AgentProcess
{
    public static async Task<AgentRun> RunAsync(IReadOnlyDictionary<string, string> environment, string arguments, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo("dotnet", $"\"{AgentAssembly()}\" {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var name in new[] { "HPC_SERVICE_URL", "NODE_NAME", "AGENT_TOKEN_FILE", "INTERVAL_SECONDS", "CGROUP_ROOT", "SPOOL_DIR",
            "SPOOL_MAX_MB", "EVENT_SPOOL_DIR", "NVIDIA_SMI", "ROCM_SMI" })
        {
            start.Environment.Remove(name);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"agent did not exit:\n{await stderr}");
        }

        return new AgentRun(process.ExitCode, await stdout, await stderr);
    }

    public static string AgentAssembly()
    {
        var silo = ServiceProcess.SiloAssembly();
        var configuration = Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(silo))!);
        var root = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(silo)!, "..", "..", "..", "..", ".."));
        var path = Path.Combine(root, "src", "Agent", "bin", configuration, "net10.0", "HpcJobs.Agent.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("build the agent first", path);
    }
}

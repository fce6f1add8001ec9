using System.Text.Json;
using System.Text.RegularExpressions;

namespace HpcJobs.Agent.Tests;

/// <summary>The real agent process: <c>--once --dry-run</c> output, settings refused at start.</summary>
public sealed partial class AgentProcessTests : IDisposable
{
    private const ulong MiB = 1024 * 1024;
    private readonly CgroupTree _tree = new(v2: true);
    private readonly FakeGpuTools _gpus = new();
    private readonly string _spool = Directory.CreateTempSubdirectory("hpc-agent-spool-").FullName;
    private readonly string _events = Directory.CreateTempSubdirectory("hpc-agent-events-").FullName;

    public void Dispose()
    {
        _tree.Dispose();
        _gpus.Dispose();
        Directory.Delete(_spool, recursive: true);
        Directory.Delete(_events, recursive: true);
    }

    [Fact]
    public async Task OnceDryRun_PrintsOneLinePerRequest_MethodPathJson_AndNothingElseOnStdout()
    {
        _tree.V2Job("4242", 1_000_000, "0-3,8,10-11", current: 3072 * MiB, inactiveFile: 1024 * MiB, peak: 5000 * MiB, oomKills: 1, pids: [4999999]);
        _tree.V2Job("4243", 1_000_000, "0", current: 10 * MiB, inactiveFile: 0);
        _gpus.Nvidia("0, GPU-dry, 65, 7000\n1, GPU-idle, 0, 0\n", "4999999, GPU-dry, 6900\n");
        File.WriteAllText(Path.Combine(_events, "1764583200000000100-99.started.json"), "{\n  \"job_id\": \"4242\",\n  \"user\": \"alice\",\n  \"node_list\": \"node-a\"\n}\n");
        var environment = Environment();

        // nvidia-smi found on PATH, rocm-smi not installed.
        environment["PATH"] = _gpus.Directory + ":" + System.Environment.GetEnvironmentVariable("PATH");
        File.Delete(_gpus.RocmSmi);

        var run = await AgentProcess.RunAsync(environment, "--once --dry-run");

        Assert.True(run.ExitCode == 0, run.Stderr);
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        var requests = lines.Select(l => RequestLine().Match(l)).ToList();
        Assert.All(requests, m => Assert.True(m.Success, m.Value));
        Assert.Equal(["POST /v1/events/job-started", "POST /v1/metrics", "POST /v1/nodes/node-a/heartbeat"],
            requests.Select(m => m.Groups[1].Value + " " + m.Groups[2].Value));

        using var started = JsonDocument.Parse(requests[0].Groups[3].Value);
        Assert.Equal("4242", started.RootElement.GetProperty("job_id").GetString());

        using var batch = JsonDocument.Parse(requests[1].Groups[3].Value);
        var samples = batch.RootElement.GetProperty("samples").EnumerateArray().ToDictionary(s => s.GetProperty("job_id").GetString()!);
        Assert.Equal(["4242", "4243"], samples.Keys.Order());
        var gpuJob = samples["4242"];
        Assert.Equal("node-a", gpuJob.GetProperty("node").GetString());
        Assert.Equal(0, gpuJob.GetProperty("cpu_usage").GetDouble()); // the counters did not move between the two reads
        Assert.Equal(2048, gpuJob.GetProperty("memory_usage_mb").GetInt64());
        Assert.Equal(5000, gpuJob.GetProperty("memory_peak_mb").GetInt64());
        Assert.Equal(1, gpuJob.GetProperty("oom_kills").GetInt64());
        Assert.Equal(65, gpuJob.GetProperty("gpu_usage").GetDouble());
        Assert.Equal(7000, gpuJob.GetProperty("gpu_memory_mb").GetInt64());
        Assert.False(samples["4243"].TryGetProperty("gpu_usage", out _));
        var timestamp = DateTimeOffset.Parse(gpuJob.GetProperty("timestamp").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(timestamp, DateTimeOffset.UtcNow.AddMinutes(-2), DateTimeOffset.UtcNow);

        using var heartbeat = JsonDocument.Parse(requests[2].Groups[3].Value);
        Assert.Equal(["4242", "4243"], heartbeat.RootElement.GetProperty("jobs").EnumerateArray().Select(j => j.GetString()));
        Assert.Equal(gpuJob.GetProperty("timestamp").GetString(), heartbeat.RootElement.GetProperty("timestamp").GetString());

        // Logs went to stderr, the missing rocm-smi was said once, and a dry run neither sends nor deletes nor spools.
        Assert.Single(run.Stderr.Split('\n'), l => l.Contains("rocm-smi", StringComparison.Ordinal) && l.Contains("not found", StringComparison.Ordinal));
        Assert.Single(Directory.GetFiles(_events));
        Assert.Empty(Directory.GetFiles(_spool));
    }

    [Fact]
    public async Task Once_WithTheServiceDown_SpoolsTheBatch_AndExits0()
    {
        _tree.V2Job("5151", 1_000_000, "0-1", current: 64 * MiB, inactiveFile: 0);
        var environment = Environment();
        environment["NVIDIA_SMI"] = Path.Combine(_gpus.Directory, "absent");

        var run = await AgentProcess.RunAsync(environment, "--once");

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Empty(run.Stdout);
        var file = Assert.Single(Directory.GetFiles(_spool));
        Assert.Matches(@"batch-\d{12}\.json$", file);
        using var batch = JsonDocument.Parse(File.ReadAllText(file));
        var sample = batch.RootElement.GetProperty("samples").EnumerateArray().Single();
        Assert.Equal(("5151", 64L), (sample.GetProperty("job_id").GetString(), sample.GetProperty("memory_usage_mb").GetInt64()));
    }

    [Theory]
    [InlineData("HPC_SERVICE_URL", null)]
    [InlineData("HPC_SERVICE_URL", "ftp://127.0.0.1/")]
    [InlineData("INTERVAL_SECONDS", "0")]
    [InlineData("INTERVAL_SECONDS", "thirty")]
    [InlineData("SPOOL_MAX_MB", "-1")]
    [InlineData("CGROUP_ROOT", "/no/such/cgroup/root")]
    [InlineData("AGENT_TOKEN_FILE", "/no/such/token")]
    [InlineData("NODE_NAME", "a/b")]
    public async Task InvalidSetting_StopsWithOneLineNamingIt_Exit2(string variable, string? value)
    {
        var environment = Environment();
        if (value is null)
        {
            environment.Remove(variable);
        }
        else
        {
            environment[variable] = value;
        }

        var run = await AgentProcess.RunAsync(environment, "--once");

        Assert.Equal(2, run.ExitCode);
        Assert.Empty(run.Stdout);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(variable, line);
    }

    [Fact]
    public async Task UnknownFlag_IsRefused_Exit2()
    {
        var run = await AgentProcess.RunAsync(Environment(), "--onse");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--onse", run.Stderr);
    }

    private Dictionary<string, string> Environment() => new()
    {
        ["HPC_SERVICE_URL"] = "http://127.0.0.1:9",
        ["NODE_NAME"] = "node-a",
        ["INTERVAL_SECONDS"] = "1",
        ["CGROUP_ROOT"] = _tree.Root,
        ["SPOOL_DIR"] = _spool,
        ["EVENT_SPOOL_DIR"] = _events,
        ["ROCM_SMI"] = Path.Combine(_gpus.Directory, "rocm-smi"),
    };

    [GeneratedRegex(@"^(POST) (/\S+) (\{.*\})$")]
    private static partial Regex RequestLine();
}

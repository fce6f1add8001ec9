using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HpcJobs.Agent.Collection;
using HpcJobs.Agent.Gpus;
using HpcJobs.Agent.Sending;
using HpcJobs.Agent.Spool;

namespace HpcJobs.Agent.Tests;

/// <summary>
/// The agent against the real service process (SQLite): what it computes is what history, the job's
/// latest usage and /metrics show; an outage is bridged by the spool, in order, without duplicates.
/// The heartbeat route is not relied on (this branch's service may not have it).
/// </summary>
public sealed class EndToEndTests : IAsyncLifetime
{
    private const ulong MiB = 1024 * 1024;
    private readonly SqliteBackend _backend = new();
    private readonly CgroupTree _tree = new(v2: true);
    private readonly FakeGpuTools _gpus = new();
    private readonly string _spoolDir = Directory.CreateTempSubdirectory("hpc-agent-spool-").FullName;
    private readonly string _eventDir = Directory.CreateTempSubdirectory("hpc-agent-events-").FullName;
    private readonly ListLogger _log = new();
    private readonly string _job = Random.Shared.Next(100_000_000, 999_999_999).ToString(CultureInfo.InvariantCulture);
    private Dictionary<string, string> _settings = null!;
    private ServiceProcess? _service;

    public async Task InitializeAsync()
    {
        _settings = new Dictionary<string, string>(await _backend.CreateDatabaseAsync()) { ["PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture) };
        _service = await ServiceProcess.StartAsync(_settings);
        using var created = await _service.Client.PostAsJsonAsync("/v1/jobs", new
        {
            id = _job,
            user = "alice",
            nodes = new[] { "node-a", "node-b" },
            start_time = DateTimeOffset.UtcNow.AddMinutes(-10).ToString("O", CultureInfo.InvariantCulture),
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    public async Task DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        await _backend.DisposeAsync();
        _tree.Dispose();
        _gpus.Dispose();
        Directory.Delete(_spoolDir, recursive: true);
        Directory.Delete(_eventDir, recursive: true);
    }

    [Fact]
    public async Task ComputedValues_ReachHistory_LatestUsage_AndPrometheus()
    {
        _tree.V2Job(_job, 100_000_000, "0-3,8,10-11", current: 3072 * MiB, inactiveFile: 512 * MiB, peak: 4096 * MiB, oomKills: 1, pids: [424242]);
        _gpus.Nvidia("0, GPU-e2e-0, 70, 3000\n1, GPU-e2e-1, 90, 5000\n", "424242, GPU-e2e-0, 2900\n424242, GPU-e2e-1, 4900\n");
        var time = new ManualTime(DateTimeOffset.UtcNow.AddSeconds(-30));
        var collector = new Collector(_tree.Root, _tree.ProcRoot, "node-a", [GpuTool.Nvidia(_gpus.NvidiaSmi, TimeSpan.FromSeconds(10), _log)], time);
        var (delivery, spool) = Delivery();

        await collector.CollectAsync(default);
        time.Advance(TimeSpan.FromSeconds(10));
        _tree.SetV2Cpu(_job, 100_000_000 + 35_000_000); // 35 s of CPU in 10 s on 7 CPUs: 50 %
        var collection = await collector.CollectAsync(default);
        Assert.True(await delivery.DeliverAsync(collection, default));

        Assert.Empty(spool.Pending());
        var sample = Assert.Single(await HistoryAsync());
        Assert.Equal("node-a", sample.GetProperty("node").GetString());
        Assert.Equal(50, sample.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(2560, sample.GetProperty("memory_usage_mb").GetInt64());
        Assert.Equal(80, sample.GetProperty("gpu_usage").GetDouble());
        Assert.Equal(8000, sample.GetProperty("gpu_memory_mb").GetInt64());
        Assert.Equal(4096, sample.GetProperty("memory_peak_mb").GetInt64());
        Assert.Equal(1, sample.GetProperty("oom_kills").GetInt64());
        Assert.Equal(DateTimeOffset.Parse(collection.Samples[0].Timestamp, CultureInfo.InvariantCulture),
            DateTimeOffset.Parse(sample.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture));

        var job = await JobAsync();
        Assert.Equal((50.0, 2560L, 80.0), (job.GetProperty("cpu_usage").GetDouble(), job.GetProperty("memory_usage_mb").GetInt64(), job.GetProperty("gpu_usage").GetDouble()));

        var scrape = MetricsExposition.Parse(await _service!.Client.GetStringAsync("/metrics"));
        Assert.Equal(50, scrape.Single("hpc_job_cpu_usage_percent", "job_id", _job));
        Assert.Equal(2560.0 * MiB, scrape.Single("hpc_job_memory_usage_bytes", "job_id", _job));
        Assert.Equal(80, scrape.Single("hpc_job_gpu_usage_percent", "job_id", _job));
    }

    [Fact]
    public async Task ServiceDown_BatchesSpooled_ThenReplayedInOrder_WithoutDuplicates()
    {
        _tree.V2Job(_job, 0, "0-1", current: 100 * MiB, inactiveFile: 0);
        var time = new ManualTime(DateTimeOffset.UtcNow.AddMinutes(-3));
        var collector = new Collector(_tree.Root, _tree.ProcRoot, "node-a", [], time);
        var (delivery, spool) = Delivery();
        await collector.CollectAsync(default);

        ulong usage = 0;
        async Task<IntervalReading> NextAsync(int percentOfTwoCpus)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            usage += (ulong)(percentOfTwoCpus * 200_000); // of 2 CPUs × 10 s, in microseconds
            _tree.SetV2Cpu(_job, usage);
            return await collector.CollectAsync(default);
        }

        await _service!.KillAsync();
        foreach (var percent in new[] { 10, 20, 30 })
        {
            Assert.True(await delivery.DeliverAsync(await NextAsync(percent), default));
        }

        Assert.Equal(3, spool.Pending().Count);
        var crashCopy = File.ReadAllBytes(spool.Pending()[0]);
        var crashName = spool.Pending()[0];

        await _service.DisposeAsync();
        _service = await ServiceProcess.StartAsync(_settings);
        Assert.True(await delivery.DeliverAsync(await NextAsync(40), default));

        Assert.Empty(spool.Pending());
        var history = await HistoryAsync();
        Assert.Equal([10.0, 20.0, 30.0, 40.0], history.Select(s => s.GetProperty("cpu_usage").GetDouble()));
        var stamps = history.Select(s => s.GetProperty("timestamp").GetString()).ToList();
        Assert.Equal(stamps.Order(), stamps);
        Assert.Equal(40, (await JobAsync()).GetProperty("cpu_usage").GetDouble());

        // A crash after a replay was answered but before its file was deleted: the file is sent again, and stored once.
        File.WriteAllBytes(crashName, crashCopy);
        Assert.True(await delivery.DeliverAsync(await NextAsync(50), default));
        Assert.Empty(spool.Pending());
        Assert.Equal([10.0, 20.0, 30.0, 40.0, 50.0], (await HistoryAsync()).Select(s => s.GetProperty("cpu_usage").GetDouble()));
    }

    [Fact]
    public async Task RealAgentProcess_Once_SendsOneBatch_ThatTheServiceStores()
    {
        _tree.V2Job(_job, 0, "0-3", current: 777 * MiB, inactiveFile: 77 * MiB, peak: 800 * MiB);
        var run = await AgentProcess.RunAsync(new Dictionary<string, string>
        {
            ["HPC_SERVICE_URL"] = $"http://127.0.0.1:{_service!.Port}",
            ["NODE_NAME"] = "node-b",
            ["INTERVAL_SECONDS"] = "1",
            ["CGROUP_ROOT"] = _tree.Root,
            ["SPOOL_DIR"] = _spoolDir,
            ["EVENT_SPOOL_DIR"] = _eventDir,
            ["NVIDIA_SMI"] = Path.Combine(_gpus.Directory, "absent-nvidia-smi"),
            ["ROCM_SMI"] = Path.Combine(_gpus.Directory, "absent-rocm-smi"),
        }, "--once");

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Empty(run.Stdout);
        Assert.Empty(Directory.GetFiles(_spoolDir, "batch-*"));
        var sample = Assert.Single(await HistoryAsync());
        Assert.Equal("node-b", sample.GetProperty("node").GetString());
        Assert.Equal(700, sample.GetProperty("memory_usage_mb").GetInt64());
        Assert.Equal(800, sample.GetProperty("memory_peak_mb").GetInt64());
        Assert.Equal(0, sample.GetProperty("cpu_usage").GetDouble());
        Assert.False(sample.TryGetProperty("gpu_usage", out var gpu) && gpu.ValueKind != JsonValueKind.Null);
        Assert.Equal(700, (await JobAsync()).GetProperty("memory_usage_mb").GetInt64());
    }

    private (Delivery Delivery, BatchSpool Spool) Delivery()
    {
        var service = new ServiceOptions(new Uri($"http://127.0.0.1:{_service!.Port}/"), "node-a", null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        var spoolOptions = new SpoolOptions(_spoolDir, 1 << 20, _eventDir);
        var spool = new BatchSpool(spoolOptions, _log);
        spool.Open();
        return (new Delivery(new ServiceClient(service), spool, spoolOptions, service, _log), spool);
    }

    private async Task<JsonElement[]> HistoryAsync()
    {
        using var document = JsonDocument.Parse(await _service!.Client.GetStringAsync($"/v1/jobs/{_job}/metrics?limit=10000"));
        return [.. document.RootElement.Clone().GetProperty("samples").EnumerateArray()];
    }

    private async Task<JsonElement> JobAsync()
    {
        using var document = JsonDocument.Parse(await _service!.Client.GetStringAsync($"/v1/jobs/{_job}"));
        return document.RootElement.Clone();
    }
}

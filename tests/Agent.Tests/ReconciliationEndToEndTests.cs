using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HpcJobs.Agent.Collection;
using HpcJobs.Agent.Sending;
using HpcJobs.Agent.Spool;

namespace HpcJobs.Agent.Tests;

/// <summary>
/// The agent's heartbeats against the real service process (SQLite) with a 3 s reconciliation window:
/// a job whose cgroup disappears without an epilog is ended by the reconciler (failed, raw_state
/// LOST) once the agent has kept reporting without it for the window, and not before.
/// </summary>
public sealed class ReconciliationEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan After = TimeSpan.FromSeconds(3);
    private readonly SqliteBackend _backend = new();
    private readonly CgroupTree _tree = new(v2: true);
    private readonly string _spoolDir = Directory.CreateTempSubdirectory("hpc-agent-spool-").FullName;
    private readonly string _eventDir = Directory.CreateTempSubdirectory("hpc-agent-events-").FullName;
    private readonly ListLogger _log = new();
    private readonly string _job = Random.Shared.Next(100_000_000, 999_999_999).ToString(CultureInfo.InvariantCulture);
    private ServiceProcess? _service;

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string>(await _backend.CreateDatabaseAsync())
        {
            ["PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["RECONCILE_AFTER_SECONDS"] = "3",
            ["RECONCILE_INTERVAL_SECONDS"] = "1",
            ["SAMPLE_INTERVAL_SECONDS"] = "1",
        };
        _service = await ServiceProcess.StartAsync(settings);
        using var created = await _service.Client.PostAsJsonAsync("/v1/jobs", new
        {
            id = _job,
            user = "alice",
            nodes = new[] { "node-a" },
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
        Directory.Delete(_spoolDir, recursive: true);
        Directory.Delete(_eventDir, recursive: true);
    }

    [Fact]
    public async Task JobWhoseCgroupVanishes_IsEndedLostByTheReconciler_OnlyAfterTheAgentReportedWithoutItForTheWindow()
    {
        var dir = _tree.V2Job(_job, 1_000_000, "0-3", current: 1024UL * 1024 * 1024, inactiveFile: 0);
        var time = new ManualTime(DateTimeOffset.UtcNow.AddSeconds(-30));
        var collector = new Collector(_tree.Root, _tree.ProcRoot, "node-a", [], time);
        var delivery = Delivery();

        // The job runs and is listed, for longer than the window: it stays running.
        var listing = DateTimeOffset.UtcNow + After + TimeSpan.FromSeconds(1);
        while (DateTimeOffset.UtcNow < listing)
        {
            await BeatAsync(collector, delivery, time);
        }

        Assert.Equal("running", (await JobAsync()).GetProperty("state").GetString());

        // Its cgroup goes (the job ended), its epilog never comes; the agent keeps reporting.
        var lastListed = DateTimeOffset.UtcNow;
        await BeatAsync(collector, delivery, time);
        _tree.Remove(Path.GetRelativePath(_tree.Root, dir));
        var deadline = DateTimeOffset.UtcNow.AddSeconds(40);
        JsonElement job;
        do
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "the job was not ended within 40 s");
            await BeatAsync(collector, delivery, time);
            job = await JobAsync();
        }
        while (job.GetProperty("state").GetString() == "running");

        Assert.Equal("failed", job.GetProperty("state").GetString());
        Assert.Equal("LOST", job.GetProperty("scheduler").GetProperty("raw_state").GetString());
        var ended = DateTimeOffset.Parse(job.GetProperty("end_time").GetString()!, CultureInfo.InvariantCulture);
        Assert.True(ended >= lastListed + After, $"ended at {ended:O}, less than {After.TotalSeconds} s after {lastListed:O}");
    }

    private static async Task BeatAsync(Collector collector, Delivery delivery, ManualTime time)
    {
        time.Advance(TimeSpan.FromMilliseconds(300));
        var collection = await collector.CollectAsync(default);
        Assert.True(await delivery.DeliverAsync(collection, default));
        await Task.Delay(300);
    }

    private Delivery Delivery()
    {
        var service = new ServiceOptions(new Uri($"http://127.0.0.1:{_service!.Port}/"), "node-a", null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        var spoolOptions = new SpoolOptions(_spoolDir, 1 << 20, _eventDir);
        var spool = new BatchSpool(spoolOptions, _log);
        spool.Open();
        return new Delivery(new ServiceClient(service), spool, spoolOptions, service, _log);
    }

    private async Task<JsonElement> JobAsync()
    {
        using var document = JsonDocument.Parse(await _service!.Client.GetStringAsync($"/v1/jobs/{_job}"));
        return document.RootElement.Clone();
    }
}

using System.Text.Json;
using HpcJobs.Agent.Collection;
using HpcJobs.Agent.Sending;
using HpcJobs.Agent.Spool;

namespace HpcJobs.Agent.Tests;

/// <summary>Sending, spooling and replay against a real loopback HTTP server that answers as scripted.</summary>
public sealed class DeliveryTests : IAsyncLifetime
{
    private readonly string _spoolDir = Directory.CreateTempSubdirectory("hpc-agent-spool-").FullName;
    private readonly string _eventDir = Directory.CreateTempSubdirectory("hpc-agent-events-").FullName;
    private readonly ListLogger _log = new();
    private ScriptedService _service = null!;

    public async Task InitializeAsync() => _service = await ScriptedService.StartAsync();

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        Directory.Delete(_spoolDir, recursive: true);
        Directory.Delete(_eventDir, recursive: true);
    }

    [Fact]
    public async Task Batch_ThenHeartbeat_WithTheNodesTokenAndJobsSeen()
    {
        var tokenFile = Path.Combine(_spoolDir, "..", Path.GetFileName(_spoolDir) + ".token");
        File.WriteAllText(tokenFile, "node-secret-1\n");
        var (delivery, spool) = Create(tokenFile);

        Assert.True(await delivery.DeliverAsync(Collection(0, "10", "11"), default));
        File.WriteAllText(tokenFile, "node-secret-2\n");
        Assert.True(await delivery.DeliverAsync(Collection(30, "10"), default));
        File.Delete(tokenFile);

        var requests = _service.Requests;
        Assert.Equal(["POST /v1/metrics", "POST /v1/nodes/node-a/heartbeat", "POST /v1/metrics", "POST /v1/nodes/node-a/heartbeat"],
            requests.Select(r => r.Method + " " + r.Path));
        Assert.Equal(["Bearer node-secret-1", "Bearer node-secret-1", "Bearer node-secret-2", "Bearer node-secret-2"], requests.Select(r => r.Authorization));
        Assert.All(requests, r => Assert.Equal("agent", r.Source));
        using var heartbeat = JsonDocument.Parse(requests[1].Body);
        Assert.Equal(["10", "11"], heartbeat.RootElement.GetProperty("jobs").EnumerateArray().Select(j => j.GetString()));
        Assert.Equal("2026-12-01T10:00:00.000000Z", heartbeat.RootElement.GetProperty("timestamp").GetString());
        using var batch = JsonDocument.Parse(requests[0].Body);
        var sample = batch.RootElement.GetProperty("samples")[0];
        Assert.Equal(
            """{"job_id":"10","node":"node-a","timestamp":"2026-12-01T10:00:00.000000Z","cpu_usage":12.5,"memory_usage_mb":1024,"memory_peak_mb":2048,"oom_kills":0}""",
            sample.GetRawText());
        Assert.Empty(spool.Pending());
    }

    [Theory]
    [InlineData(503)]
    [InlineData(500)]
    [InlineData(429)]
    [InlineData(0)]
    public async Task UndeliveredBatch_IsSpooled_ThenReplayedOldestFirst_BeforeTheNewOne(int status)
    {
        var (delivery, spool) = Create();
        if (status == 0)
        {
            await _service.DisposeAsync(); // nobody listens: a connection refused
        }
        else
        {
            _service.Answer = r => r.Path == "/v1/metrics" ? (status, """{"error":"unavailable","message":"storage down"}""") : (200, "{}");
        }

        Assert.True(await delivery.DeliverAsync(Collection(0, "1"), default));
        Assert.True(await delivery.DeliverAsync(Collection(30, "1"), default));
        Assert.Equal(2, spool.Pending().Count);

        if (status == 0)
        {
            _service = await ScriptedService.StartAsync();
            (delivery, spool) = Create(url: _service.Url);
        }

        _service.Answer = ScriptedService.DefaultAnswer;
        Assert.True(await delivery.DeliverAsync(Collection(60, "1"), default));

        var batches = _service.Requests.Where(r => r.Path == "/v1/metrics" && r.Body.Length > 0).Select(r => Timestamps(r.Body)).ToList();
        Assert.Equal(
            ["2026-12-01T10:00:00.000000Z", "2026-12-01T10:00:30.000000Z", "2026-12-01T10:01:00.000000Z"],
            batches.TakeLast(3).SelectMany(t => t));
        Assert.Empty(spool.Pending());
    }

    [Fact]
    public async Task WhileOlderBatchesWait_ANewBatchJoinsThemInsteadOfOvertaking()
    {
        var (delivery, spool) = Create();
        _service.Answer = r => r.Path == "/v1/metrics" ? (503, "{}") : (200, "{}");
        await delivery.DeliverAsync(Collection(0, "1"), default);
        await delivery.DeliverAsync(Collection(30, "1"), default);

        var metricsPosts = _service.Requests.Count(r => r.Path == "/v1/metrics");

        // The first replay fails: the new batch is not tried, it is spooled behind the others.
        Assert.Equal(2, metricsPosts);
        Assert.Equal(2, spool.Pending().Count);
    }

    [Fact]
    public async Task SamplesRejectedAsUnavailable_StayInTheSpool_OthersAreDone()
    {
        var (delivery, spool) = Create();
        _service.Answer = r => r.Path == "/v1/metrics"
            ? (200, """{"accepted": 1, "duplicates": 0, "rejected": [{"index": 1, "error": "unavailable", "message": "storage unavailable"}, {"index": 2, "error": "not_found", "message": "no job 12"}]}""")
            : (200, "{}");

        await delivery.DeliverAsync(Collection(0, "10", "11", "12"), default);

        var file = Assert.Single(spool.Pending());
        using var kept = JsonDocument.Parse(File.ReadAllText(file));
        Assert.Equal(["11"], kept.RootElement.GetProperty("samples").EnumerateArray().Select(s => s.GetProperty("job_id").GetString()));

        _service.Answer = ScriptedService.DefaultAnswer;
        await delivery.DeliverAsync(Collection(30), default);
        Assert.Empty(spool.Pending());
        Assert.Equal("11", JsonDocument.Parse(_service.Requests.Last(r => r.Path == "/v1/metrics").Body).RootElement.GetProperty("samples")[0].GetProperty("job_id").GetString());
    }

    [Fact]
    public async Task BatchRefusedFor400_IsDropped_NotSpooled()
    {
        var (delivery, spool) = Create();
        _service.Answer = r => r.Path == "/v1/metrics" ? (400, """{"error":"validation_error","message":"bad"}""") : (200, "{}");

        Assert.True(await delivery.DeliverAsync(Collection(0, "1"), default));

        Assert.Empty(spool.Pending());
        Assert.Contains(_log.Lines, l => l.Contains("refused with 400"));
    }

    [Fact]
    public async Task HeartbeatRouteMissing_IsNotFatal_NotSpooled_AndSaidOnce()
    {
        var (delivery, spool) = Create();
        _service.Answer = r => r.Path.StartsWith("/v1/nodes/", StringComparison.Ordinal)
            ? (404, """{"error":"not_found","message":"no route"}""")
            : ScriptedService.DefaultAnswer(r);

        for (var i = 0; i < 3; i++)
        {
            Assert.True(await delivery.DeliverAsync(Collection(i * 30, "1"), default));
        }

        Assert.Equal(3, _service.Requests.Count(r => r.Path == "/v1/nodes/node-a/heartbeat"));
        Assert.Empty(spool.Pending());
        Assert.Single(_log.Lines, l => l.Contains("heartbeat"));
    }

    [Fact]
    public async Task SpooledEvents_AreSentOldestFirst_DeletedAfter2xxOr4xx_KeptOn5xxAnd429()
    {
        var (delivery, _) = Create();
        string[] names = ["1764583200000000100-12.started.json", "1764583200000000200-12.finished.json", "1764583200000000300-13.started.json",
            "1764583200000000400-14.started.json", "1764583200000000500-14.finished.json"];
        foreach (var (name, i) in names.Select((n, i) => (n, i)))
        {
            File.WriteAllText(Path.Combine(_eventDir, name), $$"""{"job_id": "{{i}}", "user": "alice", "node_list": "node-a"}""" + "\n");
        }

        File.WriteAllText(Path.Combine(_eventDir, ".1764583200000000600-15.started.json.tmp"), "{\"job_");
        var answers = new Queue<int>([200, 404, 503]);
        _service.Answer = r => r.Path.StartsWith("/v1/events/", StringComparison.Ordinal) ? (answers.Dequeue(), "{}") : ScriptedService.DefaultAnswer(r);

        await delivery.DeliverAsync(Collection(0), default);

        var events = _service.Requests.Where(r => r.Path.StartsWith("/v1/events/", StringComparison.Ordinal)).ToList();
        Assert.Equal(["/v1/events/job-started", "/v1/events/job-finished", "/v1/events/job-started"], events.Select(e => e.Path));
        Assert.Equal(["prolog", "epilog", "prolog"], events.Select(e => e.Source));
        Assert.Equal("0", JsonDocument.Parse(events[0].Body).RootElement.GetProperty("job_id").GetString());
        Assert.Equal(names[2..].Append(".1764583200000000600-15.started.json.tmp").Order(), Directory.GetFiles(_eventDir).Select(Path.GetFileName).Order());

        answers = new Queue<int>([429]);
        await delivery.DeliverAsync(Collection(30), default);
        Assert.Equal(3, Directory.GetFiles(_eventDir, "*.json").Length);

        answers = new Queue<int>([200, 200, 200]);
        await delivery.DeliverAsync(Collection(60), default);
        Assert.Empty(Directory.GetFiles(_eventDir, "*.json"));
        Assert.Contains(_log.Lines, l => l.Contains("refused with 404"));
    }

    [Fact]
    public async Task EventsRefusedForTheToken_WaitForIt_ButBatchesAreStillSent()
    {
        var (delivery, spool) = Create();
        File.WriteAllText(Path.Combine(_eventDir, "1764583200000000100-12.started.json"), """{"job_id": "1"}""");
        _service.Answer = r => r.Path.StartsWith("/v1/events/", StringComparison.Ordinal) ? (403, """{"error":"forbidden"}""") : ScriptedService.DefaultAnswer(r);

        Assert.True(await delivery.DeliverAsync(Collection(0, "1"), default));

        Assert.Single(Directory.GetFiles(_eventDir));
        Assert.Empty(spool.Pending());
        Assert.Single(_service.Requests, r => r.Path == "/v1/metrics");
    }

    [Fact]
    public async Task AgentStopping_DuringAnInterval_SpoolsTheNewBatch()
    {
        var (delivery, spool) = Create();
        using var stopping = new CancellationTokenSource();
        await stopping.CancelAsync();

        Assert.True(await delivery.DeliverAsync(Collection(0, "1", "2"), stopping.Token));

        var file = Assert.Single(spool.Pending());
        Assert.Equal(2, JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("samples").GetArrayLength());
    }

    private (Delivery Delivery, BatchSpool Spool) Create(string? tokenFile = null, Uri? url = null)
    {
        var service = new ServiceOptions(url ?? _service.Url, "node-a", tokenFile, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5));
        var spoolOptions = new SpoolOptions(_spoolDir, 1 << 20, _eventDir);
        var spool = new BatchSpool(spoolOptions, _log);
        spool.Open();
        return (new Delivery(new ServiceClient(service), spool, spoolOptions, service, _log), spool);
    }

    private static readonly DateTimeOffset Start = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    private static IntervalReading Collection(int seconds, params string[] jobs)
    {
        var at = Start.AddSeconds(seconds);
        var stamp = Collector.Timestamp(at);
        return new IntervalReading(at, [.. jobs.Select(j => new AgentSample(j, "node-a", stamp, 12.5, 1024, MemoryPeakMb: 2048, OomKills: 0))], jobs);
    }

    private static List<string> Timestamps(string body) =>
        [.. JsonDocument.Parse(body).RootElement.GetProperty("samples").EnumerateArray().Select(s => s.GetProperty("timestamp").GetString()!)];
}

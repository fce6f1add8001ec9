using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using HpcJobs.Api.Tests.Infrastructure;
using HpcJobs.Grains;
using HpcJobs.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace HpcJobs.Api.Tests;

/// <summary>
/// GET /metrics (shared/CONTRACT.md, "Prometheus exposition") against the whole service in-process.
/// Every test uses its own job ids, users and nodes, so it only asserts on its own series; the
/// per-state counts are cluster-wide, so those tests compare against the stored totals instead.
/// </summary>
public abstract class MetricsExportTests<TBackend>(ServiceFixture<TBackend> service) : IClassFixture<ServiceFixture<TBackend>>
    where TBackend : IBackend, new()
{
    private const double BytesPerMb = 1048576;

    private static readonly string[] _states = ["pending", "running", "completed", "failed", "cancelled"];

    private static readonly string[] _jobFamilies =
        ["hpc_job_runtime_seconds", "hpc_job_cpu_usage_percent", "hpc_job_memory_usage_bytes", "hpc_job_gpu_usage_percent"];

    /// <summary>Counts are eventually consistent and cached for 2 s; this leaves room for a loaded machine.</summary>
    private static readonly TimeSpan _countsTimeout = TimeSpan.FromSeconds(10);

    private HttpClient Client => service.Client;

    [SkippableFact]
    public async Task Metrics_ContentType_IsPrometheusText004()
    {
        using var response = await Client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var type = response.Content.Headers.ContentType;
        Assert.NotNull(type);
        Assert.Equal("text/plain", type.MediaType);
        var version = Assert.Single(type.Parameters, p => p.Name.Equals("version", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("0.0.4", version.Value?.Trim('"'));
        Assert.True(type.CharSet is null || type.CharSet.Equals("utf-8", StringComparison.OrdinalIgnoreCase), $"charset {type.CharSet}");
    }

    [SkippableFact]
    public async Task Metrics_DeclaresContractFamilies_WithContractTypes()
    {
        var id = NewName("job");
        await CreateJobAsync(id, NewName("user"), [NewName("node")]);
        await PostSampleAsync(id, cpu: 5, memoryMb: 6, gpu: 7);

        var scrape = await ScrapeAsync();

        var expected = new Dictionary<string, string>
        {
            ["hpc_job_runtime_seconds"] = "gauge",
            ["hpc_job_cpu_usage_percent"] = "gauge",
            ["hpc_job_memory_usage_bytes"] = "gauge",
            ["hpc_job_gpu_usage_percent"] = "gauge",
            ["hpc_job_state_total"] = "gauge",
            ["hpc_jobs"] = "gauge",
            ["hpc_job_total"] = "counter",
            ["hpc_node_cpu_usage_percent"] = "gauge",
            ["hpc_node_memory_usage_bytes"] = "gauge",
            ["hpc_node_gpu_usage_percent"] = "gauge",
            ["hpc_node_job_count"] = "gauge",
            ["hpc_node_jobs"] = "gauge",
        };
        foreach (var (name, type) in expected)
        {
            Assert.True(scrape.Types.TryGetValue(name, out var declared), $"no # TYPE for {name}");
            Assert.True(type == declared, $"{name} is declared {declared}, the contract says {type}");
            Assert.True(scrape.Help.ContainsKey(name), $"no # HELP for {name}");
        }
    }

    [SkippableFact]
    public async Task RunningJob_ExportsPerJobSeries_WithFirstNodeUserStateAndLatestUsage()
    {
        var (id, user, first, second) = (NewName("job"), NewName("user"), NewName("node"), NewName("node"));
        await CreateJobAsync(id, user, [first, second], startTime: DateTimeOffset.UtcNow.AddMinutes(-10));
        await PostSampleAsync(id, cpu: 12, memoryMb: 1);
        await PostSampleAsync(id, cpu: 42.5, memoryMb: 123_456_789);

        var scrape = await ScrapeAsync();

        foreach (var family in _jobFamilies.Where(f => f != "hpc_job_gpu_usage_percent"))
        {
            var series = Assert.Single(scrape.ForJob(family, id));
            AssertLabels(series, ("job_id", id), ("user", user), ("node", first), ("state", "running"));
        }

        Assert.Equal(42.5, scrape.ForJob("hpc_job_cpu_usage_percent", id)[0].Value);
        Assert.Equal(123_456_789 * BytesPerMb, scrape.ForJob("hpc_job_memory_usage_bytes", id)[0].Value);
        var runtime = scrape.ForJob("hpc_job_runtime_seconds", id)[0].Value;
        Assert.InRange(runtime, 600, 600 + 120);
        Assert.Empty(scrape.ForJob("hpc_job_gpu_usage_percent", id));
    }

    [SkippableFact]
    public async Task RunningJob_RuntimeSeries_GrowsBetweenScrapes()
    {
        var id = NewName("job");
        await CreateJobAsync(id, NewName("user"), [NewName("node")], startTime: DateTimeOffset.UtcNow.AddMinutes(-1));

        var before = Assert.Single((await ScrapeAsync()).ForJob("hpc_job_runtime_seconds", id)).Value;
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var after = Assert.Single((await ScrapeAsync()).ForJob("hpc_job_runtime_seconds", id)).Value;

        Assert.InRange(after - before, 1.0, 30);
    }

    [SkippableFact]
    public async Task GpuSeries_AppearsOnlyOnceGpuIsReported_WithTheLatestValue()
    {
        var id = NewName("job");
        await CreateJobAsync(id, NewName("user"), [NewName("node")]);
        await PostSampleAsync(id, cpu: 10, memoryMb: 10);
        Assert.Empty((await ScrapeAsync()).ForJob("hpc_job_gpu_usage_percent", id));

        await PostSampleAsync(id, cpu: 10, memoryMb: 10, gpu: 33.25);
        await PostSampleAsync(id, cpu: 10, memoryMb: 10, gpu: 71.5);

        var series = Assert.Single((await ScrapeAsync()).ForJob("hpc_job_gpu_usage_percent", id));
        Assert.Equal(71.5, series.Value);
        Assert.Equal("running", series.Label("state"));
    }

    [SkippableFact]
    public async Task PendingJob_ExportsStatePending_WithZeroRuntimeAndUsage()
    {
        var (id, user, node) = (NewName("job"), NewName("user"), NewName("node"));
        await CreateJobAsync(id, user, [node], state: "pending", startTime: DateTimeOffset.UtcNow.AddHours(-1));

        var scrape = await ScrapeAsync();

        foreach (var family in _jobFamilies.Where(f => f != "hpc_job_gpu_usage_percent"))
        {
            AssertLabels(Assert.Single(scrape.ForJob(family, id)), ("job_id", id), ("user", user), ("node", node), ("state", "pending"));
        }

        Assert.Equal(0, scrape.ForJob("hpc_job_runtime_seconds", id)[0].Value);
        Assert.Equal(0, scrape.ForJob("hpc_job_cpu_usage_percent", id)[0].Value);
        Assert.Equal(0, scrape.ForJob("hpc_job_memory_usage_bytes", id)[0].Value);
        Assert.Empty(scrape.ForJob("hpc_job_gpu_usage_percent", id));
    }

    [SkippableFact]
    public async Task JobSeries_FollowStateChanges_LeavingNoSeriesUnderTheOldState()
    {
        var id = NewName("job");
        await CreateJobAsync(id, NewName("user"), [NewName("node")], state: "pending");
        Assert.Equal("pending", Assert.Single((await ScrapeAsync()).ForJob("hpc_job_cpu_usage_percent", id)).Label("state"));

        await PatchAsync(id, new { state = "running" });
        await PostSampleAsync(id, cpu: 64, memoryMb: 2);

        var scrape = await ScrapeAsync();
        foreach (var family in _jobFamilies.Where(f => f != "hpc_job_gpu_usage_percent"))
        {
            Assert.Equal("running", Assert.Single(scrape.ForJob(family, id)).Label("state"));
        }

        Assert.Equal(64, scrape.ForJob("hpc_job_cpu_usage_percent", id)[0].Value);
    }

    [SkippableFact]
    public async Task PatchUsage_UpdatesTheJobSeries()
    {
        var id = NewName("job");
        await CreateJobAsync(id, NewName("user"), [NewName("node")]);

        await PatchAsync(id, new { cpu_usage = 81.5, memory_usage_mb = 4096, gpu_usage = 12 });

        var scrape = await ScrapeAsync();
        Assert.Equal(81.5, Assert.Single(scrape.ForJob("hpc_job_cpu_usage_percent", id)).Value);
        Assert.Equal(4096 * BytesPerMb, Assert.Single(scrape.ForJob("hpc_job_memory_usage_bytes", id)).Value);
        Assert.Equal(12, Assert.Single(scrape.ForJob("hpc_job_gpu_usage_percent", id)).Value);
    }

    [SkippableFact]
    public async Task DeletedJob_SeriesDisappearAtOnce()
    {
        var (id, node) = (NewName("job"), NewName("node"));
        await CreateJobAsync(id, NewName("user"), [node]);
        await PostSampleAsync(id, cpu: 50, memoryMb: 512, gpu: 20);
        var before = await ScrapeAsync();
        Assert.Equal(4, before.AllForJob(id).Count);
        Assert.NotNull(before.Single("hpc_node_job_count", "node", node));

        using var deleted = await Client.DeleteAsync(JobPath(id));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);

        var after = await ScrapeAsync();
        Assert.Empty(after.AllForJob(id));
        Assert.DoesNotContain(after.Series, s => s.Labels.TryGetValue("node", out var n) && n == node);
    }

    [SkippableTheory]
    [InlineData("completed")]
    [InlineData("failed")]
    [InlineData("cancelled")]
    public async Task EndedJob_SeriesStayDuringGrace_WithEndStateFrozenRuntimeAndLastUsage(string end)
    {
        var (id, user, node) = (NewName("job"), NewName("user"), NewName("node"));
        await CreateJobAsync(id, user, [node], startTime: DateTimeOffset.UtcNow.AddMinutes(-10));
        await PostSampleAsync(id, cpu: 77, memoryMb: 3000, gpu: 9);

        var ended = await PatchAsync(id, new { state = end });
        var stored = ended.GetProperty("runtime_seconds").GetDouble();

        var first = await ScrapeAsync();
        foreach (var family in _jobFamilies)
        {
            AssertLabels(Assert.Single(first.ForJob(family, id)), ("job_id", id), ("user", user), ("node", node), ("state", end));
        }

        Assert.Equal(77, first.ForJob("hpc_job_cpu_usage_percent", id)[0].Value);
        Assert.Equal(3000 * BytesPerMb, first.ForJob("hpc_job_memory_usage_bytes", id)[0].Value);
        Assert.Equal(9, first.ForJob("hpc_job_gpu_usage_percent", id)[0].Value);
        var runtime = first.ForJob("hpc_job_runtime_seconds", id)[0].Value;
        Assert.InRange(runtime, stored - 0.001, stored + 0.001);

        // Ended jobs leave the node aggregates, which cover running jobs only.
        Assert.Null(first.Single("hpc_node_job_count", "node", node));

        await Task.Delay(TimeSpan.FromSeconds(1.2));
        var second = await ScrapeAsync();
        Assert.Equal(runtime, Assert.Single(second.ForJob("hpc_job_runtime_seconds", id)).Value);
    }

    [SkippableFact]
    public async Task LabelValues_WithQuotesBackslashesAndNewlines_RoundTrip()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var id = $"q\"uote\\back\\\\slash\\n é {suffix}";
        var user = $"us\"er\\n\nline two\ttab\r \\ {suffix}";
        var node = $"no\"de\\{suffix}\n";
        await CreateJobAsync(id, user, [node, "other"]);
        await PostSampleAsync(id, cpu: 3, memoryMb: 4, gpu: 5);

        var scrape = await ScrapeAsync();

        foreach (var family in _jobFamilies)
        {
            AssertLabels(Assert.Single(scrape.ForJob(family, id)), ("job_id", id), ("user", user), ("node", node), ("state", "running"));
        }

        Assert.Equal(1, scrape.Single("hpc_node_job_count", "node", node));
    }

    /// <summary>Characters that delimit the exposition itself, in a job id (printable, so valid) and in a user and node.</summary>
    [SkippableFact]
    public async Task LabelValues_WithExpositionSyntaxCharacters_RoundTrip()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var id = $"x{{a=\"b\",c}} 1 # {suffix}";
        var user = $"u}} 2\n{{le=\"+Inf\"}} {suffix}";
        var node = $"n{{}},= {suffix}";
        await CreateJobAsync(id, user, [node]);
        await PostSampleAsync(id, cpu: 6, memoryMb: 7, gpu: 8);

        var scrape = await ScrapeAsync();

        foreach (var family in _jobFamilies)
        {
            AssertLabels(Assert.Single(scrape.ForJob(family, id)), ("job_id", id), ("user", user), ("node", node), ("state", "running"));
        }

        Assert.Equal(6, scrape.ForJob("hpc_job_cpu_usage_percent", id)[0].Value);
        Assert.Equal(1, scrape.Single("hpc_node_job_count", "node", node));
    }

    [SkippableFact]
    public async Task NodeSeries_AggregateRunningJobsOnEveryNodeOfTheJob()
    {
        var (x, y, z, w) = (NewName("node"), NewName("node"), NewName("node"), NewName("node"));
        var user = NewName("user");
        var first = NewName("job");
        await CreateJobAsync(first, user, [x, y]);
        await PostSampleAsync(first, cpu: 10, memoryMb: 100, gpu: 50);
        var second = NewName("job");
        await CreateJobAsync(second, user, [y]);
        await PostSampleAsync(second, cpu: 30, memoryMb: 200);
        var third = NewName("job");
        await CreateJobAsync(third, user, [w, w]);
        await PostSampleAsync(third, cpu: 40, memoryMb: 1);
        var pending = NewName("job");
        await CreateJobAsync(pending, user, [y, z], state: "pending");
        var completed = NewName("job");
        await CreateJobAsync(completed, user, [x, z]);
        await PostSampleAsync(completed, cpu: 90, memoryMb: 5000, gpu: 100);
        await PatchAsync(completed, new { state = "completed" });

        var scrape = await ScrapeAsync();

        foreach (var name in new[] { "hpc_node_job_count", "hpc_node_jobs" })
        {
            Assert.Equal(1, scrape.Single(name, "node", x));
            Assert.Equal(2, scrape.Single(name, "node", y));
            Assert.Equal(1, scrape.Single(name, "node", w));
            Assert.Null(scrape.Single(name, "node", z));
        }

        Assert.Equal(100 * BytesPerMb, scrape.Single("hpc_node_memory_usage_bytes", "node", x));
        Assert.Equal(300 * BytesPerMb, scrape.Single("hpc_node_memory_usage_bytes", "node", y));
        Assert.Equal(1 * BytesPerMb, scrape.Single("hpc_node_memory_usage_bytes", "node", w));
        Assert.Equal(10, scrape.Single("hpc_node_cpu_usage_percent", "node", x));
        Assert.Equal(20, scrape.Single("hpc_node_cpu_usage_percent", "node", y));
        Assert.Equal(40, scrape.Single("hpc_node_cpu_usage_percent", "node", w));
        Assert.Equal(50, scrape.Single("hpc_node_gpu_usage_percent", "node", x));
        Assert.Null(scrape.Single("hpc_node_gpu_usage_percent", "node", w));
        Assert.DoesNotContain(scrape.Series, s => s.Name.StartsWith("hpc_node_", StringComparison.Ordinal) && s.Label("node") == z);
        foreach (var series in scrape.Series.Where(s => s.Name.StartsWith("hpc_node_", StringComparison.Ordinal) && s.Label("node") == y))
        {
            Assert.Equal(new[] { "node" }, series.Labels.Keys);
        }
    }

    [SkippableFact]
    public async Task StateCounts_ExportEveryStateAsGauge_MatchingTheStoredJobs()
    {
        await CreateJobAsync(NewName("job"), NewName("user"), [NewName("node")], state: "pending");

        var stored = await StoredCountsAsync();
        var scrape = await ScrapeUntilAsync(s => SameCounts(s, stored));

        AssertCounts(scrape, stored);
        Assert.Equal("gauge", scrape.Types["hpc_job_state_total"]);
        Assert.Equal("gauge", scrape.Types["hpc_jobs"]);
    }

    [SkippableFact]
    public async Task StateCounts_FollowCreateTransitionAndDelete()
    {
        var baseline = await StoredCountsAsync();
        var start = await ScrapeUntilAsync(s => SameCounts(s, baseline));
        AssertCounts(start, baseline);
        var createdBefore = start.Single("hpc_job_total");
        Assert.NotNull(createdBefore);

        var user = NewName("user");
        var (a, b, c, d, e) = (NewName("job"), NewName("job"), NewName("job"), NewName("job"), NewName("job"));
        await CreateJobAsync(a, user, ["n"]);
        await CreateJobAsync(b, user, ["n"]);
        await CreateJobAsync(c, user, ["n"], state: "pending");
        await CreateJobAsync(d, user, ["n"]);
        await CreateJobAsync(e, user, ["n"], state: "pending");
        await PatchAsync(a, new { state = "completed" });
        await PatchAsync(b, new { state = "failed" });
        await PatchAsync(c, new { state = "cancelled" });
        var expected = Add(baseline, ("running", 1), ("pending", 1), ("completed", 1), ("failed", 1), ("cancelled", 1));

        var changed = await ScrapeUntilAsync(s => SameCounts(s, expected) && s.Single("hpc_job_total") == createdBefore + 5);
        AssertCounts(changed, expected);
        Assert.Equal(createdBefore + 5, changed.Single("hpc_job_total"));

        foreach (var id in new[] { a, d, e })
        {
            using var deleted = await Client.DeleteAsync(JobPath(id));
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        var afterDelete = Add(expected, ("completed", -1), ("running", -1), ("pending", -1));
        var final = await ScrapeUntilAsync(s => SameCounts(s, afterDelete));
        AssertCounts(final, afterDelete);
        Assert.Equal(afterDelete, await StoredCountsAsync());

        // A counter: deletes do not take jobs back from "ever created".
        Assert.Equal(createdBefore + 5, final.Single("hpc_job_total"));
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.Equal(createdBefore + 5, (await ScrapeAsync()).Single("hpc_job_total"));
    }

    [SkippableFact]
    public async Task JobTotal_IsAnUnlabelledCounter_AtLeastTheJobsStored()
    {
        await CreateJobAsync(NewName("job"), NewName("user"), ["n"]);
        var stored = await StoredCountsAsync();

        var scrape = await ScrapeUntilAsync(s => SameCounts(s, stored));

        Assert.Equal("counter", scrape.Types["hpc_job_total"]);
        var total = Assert.Single(scrape.Named("hpc_job_total"));
        Assert.Empty(total.Labels);
        Assert.True(total.Value >= stored.Values.Sum(), $"hpc_job_total {total.Value} < {stored.Values.Sum()} jobs stored");
    }

    [SkippableFact]
    public async Task Scrape_IssuesNoDatabaseOperations()
    {
        var user = NewName("user");
        var running = NewName("job");
        await CreateJobAsync(running, user, [NewName("node")]);
        await PostSampleAsync(running, cpu: 10, memoryMb: 20, gpu: 30);
        await CreateJobAsync(NewName("job"), user, ["n"], state: "pending");
        var completed = NewName("job");
        await CreateJobAsync(completed, user, ["n"]);
        await PatchAsync(completed, new { state = "completed" });

        var metrics = service.Services.GetRequiredService<WriterMetrics>();
        var before = await ScrapeAsync();
        Assert.NotEmpty(before.ForJob("hpc_job_cpu_usage_percent", running));

        // Each window spans the 2 s count cache, so the count refresh is measured too. The service's
        // own background work (the retention pass, ~10 s after start) may land in one window, not three.
        var windows = new List<long>();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var operations = metrics.Operations;
            for (var i = 0; i < 5; i++)
            {
                await ScrapeAsync();
                await Task.Delay(TimeSpan.FromMilliseconds(600));
            }

            windows.Add(metrics.Operations - operations);
            if (windows[^1] == 0)
            {
                break;
            }
        }

        Assert.True(windows[^1] == 0, $"5 scrapes started database operations in every window: {string.Join(", ", windows)}");
    }

    [SkippableFact]
    public async Task StorageMetrics_CountCommitsAndRetention_AsHistogramsAndCounterWithUnitsInTheirNames()
    {
        var before = await ScrapeAsync();
        Assert.Equal("histogram", before.Types.GetValueOrDefault("hpc_storage_commit_duration_seconds"));
        Assert.Equal("histogram", before.Types.GetValueOrDefault("hpc_storage_commit_batch_size"));
        Assert.Equal("counter", before.Types.GetValueOrDefault("hpc_retention_deleted_samples_total"));
        Assert.Equal("counter", before.Types.GetValueOrDefault("hpc_storage_operations_total"));
        Assert.Equal("counter", before.Types.GetValueOrDefault("hpc_storage_syncs_total"));

        // A sample older than the 7-day window (written to the log directly: the API refuses it);
        // a retention pass (ours below, or the service's own) deletes it.
        var id = NewName("job");
        await CreateJobAsync(id, NewName("user"), [NewName("node")]);
        var sampleLog = service.Services.GetRequiredService<ISampleLog>();
        await sampleLog.AppendAsync(
            id,
            [new UsageSample(MicrosecondTime.Truncate(DateTimeOffset.UtcNow.AddDays(-30)), 1, 2, null)],
            await StoredJobs.UsageAsync(service.Services, id));

        for (var i = 0; i < 3; i++)
        {
            await PostSampleAsync(id, cpu: i, memoryMb: i);
        }

        await sampleLog.DeleteOlderThanAsync(DateTimeOffset.UtcNow.AddDays(-7), 5000, CancellationToken.None);

        var after = await ScrapeAsync();
        foreach (var histogram in new[] { "hpc_storage_commit_duration_seconds", "hpc_storage_commit_batch_size" })
        {
            var count = after.Single(histogram + "_count") ?? 0;
            Assert.True(count >= (before.Single(histogram + "_count") ?? 0) + 4, $"{histogram}_count went from {before.Single(histogram + "_count")} to {count} over 4 commits at least");
            var buckets = after.Named(histogram + "_bucket").ToDictionary(b => b.Label("le"), b => b.Value, StringComparer.Ordinal);
            Assert.Equal(count, buckets["+Inf"]);
            Assert.True(after.Single(histogram + "_sum") > 0, $"{histogram}_sum is not positive");
        }

        // Buckets resolve commits from 0.1 ms to 10 s and batches from 1 to 100,000 writes.
        var durationBounds = after.Named("hpc_storage_commit_duration_seconds_bucket").Select(b => b.Label("le")).ToList();
        Assert.Contains("0.0001", durationBounds);
        Assert.Contains("10", durationBounds);
        var batchBounds = after.Named("hpc_storage_commit_batch_size_bucket").Select(b => b.Label("le")).ToList();
        Assert.Contains("1", batchBounds);
        Assert.Contains("100000", batchBounds);

        var deleted = after.Single("hpc_retention_deleted_samples_total") ?? 0;
        Assert.True(deleted >= (before.Single("hpc_retention_deleted_samples_total") ?? 0) + 1, $"hpc_retention_deleted_samples_total went from {before.Single("hpc_retention_deleted_samples_total")} to {deleted}");
        Assert.True(after.Single("hpc_storage_operations_total") > 0, "hpc_storage_operations_total is 0 after writes");

        // Both backends pipeline the commit by default (SQLite at SQLITE_SYNCHRONOUS=full): each of the
        // sequential writes above was acknowledged after a sync of its own.
        var syncs = after.Single("hpc_storage_syncs_total") ?? 0;
        Assert.True(syncs >= (before.Single("hpc_storage_syncs_total") ?? 0) + 4, $"hpc_storage_syncs_total went from {before.Single("hpc_storage_syncs_total")} to {syncs} over 4 acknowledged writes");
    }

    private static string NewName(string kind) => kind + "-" + Guid.NewGuid().ToString("N");

    private static string JobPath(string id) => "/v1/jobs/" + Uri.EscapeDataString(id);

    private static string Wire(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'", CultureInfo.InvariantCulture);

    private static StringContent Json(object body) =>
        new(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");

    private static void AssertLabels(MetricSeries series, params (string Name, string Value)[] expected)
    {
        var actual = series.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => (l.Key, l.Value)).ToList();
        var wanted = expected.OrderBy(l => l.Name, StringComparer.Ordinal).Select(l => (l.Name, l.Value)).ToList();
        Assert.True(wanted.SequenceEqual(actual), $"{series}: expected labels {string.Join(", ", wanted.Select(l => $"{l.Item1}={MetricsExposition.Escape(l.Item2)}"))}");
    }

    private async Task CreateJobAsync(string id, string user, string[] nodes, string state = "running", DateTimeOffset? startTime = null)
    {
        object body = startTime is { } start
            ? new { id, user, nodes, state, start_time = Wire(start) }
            : new { id, user, nodes, state };
        using var response = await Client.PostAsync("/v1/jobs", Json(body));
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"create {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private async Task PostSampleAsync(string id, double cpu, long memoryMb, double? gpu = null)
    {
        object body = gpu is { } g
            ? new { cpu_usage = cpu, memory_usage_mb = memoryMb, gpu_usage = g }
            : new { cpu_usage = cpu, memory_usage_mb = memoryMb };
        using var response = await Client.PostAsync(JobPath(id) + "/metrics", Json(body));
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"sample {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private async Task<JsonElement> PatchAsync(string id, object body)
    {
        using var response = await Client.PatchAsync(JobPath(id), Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"patch {id}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<MetricsExposition> ScrapeAsync()
    {
        using var response = await Client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"/metrics answered {(int)response.StatusCode}: {text}");
        return MetricsExposition.Parse(text);
    }

    /// <summary>Scrapes until <paramref name="done"/> holds or the counts' timeout passes; returns the last scrape either way.</summary>
    private async Task<MetricsExposition> ScrapeUntilAsync(Func<MetricsExposition, bool> done)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var scrape = await ScrapeAsync();
            if (done(scrape) || watch.Elapsed > _countsTimeout)
            {
                return scrape;
            }

            await Task.Delay(200);
        }
    }

    /// <summary>Per state, the jobs stored, as GET /v1/jobs counts them.</summary>
    private async Task<Dictionary<string, double>> StoredCountsAsync()
    {
        var counts = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var state in _states)
        {
            using var response = await Client.GetAsync($"/v1/jobs?state={state}&limit=1");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            counts[state] = body.RootElement.GetProperty("total").GetInt64();
        }

        return counts;
    }

    private static Dictionary<string, double> Add(Dictionary<string, double> counts, params (string State, int Delta)[] deltas)
    {
        var result = new Dictionary<string, double>(counts, StringComparer.Ordinal);
        foreach (var (state, delta) in deltas)
        {
            result[state] += delta;
        }

        return result;
    }

    private static bool SameCounts(MetricsExposition scrape, Dictionary<string, double> expected) =>
        new[] { "hpc_job_state_total", "hpc_jobs" }.All(name =>
        {
            var actual = scrape.Named(name).ToList();
            return actual.Count == _states.Length && actual.All(s => s.Labels.Count == 1
                && s.Labels.TryGetValue("state", out var state) && expected.TryGetValue(state, out var value) && s.Value == value);
        });

    private static void AssertCounts(MetricsExposition scrape, Dictionary<string, double> expected)
    {
        foreach (var name in new[] { "hpc_job_state_total", "hpc_jobs" })
        {
            var series = scrape.Named(name).ToList();
            Assert.All(series, s => Assert.Equal(new[] { "state" }, s.Labels.Keys));
            var actual = series.ToDictionary(s => s.Label("state"), s => s.Value, StringComparer.Ordinal);
            Assert.True(
                series.Count == _states.Length && _states.All(s => actual.TryGetValue(s, out var v) && v == expected[s]),
                $"{name}: expected {Show(expected)}, exported {string.Join(", ", series)}");
        }
    }

    private static string Show(Dictionary<string, double> counts) =>
        string.Join(", ", _states.Select(s => $"{s}={counts[s].ToString(CultureInfo.InvariantCulture)}"));
}

public sealed class SqliteMetricsExportTests(ServiceFixture<SqliteBackend> service) : MetricsExportTests<SqliteBackend>(service);

public sealed class PostgresMetricsExportTests(ServiceFixture<PostgresBackend> service) : MetricsExportTests<PostgresBackend>(service);

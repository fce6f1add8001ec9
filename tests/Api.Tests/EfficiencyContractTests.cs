using System.Globalization;
using System.Net;
using System.Text.Json;
using HpcJobs.Api.Tests.Infrastructure;
using static HpcJobs.Api.Tests.Infrastructure.SampleCalls;

namespace HpcJobs.Api.Tests;

/// <summary>
/// The efficiency summary and flags through the API, on each backend: exact figures for known
/// samples on a multi-node job, the flags in the body and in <c>?flag=</c> lists with exact totals,
/// a silo restart in the middle (the summary goes on from the row), a requeue (the earlier attempt
/// keeps its summary, the new one starts empty) and no_data from the clock.
/// </summary>
public abstract class EfficiencyContractTests<TBackend>
    where TBackend : IBackend, new()
{
    private static readonly JsonSerializerOptions Json = new();

    private static string Started(string id, DateTimeOffset start, string nodes, int gpus, int restarts = 0) =>
        $$"""{"job_id":"{{id}}","user":"eff","node_list":"{{nodes}}","timestamp":"{{Wire(start)}}","cpu_allocation":8,"memory_allocation_mb":10000,"gpu_allocation":{{gpus}},"restart_count":{{restarts}}}""";

    /// <summary>One batch: every 30 s from <paramref name="from"/> for <paramref name="count"/> readings, per node.</summary>
    private static string Readings(string id, DateTimeOffset from, int count, params (string Node, double Cpu, long Memory, double? Gpu)[] nodes) =>
        Batch([.. Enumerable.Range(0, count).SelectMany(i => nodes.Select(n => JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["job_id"] = id,
            ["node"] = n.Node,
            ["timestamp"] = Wire(from.AddSeconds(30 * i)),
            ["cpu_usage"] = n.Cpu,
            ["memory_usage_mb"] = n.Memory,
            ["gpu_usage"] = n.Gpu,
        }, Json)))]);

    private static async Task PostEventAsync(HttpClient client, string route, string body)
    {
        using var response = await client.PostJsonAsync("/v1/events/" + route, body);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{route}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task<string[]> ListedAsync(HttpClient client, string query)
    {
        using var response = await client.GetAsync("/v1/jobs?" + query + "&limit=1000");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = await response.ReadJsonAsync();
        var ids = page.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetString()!).ToArray();
        Assert.Equal(ids.Length, page.GetProperty("total").GetInt32());
        return ids;
    }

    [SkippableFact]
    public async Task Summary_OfAKnownMultiNodeJob_IsExact_SurvivesARestart_AndTheFlagsAreListed()
    {
        await using var backend = new TBackend();
        var database = await backend.CreateDatabaseAsync();
        var id = "eff-" + Guid.NewGuid().ToString("N")[..8];
        var ended = "eff-" + Guid.NewGuid().ToString("N")[..8];
        var start = MicrosecondsOnly(Now().AddMinutes(-50));

        await using (var service = InProcessService.Start(database, "efficiency"))
        {
            await PostEventAsync(service.Client, "job-started", Started(id, start, "g[1-2]", gpus: 2));

            // 40 readings (20 minutes) per node: node 1 at 10 % CPU and 1 % GPU, node 2 at 30 % and 3 %.
            // Two batches: the second commits within the minute after the footprint was written with
            // the first, so the restart below must catch it up from the sample log.
            var (first, _, _) = await PostBatchAsync(service.Client, Readings(id, start, 20, ("g1", 10, 1000, 1), ("g2", 30, 1500, 3)));
            var (second, _, _) = await PostBatchAsync(service.Client, Readings(id, start.AddMinutes(10), 20, ("g1", 10, 1000, 1), ("g2", 30, 1500, 3)));
            Assert.Equal(80, first + second);
        }

        // A new silo on the same database: the summary goes on from the stored footprint.
        await using (var service = InProcessService.Start(database, "efficiency"))
        {
            var client = service.Client;
            var (accepted, _, _) = await PostBatchAsync(client, Readings(id, start.AddMinutes(20), 40, ("g1", 10, 1000, 1), ("g2", 30, 1500, 3)));
            Assert.Equal(80, accepted);
            var end = start.AddMinutes(40);
            await PostEventAsync(client, "job-finished", $$"""{"job_id":"{{id}}","timestamp":"{{Wire(end)}}","exit_code":0}""");

            var job = await GetJobAsync(client, id);
            Assert.Equal(160, job.GetProperty("sample_count").GetInt64());
            Assert.Equal(20, job.GetProperty("avg_cpu_usage").GetDouble(), 6);
            Assert.Equal(30, job.GetProperty("max_cpu_usage").GetDouble());
            Assert.Equal(2, job.GetProperty("avg_gpu_usage").GetDouble(), 6);
            Assert.Equal(2500, job.GetProperty("max_memory_usage_mb").GetInt64());
            Assert.Equal(start, ParseTime(job.GetProperty("first_sample_at")));
            Assert.Equal(start.AddSeconds(30 * 79), ParseTime(job.GetProperty("last_sample_at")));
            var summary = job.GetProperty("summary");
            Assert.Equal(8 * 40 / 60.0, summary.GetProperty("cpu_hours_allocated").GetDouble(), 3);
            Assert.Equal(0.2 * 8 * 40 / 60.0, summary.GetProperty("cpu_hours_used").GetDouble(), 3);
            Assert.Equal(2 * 40 / 60.0, summary.GetProperty("gpu_hours_allocated").GetDouble(), 3);
            Assert.Equal(0.02 * 2 * 40 / 60.0, summary.GetProperty("gpu_hours_used").GetDouble(), 3);
            Assert.Equal(25, summary.GetProperty("memory_peak_percent_of_allocation").GetDouble(), 6);
            Assert.Equal(1, summary.GetProperty("gpu_idle_fraction").GetDouble());
            Assert.Equal(1, summary.GetProperty("coverage").GetDouble(), 6);
            Assert.Equal(0, summary.GetProperty("oom_kills").GetInt64());
            Assert.Equal(["idle_gpu", "low_cpu"], job.GetProperty("flags").EnumerateArray().Select(f => f.GetString()!));

            // A job that ended before its footprint judged anything has no flags.
            await PostEventAsync(client, "job-started", Started(ended, start, "g3", gpus: 0));
            await PostEventAsync(client, "job-finished", $$"""{"job_id":"{{ended}}","timestamp":"{{Wire(start.AddMinutes(5))}}","exit_code":0}""");

            Assert.Contains(id, await ListedAsync(client, "flag=idle_gpu"));
            Assert.Contains(id, await ListedAsync(client, "flag=low_cpu&user=eff&state=completed"));
            Assert.DoesNotContain(id, await ListedAsync(client, "flag=near_memory_limit"));
            Assert.DoesNotContain(ended, await ListedAsync(client, "flag=low_cpu"));
            var listed = (await (await client.GetAsync("/v1/jobs?user=eff&limit=1000")).ReadJsonAsync())
                .GetProperty("jobs").EnumerateArray().Single(j => j.GetProperty("id").GetString() == id);
            Assert.Equal(summary.GetRawText(), listed.GetProperty("summary").GetRawText());
        }

        // Frozen at the end: a later read (another restart) gives the same figures.
        await using (var service = InProcessService.Start(database, "efficiency"))
        {
            var job = await GetJobAsync(service.Client, id);
            Assert.Equal(0.2 * 8 * 40 / 60.0, job.GetProperty("summary").GetProperty("cpu_hours_used").GetDouble(), 3);
            Assert.Equal(160, job.GetProperty("sample_count").GetInt64());
        }
    }

    [SkippableFact]
    public async Task TheListedSummary_OfAFinishedJob_CountsEverySample_WrittenWithItsEnd()
    {
        // The second batch changes no flag and comes within the minute after the first wrote the
        // footprint, so only the job's end writes the footprint that holds it.
        await using var backend = new TBackend();
        var database = await backend.CreateDatabaseAsync();
        await using var service = InProcessService.Start(database, "ended");
        var client = service.Client;
        var id = "end-" + Guid.NewGuid().ToString("N")[..8];
        var start = MicrosecondsOnly(Now().AddMinutes(-30));
        await PostEventAsync(client, "job-started", Started(id, start, "c1", gpus: 0));
        await PostBatchAsync(client, Readings(id, start, 10, ("c1", 10, 1000, null)));
        await PostBatchAsync(client, Readings(id, start.AddMinutes(5), 10, ("c1", 10, 1000, null)));
        await PostEventAsync(client, "job-finished", $$"""{"job_id":"{{id}}","timestamp":"{{Wire(start.AddMinutes(10))}}","exit_code":0}""");

        var listed = (await (await client.GetAsync("/v1/jobs?user=eff&state=completed&limit=1000")).ReadJsonAsync())
            .GetProperty("jobs").EnumerateArray().Single(j => j.GetProperty("id").GetString() == id);
        var job = await GetJobAsync(client, id);

        Assert.Equal(20, job.GetProperty("sample_count").GetInt64());
        Assert.Equal(20, listed.GetProperty("sample_count").GetInt64());
        Assert.Equal(job.GetProperty("summary").GetRawText(), listed.GetProperty("summary").GetRawText());
    }

    [SkippableFact]
    public async Task Requeue_KeepsTheEarlierAttemptsSummary_AndStartsTheNewOneEmpty()
    {
        await using var backend = new TBackend();
        var database = await backend.CreateDatabaseAsync();
        await using var service = InProcessService.Start(database, "requeue");
        var client = service.Client;
        var id = "rq-" + Guid.NewGuid().ToString("N")[..8];
        var start = MicrosecondsOnly(Now().AddMinutes(-90));
        await PostEventAsync(client, "job-started", Started(id, start, "c1", gpus: 0));
        await PostBatchAsync(client, Readings(id, start, 20, ("c1", 90, 9600, null)));
        await PostEventAsync(client, "job-finished", $$"""{"job_id":"{{id}}","timestamp":"{{Wire(start.AddMinutes(10))}}","exit_code":1,"raw_state":"NODE_FAIL"}""");
        await PostEventAsync(client, "job-started", Started(id, start.AddMinutes(20), "c1", gpus: 0, restarts: 1));

        var job = await GetJobAsync(client, id);
        Assert.Equal(0, job.GetProperty("sample_count").GetInt64());
        var earlier = Assert.Single(job.GetProperty("attempts").EnumerateArray());
        Assert.Equal(90, earlier.GetProperty("summary").GetProperty("cpu_hours_used").GetDouble() / (8 * 10 / 60.0) * 100, 3);
        Assert.Equal(["near_memory_limit"], earlier.GetProperty("flags").EnumerateArray().Select(f => f.GetString()!));

        await PostBatchAsync(client, Readings(id, start.AddMinutes(20), 4, ("c1", 50, 100, null)));
        job = await GetJobAsync(client, id);
        Assert.Equal(4, job.GetProperty("sample_count").GetInt64());
        Assert.Equal(50, job.GetProperty("avg_cpu_usage").GetDouble(), 6);
    }

    [SkippableFact]
    public async Task NoData_IsJudgedFromTheClock_InTheBodyAndTheList()
    {
        await using var backend = new TBackend();
        var database = await backend.CreateDatabaseAsync();
        await using var service = InProcessService.Start(database, "nodata");
        var client = service.Client;
        var (silent, reporting, young) = ("nd-" + Guid.NewGuid().ToString("N")[..8], "nd-" + Guid.NewGuid().ToString("N")[..8], "nd-" + Guid.NewGuid().ToString("N")[..8]);
        await PostEventAsync(client, "job-started", Started(silent, Now().AddMinutes(-30), "c1", gpus: 0));
        await PostEventAsync(client, "job-started", Started(reporting, Now().AddMinutes(-30), "c1", gpus: 0));
        await PostEventAsync(client, "job-started", Started(young, Now().AddMinutes(-5), "c1", gpus: 0));
        await PostBatchAsync(client, Readings(silent, Now().AddMinutes(-29), 2, ("c1", 50, 100, null)));
        await PostBatchAsync(client, Readings(reporting, Now().AddMinutes(-2), 2, ("c1", 50, 100, null)));

        var listed = await ListedAsync(client, "flag=no_data");
        Assert.Contains(silent, listed);
        Assert.DoesNotContain(reporting, listed);
        Assert.DoesNotContain(young, listed);
        Assert.Contains("no_data", (await GetJobAsync(client, silent)).GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        Assert.DoesNotContain("no_data", (await GetJobAsync(client, reporting)).GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
    }

    [SkippableFact]
    public async Task Metrics_CountRunningJobsPerFlag_AndIdleGpusPerUser()
    {
        await using var backend = new TBackend();
        var database = await backend.CreateDatabaseAsync();
        await using var service = InProcessService.Start(database, "waste");
        var client = service.Client;
        var user = "gpu-" + Guid.NewGuid().ToString("N")[..8];
        var start = Now().AddMinutes(-40);
        var (idle, busy) = ("w-" + Guid.NewGuid().ToString("N")[..8], "w-" + Guid.NewGuid().ToString("N")[..8]);
        foreach (var (id, gpu) in new[] { (idle, 1.0), (busy, 90.0) })
        {
            await PostEventAsync(client, "job-started", Started(id, start, "g1", gpus: 2).Replace("\"user\":\"eff\"", $"\"user\":\"{user}\"", StringComparison.Ordinal));
            await PostBatchAsync(client, Readings(id, start, 70, ("g1", 80, 5000, gpu)));
        }

        var metrics = MetricsExposition.Parse(await client.GetStringAsync("/metrics"));

        Assert.Equal(1, metrics.Single("hpc_jobs_flagged", "flag", "idle_gpu"));
        Assert.Equal(0, metrics.Single("hpc_jobs_flagged", "flag", "lost"));
        Assert.Equal(JobFlagCount, metrics.Named("hpc_jobs_flagged").Count());
        Assert.Equal(4, metrics.Single("hpc_user_gpus_allocated", "user", user));
        Assert.Equal(2, metrics.Single("hpc_user_gpus_idle", "user", user));
    }

    private const int JobFlagCount = 7;

    [SkippableFact]
    public async Task FlagFilter_RefusesAnUnknownFlag()
    {
        await using var backend = new TBackend();
        var database = await backend.CreateDatabaseAsync();
        await using var service = InProcessService.Start(database, "flagquery");
        using var response = await service.Client.GetAsync("/v1/jobs?flag=wasteful");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadJsonAsync()).GetProperty("details").TryGetProperty("flag", out _));
    }

    private static DateTimeOffset MicrosecondsOnly(DateTimeOffset time) =>
        DateTimeOffset.Parse(Wire(time), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
}

public sealed class SqliteEfficiencyContractTests : EfficiencyContractTests<SqliteBackend>;

public sealed class PostgresEfficiencyContractTests : EfficiencyContractTests<PostgresBackend>;

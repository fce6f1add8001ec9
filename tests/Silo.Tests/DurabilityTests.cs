using System.Net;
using System.Text.Json;

namespace HpcJobs.Silo.Tests;

/// <summary>Restart and crash of the real process, on each backend (derived classes below).</summary>
public abstract class DurabilityTests<TBackend>
    where TBackend : IBackend, new()
{
    private readonly TBackend _backend = new();

    /// <summary>A new database, and fixed ports: a restarted silo comes back at the same address, as in production.</summary>
    private async Task<IReadOnlyDictionary<string, string>> NewServiceAsync() =>
        new Dictionary<string, string>(await _backend.CreateDatabaseAsync())
        {
            ["PORT"] = FreePort.Next().ToString(),
            ["SILO_PORT"] = FreePort.Next().ToString(),
            ["GATEWAY_PORT"] = FreePort.Next().ToString(),
        };

    [SkippableFact]
    public async Task Restart_ServesWhatThePreviousProcessWrote()
    {
        var settings = await NewServiceAsync();
        var written = new Dictionary<string, JsonElement>();
        await using (var first = await ServiceProcess.StartAsync(settings))
        {
            await Ingest.CreateJobsAsync(first.Client, ["r-1", "r-2", "r-3"]);
            await first.Client.PostAsync("/v1/jobs", Ingest.Json("""{"id":"r-4","user":"bob","nodes":["a","b"],"state":"pending","scheduler":{"type":"slurm","partition":"gpu"}}"""));
            await first.Client.PostAsync("/v1/jobs/r-1/metrics", Ingest.Json("""{"cpu_usage":12.5,"memory_usage_mb":300,"gpu_usage":80}"""));
            await first.Client.PatchAsync("/v1/jobs/r-2", Ingest.Json("""{"state":"completed"}"""));
            await first.Client.DeleteAsync("/v1/jobs/r-3");
            foreach (var id in new[] { "r-1", "r-2", "r-4" })
            {
                written[id] = await GetJsonAsync(first.Client, $"/v1/jobs/{id}");
            }

            await first.TerminateAsync(TimeSpan.FromSeconds(30));
        }

        await using var second = await ServiceProcess.StartAsync(settings);
        foreach (var (id, before) in written)
        {
            var after = await GetJsonAsync(second.Client, $"/v1/jobs/{id}");
            foreach (var field in new[] { "user", "state", "start_time", "end_time", "cpu_usage", "memory_usage_mb", "gpu_usage", "nodes", "scheduler" })
            {
                Assert.Equal(Field(before, field), Field(after, field));
            }
        }

        using var deleted = await second.Client.GetAsync("/v1/jobs/r-3");
        Assert.Equal(HttpStatusCode.NotFound, deleted.StatusCode);
        Assert.Equal(3, (await GetJsonAsync(second.Client, "/v1/jobs")).GetProperty("total").GetInt32());
        Assert.Single((await GetJsonAsync(second.Client, "/v1/jobs/r-1/metrics")).GetProperty("samples").EnumerateArray());
    }

    [SkippableFact]
    public async Task Crash_LosesNoAcknowledgedSample()
    {
        var settings = await NewServiceAsync();
        var jobs = Enumerable.Range(0, 20).Select(i => $"c-{i}").ToList();
        var ingest = new Ingest();
        await using (var service = await ServiceProcess.StartAsync(settings))
        {
            await Ingest.CreateJobsAsync(service.Client, jobs);
            using var stop = new CancellationTokenSource();
            var load = ingest.RunAsync(_ => service.Client, jobs, writers: 48, stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(StressSettings.Seconds(3, 30)));
            await service.KillAsync();
            stop.Cancel();
            await load;
        }

        Assert.True(ingest.AcknowledgedCount > 100, $"only {ingest.AcknowledgedCount} samples acknowledged before the kill");
        await using var restarted = await ServiceProcess.StartAsync(settings);
        await ingest.AssertAllStoredAsync(restarted.Client);
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static string Field(JsonElement job, string name) =>
        job.TryGetProperty(name, out var value) ? value.GetRawText() : "(absent)";
}

public sealed class SqliteDurabilityTests : DurabilityTests<SqliteBackend>;

public sealed class PostgresDurabilityTests : DurabilityTests<PostgresBackend>;

using System.Diagnostics;
using System.Text.Json;

namespace HpcJobs.Silo.Tests;

public sealed class DemoTests
{
    private static async Task<JsonElement> GetAsync(HttpClient client, string url) =>
        JsonDocument.Parse(await client.GetStringAsync(url)).RootElement.Clone();

    private static async Task WaitForLogAsync(ServiceProcess service, string text)
    {
        var watch = Stopwatch.StartNew();
        while (!service.Output.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(90), $"no '{text}' in the log:\n{service.Output}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task SeedDemo_FillsEveryState_AndSecondRunAddsNothing()
    {
        var settings = new Dictionary<string, string>(await new SqliteBackend().CreateDatabaseAsync())
        {
            ["PORT"] = FreePort.Next().ToString(),
            ["SILO_PORT"] = FreePort.Next().ToString(),
            ["GATEWAY_PORT"] = FreePort.Next().ToString(),
            ["Logging__LogLevel__HpcJobs.Silo.Demo"] = "Information",
        };
        await using (var first = await ServiceProcess.StartAsync(settings, arguments: "--seed-demo"))
        {
            await WaitForLogAsync(first, "Demo data: created 300 jobs");
            var all = await GetAsync(first.Client, "/v1/jobs?limit=1000");
            Assert.Equal(300, all.GetProperty("total").GetInt32());
            foreach (var state in new[] { "pending", "running", "completed", "failed", "cancelled" })
            {
                Assert.True((await GetAsync(first.Client, $"/v1/jobs?state={state}&limit=1")).GetProperty("total").GetInt32() > 0, state);
            }

            var jobs = all.GetProperty("jobs").EnumerateArray().ToList();
            Assert.True(jobs.Select(j => j.GetProperty("user").GetString()).Distinct().Count() >= 20);
            Assert.True(jobs.SelectMany(j => j.GetProperty("nodes").EnumerateArray().Select(n => n.GetString())).Distinct().Count() >= 24);
            Assert.Contains(jobs, j => j.TryGetProperty("gpu_usage", out var gpu) && gpu.GetDouble() > 80);
            Assert.Contains(jobs, j => j.TryGetProperty("gpu_usage", out var gpu) && gpu.GetDouble() < 5);
            Assert.All(jobs, j => Assert.Equal("demo", j.GetProperty("cluster").GetString()));
            Assert.All(jobs, j => Assert.True(j.GetProperty("allocated_cpus").GetInt32() > 0));
            Assert.Contains(jobs, j => j.TryGetProperty("allocated_gpus", out var gpus) && gpus.GetInt32() > 0);
            Assert.True(jobs.Select(j => j.GetProperty("scheduler").GetProperty("account").GetString()).Distinct().Count() >= 5);
            Assert.True(jobs.Select(j => j.GetProperty("scheduler").GetProperty("partition").GetString()).Distinct().Count() >= 3);
            Assert.Contains(jobs, j => j.GetProperty("scheduler").TryGetProperty("raw_state", out var raw) && raw.GetString() == "OUT_OF_MEMORY");
            Assert.Contains(jobs, j => j.GetProperty("scheduler").TryGetProperty("signal", out var signal) && signal.GetInt32() == 15);
            foreach (var flag in new[] { "idle_gpu", "low_cpu", "memory_overallocated", "near_memory_limit", "oom_killed", "no_data", "lost" })
            {
                Assert.True((await GetAsync(first.Client, $"/v1/jobs?flag={flag}&limit=1")).GetProperty("total").GetInt32() > 0, flag);
            }

            var requeued = Assert.Single(jobs, j => j.GetProperty("attempt").GetInt32() == 2).GetProperty("id").GetString();
            Assert.Single((await GetAsync(first.Client, $"/v1/jobs/{requeued}")).GetProperty("attempts").EnumerateArray());
            Assert.Equal(
                ["created", "transition", "requeue"],
                (await GetAsync(first.Client, $"/v1/jobs/{requeued}/audit")).GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("change").GetString()));
            var running = jobs.First(j => j.GetProperty("state").GetString() == "running").GetProperty("id").GetString();
            Assert.True((await GetAsync(first.Client, $"/v1/jobs/{running}/metrics")).GetProperty("total").GetInt32() >= 3);
            await first.TerminateAsync(TimeSpan.FromSeconds(30));
        }

        await using var second = await ServiceProcess.StartAsync(settings, arguments: "--seed-demo");
        await WaitForLogAsync(second, "300 demo jobs were already present");
        Assert.Equal(300, (await GetAsync(second.Client, "/v1/jobs?limit=1")).GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task DemoCollector_KeepsMockJobsReporting()
    {
        var settings = new Dictionary<string, string>(await new SqliteBackend().CreateDatabaseAsync())
        {
            ["DEMO_COLLECTOR"] = "1",
            ["Logging__LogLevel__HpcJobs.Silo.Demo"] = "Information",
        };
        await using var service = await ServiceProcess.StartAsync(settings, arguments: "--seed-demo");
        await WaitForLogAsync(service, "Demo data: created 300 jobs");
        var running = (await GetAsync(service.Client, "/v1/jobs?state=running&limit=1")).GetProperty("jobs")[0].GetProperty("id").GetString();
        var before = (await GetAsync(service.Client, $"/v1/jobs/{running}/metrics?limit=10000")).GetProperty("total").GetInt32();

        await Task.Delay(TimeSpan.FromSeconds(12));

        var after = (await GetAsync(service.Client, $"/v1/jobs/{running}/metrics?limit=10000")).GetProperty("total").GetInt32();
        var job = await GetAsync(service.Client, $"/v1/jobs/{running}");
        Assert.True(after > before || job.GetProperty("state").GetString() != "running", $"no new samples: {before} -> {after}");
    }
}

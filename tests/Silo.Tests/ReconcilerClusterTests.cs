using System.Net;
using System.Text.Json;

namespace HpcJobs.Silo.Tests;

/// <summary>
/// The reconciler in a two-silo cluster on PostgreSQL: heartbeats through either silo feed one node
/// state, and when the silo running the reconciler is killed, the survivor takes the reconciler over
/// (its reminder) and ends the lost jobs, and only those.
/// </summary>
public sealed class ReconcilerClusterTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(150);

    [SkippableFact]
    public async Task TwoSilos_LostJobsEndedBySurvivor_AfterTheReconcilersSiloIsKilled_ListedJobsKeepRunning()
    {
        var settings = new Dictionary<string, string>(await new PostgresBackend().CreateDatabaseAsync())
        {
            ["CLUSTER_ID"] = "r" + Guid.NewGuid().ToString("N")[..8],
            ["RECONCILE_AFTER_SECONDS"] = "3",
            ["RECONCILE_INTERVAL_SECONDS"] = "1",
            ["SAMPLE_INTERVAL_SECONDS"] = "2",
        };
        // The first silo activates the reconciler at its start, before the second joins: killing it kills
        // the reconciler's activation, which the reminder must bring back on the survivor.
        await using var victim = await ServiceProcess.StartAsync(settings);
        await using var survivor = await ServiceProcess.StartAsync(settings);
        string[] nodes = ["rn-1", "rn-2", "rn-3"];
        var start = DateTimeOffset.UtcNow.AddMinutes(-10).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        foreach (var node in nodes)
        {
            foreach (var kind in new[] { "kept", "lost" })
            {
                using var created = await survivor.Client.PostAsync("/v1/jobs", Json($$"""{"id":"{{kind}}-{{node}}","user":"u","nodes":["{{node}}"],"start_time":"{{start}}"}"""));
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            }
        }

        // Every job listed, through both silos in turn; then the victim dies and the lost ones are listed no more.
        await BeatAsync([survivor, victim], nodes, lostListed: true, TimeSpan.FromSeconds(2));
        await victim.KillAsync();
        using var stop = new CancellationTokenSource();
        var beating = BeatUntilStoppedAsync(survivor, nodes, stop.Token);
        var deadline = DateTimeOffset.UtcNow + Patience;
        try
        {
            while (true)
            {
                // While the cluster has not yet declared the victim dead, a job whose activation was there answers 503.
                var states = new Dictionary<string, string>();
                foreach (var node in nodes)
                {
                    foreach (var kind in new[] { "kept", "lost" })
                    {
                        states[$"{kind}-{node}"] = (await JobAsync(survivor, $"{kind}-{node}", retryable: true))?.GetProperty("state").GetString() ?? "503";
                    }
                }

                Assert.All(nodes, node => Assert.Contains(states[$"kept-{node}"], new[] { "running", "503" }));
                if (nodes.All(node => states[$"lost-{node}"] == "failed"))
                {
                    break;
                }

                Assert.True(DateTimeOffset.UtcNow < deadline, $"after {Patience.TotalSeconds} s: {string.Join(", ", states)}\n{survivor.Output}");
                await Task.Delay(500);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await beating;
        }

        foreach (var node in nodes)
        {
            var job = (await JobAsync(survivor, $"lost-{node}"))!.Value;
            Assert.Equal("LOST", job.GetProperty("scheduler").GetProperty("raw_state").GetString());
        }

        // A job whose activation died with the killed silo may answer 503 until the cluster has moved it.
        foreach (var node in nodes)
        {
            var settle = DateTimeOffset.UtcNow + Patience;
            JsonElement? kept;
            while ((kept = await JobAsync(survivor, $"kept-{node}", retryable: true)) is null && DateTimeOffset.UtcNow < settle)
            {
                await Task.Delay(500);
            }

            Assert.Equal("running", (kept ?? await JobAsync(survivor, $"kept-{node}"))!.Value.GetProperty("state").GetString());
        }
    }

    private static async Task BeatAsync(ServiceProcess[] silos, string[] nodes, bool lostListed, TimeSpan duration)
    {
        var until = DateTimeOffset.UtcNow + duration;
        for (var i = 0; DateTimeOffset.UtcNow < until; i++)
        {
            foreach (var node in nodes)
            {
                await HeartbeatAsync(silos[i % silos.Length], node, lostListed);
            }

            await Task.Delay(300);
        }
    }

    private static async Task BeatUntilStoppedAsync(ServiceProcess silo, string[] nodes, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            foreach (var node in nodes)
            {
                // A heartbeat may fail while the cluster notices the dead silo; the next one counts.
                try
                {
                    await HeartbeatAsync(silo, node, lostListed: false);
                }
                catch (Xunit.Sdk.XunitException)
                {
                }
            }

            try
            {
                await Task.Delay(300, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task HeartbeatAsync(ServiceProcess silo, string node, bool lostListed)
    {
        var jobs = lostListed ? $"\"kept-{node}\",\"lost-{node}\"" : $"\"kept-{node}\"";
        using var response = await silo.Client.PostAsync($"/v1/nodes/{node}/heartbeat", Json($$"""{"jobs":[{{jobs}}]}"""));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"heartbeat {node}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>The job; with <paramref name="retryable"/>, null for a 503 (the contract's "retry later").</summary>
    private static async Task<JsonElement?> JobAsync(ServiceProcess silo, string id, bool retryable = false)
    {
        using var response = await silo.Client.GetAsync($"/v1/jobs/{id}");
        var body = await response.Content.ReadAsStringAsync();
        if (retryable && response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            return null;
        }

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {id}: {(int)response.StatusCode} {body}\n{silo.Output}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}

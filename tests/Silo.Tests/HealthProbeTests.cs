using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace HpcJobs.Silo.Tests;

/// <summary>Readiness follows storage, liveness does not: PostgreSQL stopped under a running silo.</summary>
[Collection(PostgresOutageCollection.Name)]
public sealed class HealthProbeTests
{
    [SkippableFact]
    public async Task Ready_Answers503WhileLiveStays200_WhenPostgresIsStopped()
    {
        var settings = await Resilience.NewSettingsAsync(new PostgresBackend());
        var server = (await PostgresServer.GetAsync())!;
        await using var service = await ServiceProcess.StartAsync(settings);
        Assert.Equal(("healthy", HttpStatusCode.OK), await ProbeAsync(service.Client, "/v1/health/ready"));

        server.Stop("fast");
        try
        {
            var deadline = Stopwatch.StartNew();
            while (await ProbeAsync(service.Client, "/v1/health/ready") != ("unhealthy", HttpStatusCode.ServiceUnavailable))
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), "/v1/health/ready still not 503 15 s after PostgreSQL stopped");
                await Task.Delay(200);
            }

            var live = Stopwatch.StartNew();
            Assert.Equal(("healthy", HttpStatusCode.OK), await ProbeAsync(service.Client, "/v1/health/live"));
            Assert.True(live.Elapsed < TimeSpan.FromSeconds(1), $"/v1/health/live took {live.Elapsed.TotalMilliseconds:F0} ms with storage down");
        }
        finally
        {
            server.Start();
        }

        var back = Stopwatch.StartNew();
        while (await ProbeAsync(service.Client, "/v1/health/ready") != ("healthy", HttpStatusCode.OK))
        {
            Assert.True(back.Elapsed < TimeSpan.FromSeconds(30), "/v1/health/ready not 200 within 30 s of PostgreSQL coming back");
            await Task.Delay(200);
        }
    }

    private static async Task<(string? Status, HttpStatusCode Code)> ProbeAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (body.RootElement.GetProperty("status").GetString(), response.StatusCode);
    }
}

using System.Diagnostics;
using System.Net;
using System.Text.Json;
using HpcJobs.Api.Tests.Infrastructure;
using HpcJobs.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace HpcJobs.Api.Tests;

/// <summary>
/// Stale activations (STALE_JOB_HOURS, default twice the time limit, else 7 days): the service on a
/// fake clock that drives the grains and their timers, while Orleans' own loops (messaging timeouts,
/// membership, directory, collection) keep real time.
/// </summary>
public sealed class StaleJobTests : IAsyncLifetime
{
    private readonly SqliteBackend _backend = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private InProcessService _service = null!;

    private HttpClient Client => _service.Client;

    public async Task InitializeAsync()
    {
        _service = InProcessService.Start(await _backend.CreateDatabaseAsync(), "stale", services: services =>
        {
            services.AddSingleton<TimeProvider>(_time);
            foreach (var area in new[]
                     {
                         TimeProviderNames.Messaging, TimeProviderNames.SystemTimers, TimeProviderNames.Membership,
                         TimeProviderNames.ActivationManagement, TimeProviderNames.GrainDirectory,
                     })
            {
                services.AddKeyedSingleton(area, TimeProvider.System);
            }
        });
        using var health = await Client.GetAsync("/v1/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        await _backend.DisposeAsync();
    }

    [Fact]
    public async Task Job_WithoutActivityPastItsLimit_Deactivated_SeriesGone_StateKept_BackOnRequest_WhileABusyJobStays()
    {
        var status = _service.Services.GetRequiredService<IActivationStatus>();
        var staleBefore = status.StaleDeactivations;
        await CreateJobAsync("stale-idle");
        await CreateJobAsync("stale-busy");
        await StartJobAsync("stale-limited", timeLimitMinutes: 60);
        await ScrapeUntilAsync(s => Exported(s, "stale-idle") && Exported(s, "stale-busy") && Exported(s, "stale-limited"), "all three exported at first");

        // Twice its 60-minute time limit without a sample, an event or a request.
        _time.Advance(TimeSpan.FromHours(3));
        var scrape = await ScrapeUntilAsync(s => !Exported(s, "stale-limited"), "the time-limited job gone after 3 h");
        Assert.True(Exported(scrape, "stale-idle") && Exported(scrape, "stale-busy"), "jobs without a time limit stay for 7 days");
        Assert.Equal(staleBefore + 1, status.StaleDeactivations);
        Assert.Equal<double?>(staleBefore + 1, scrape.Single("hpc_stale_deactivations_total"));
        Assert.Equal("running", await StateAsync("stale-limited"));
        await ScrapeUntilAsync(s => Exported(s, "stale-limited"), "the GET brought the time-limited job back");

        // A sample half-way keeps the busy job; the idle one passes 7 days.
        _time.Advance(TimeSpan.FromDays(4));
        await PostSampleAsync("stale-busy");
        _time.Advance(TimeSpan.FromDays(3.5));
        scrape = await ScrapeUntilAsync(s => !Exported(s, "stale-idle") && !Exported(s, "stale-limited"), "the idle job gone after 7.5 days");
        Assert.True(Exported(scrape, "stale-busy"), "the job with a sample 3.5 days ago was deactivated");
        Assert.Equal(staleBefore + 3, status.StaleDeactivations);

        // A pass (what a departure or a cluster start runs) leaves the stale jobs alone: the row has no activity either.
        var activator = _service.Services.GetRequiredService<ActiveJobActivator>();
        var calls = status.ReactivationCalls;
        await activator.RunAsync(CancellationToken.None);
        Assert.Equal(calls + 1, status.ReactivationCalls);
        Assert.Equal(new { Jobs = 1, Stale = 2 }, new { status.LastCompleted!.Jobs, status.LastCompleted.Stale });
        scrape = await ScrapeAsync();
        Assert.False(Exported(scrape, "stale-idle") || Exported(scrape, "stale-limited"), "the pass re-activated a stale job");

        Assert.Equal("running", await StateAsync("stale-idle"));
        await ScrapeUntilAsync(s => Exported(s, "stale-idle") && Exported(s, "stale-busy"), "the GET brought the idle job back");
    }

    private static bool Exported(MetricsExposition scrape, string id) => scrape.ForJob("hpc_job_runtime_seconds", id).Count == 1;

    private async Task<MetricsExposition> ScrapeAsync()
    {
        using var response = await Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return MetricsExposition.Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>Deactivation runs after the timer's turn; give it a few real seconds.</summary>
    private async Task<MetricsExposition> ScrapeUntilAsync(Func<MetricsExposition, bool> done, string what)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var scrape = await ScrapeAsync();
            if (done(scrape))
            {
                return scrape;
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"not within 15 s: {what}\n{scrape.Text}");
            await Task.Delay(100);
        }
    }

    private async Task CreateJobAsync(string id)
    {
        using var response = await Client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{id}}","user":"u","nodes":["stale-n"]}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private async Task StartJobAsync(string id, int timeLimitMinutes)
    {
        using var response = await Client.PostJsonAsync(
            "/v1/events/job-started", $$"""{"job_id":"{{id}}","user":"u","node_list":["stale-n"],"time_limit_minutes":{{timeLimitMinutes}}}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task PostSampleAsync(string id)
    {
        using var response = await Client.PostJsonAsync($"/v1/jobs/{id}/metrics", """{"cpu_usage":50,"memory_usage_mb":10}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private async Task<string?> StateAsync(string id)
    {
        using var response = await Client.GetAsync($"/v1/jobs/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("state").GetString();
    }
}

namespace HpcJobs.Silo;

/// <summary>
/// <c>HpcJobs.Silo --health-check [live|ready]</c>: asks the local service's
/// <c>/v1/health/live</c> (the default) or <c>/v1/health/ready</c> and exits 0 on 200, 1
/// otherwise. The container image's HEALTHCHECK uses <c>live</c>, because what acts on it
/// (Swarm, autoheal, Kubernetes' exec probes) restarts the container, and a restart mends a hung
/// process but not a database outage; the compose file asks <c>ready</c>, so that the load
/// balancer starts only once a silo can serve (the runtime image has no curl). It runs before the
/// service is registered: it needs only the port, and runs every 15 s in the image.
/// </summary>
public static class HealthCheckCommand
{
    public const string Flag = "--health-check";

    public static async Task<int> RunAsync(IConfiguration configuration, string[] args)
    {
        var http = new HttpEndpointOptions();
        HttpEndpointOptions.Bind(http, configuration);
        var at = Array.IndexOf(args, Flag);
        var probe = at + 1 < args.Length && !args[at + 1].StartsWith('-') ? args[at + 1] : "live";
        if (probe is not ("live" or "ready"))
        {
            Console.Error.WriteLine($"{Flag} takes 'live' or 'ready', not '{probe}'");
            return 2;
        }

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(4) };
        try
        {
            using var response = await client.GetAsync(new Uri($"http://127.0.0.1:{http.Port}/v1/health/{probe}"));
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"unhealthy: {e.Message}");
            return 1;
        }
    }
}

namespace HpcJobs.Silo;

/// <summary>
/// <c>HpcJobs.Silo --health-check</c>: asks the local service's <c>/v1/health</c> and exits 0 when
/// healthy, 1 otherwise. The container image's HEALTHCHECK uses it (the runtime image has no curl).
/// </summary>
public static class HealthCheckCommand
{
    public const string Flag = "--health-check";

    public static async Task<int> RunAsync(ServiceSettings settings)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(4) };
        try
        {
            using var response = await client.GetAsync(new Uri($"http://127.0.0.1:{settings.Port}/v1/health"));
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"unhealthy: {e.Message}");
            return 1;
        }
    }
}

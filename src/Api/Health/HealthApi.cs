using System.Reflection;
using HpcJobs.Api.Contracts;
using HpcJobs.Grains.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace HpcJobs.Api.Health;

public static class HealthApi
{
    private static readonly string Version =
        Assembly.GetEntryAssembly()?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "unknown";

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        // Probes carry no credentials; the fallback policy also leaves /v1/health/* open for routes mapped elsewhere.
        app.MapGet("/v1/health", GetHealth).AllowAnonymous();
        return app;
    }

    public static async Task<JsonHttpResult<HealthResponse>> GetHealth(
        IDatabaseProbe database, TimeProvider time, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        StorageHealth health;
        try
        {
            health = await database.CheckAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            health = StorageHealth.Unreachable;
        }

        var (status, code) = health switch
        {
            StorageHealth.Healthy => ("healthy", 200),
            StorageHealth.Degraded => ("degraded", 200),
            _ => ("unhealthy", 503),
        };
        return TypedResults.Json(new HealthResponse(status, time.GetUtcNow(), Version), Json.ApiJson.Wire.HealthResponse, statusCode: code);
    }
}

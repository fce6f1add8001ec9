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
        app.MapGet("/v1/health", GetHealth);
        return app;
    }

    public static async Task<JsonHttpResult<HealthResponse>> GetHealth(
        IDatabaseProbe database, TimeProvider time, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        bool reachable;
        try
        {
            reachable = await database.IsReachableAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            reachable = false;
        }

        return TypedResults.Json(
            new HealthResponse(reachable ? "healthy" : "unhealthy", time.GetUtcNow(), Version),
            Json.ApiJson.Wire.HealthResponse,
            statusCode: reachable ? 200 : 503);
    }
}

using System.Reflection;
using HpcJobs.Api.Contracts;
using HpcJobs.Grains.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace HpcJobs.Api.Health;

/// <summary>
/// The three probes, on ASP.NET Core's health checks:
/// <list type="bullet">
/// <item><c>/v1/health/live</c> runs no check: it answers whenever the process can serve HTTP. A
/// liveness probe restarts the container when it fails, and a restart cannot mend a database
/// outage; checking storage there would turn one outage into restarts of every silo.</item>
/// <item><c>/v1/health/ready</c>: storage reachable and this silo Active in its cluster — what a
/// load balancer or a compose dependency should wait for.</item>
/// <item><c>/v1/health</c>: storage only, as it always was.</item>
/// </list>
/// All three are anonymous whatever access control the other routes have.
/// </summary>
public static class HealthApi
{
    private const string StorageTag = "storage";
    private const string ReadyTag = "ready";

    private static readonly string Version =
        Assembly.GetEntryAssembly()?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "unknown";

    public static IServiceCollection AddHealthProbes(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<StorageHealthCheck>("storage", tags: [StorageTag, ReadyTag])
            .AddCheck<SiloActiveHealthCheck>("silo", tags: [ReadyTag]);
        return services;
    }

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        Map(app, "/v1/health", check => check.Tags.Contains(StorageTag));
        Map(app, "/v1/health/live", _ => false);
        Map(app, "/v1/health/ready", check => check.Tags.Contains(ReadyTag));
        return app;
    }

    private static void Map(IEndpointRouteBuilder app, string pattern, Func<HealthCheckRegistration, bool> predicate) =>
        app.MapHealthChecks(pattern, new HealthCheckOptions { Predicate = predicate, ResponseWriter = WriteAsync })
            .WithMetadata(new HttpMethodMetadata([HttpMethods.Get]))
            .AllowAnonymous();

    /// <summary>The contract's body; the status code (200 healthy or degraded, 503 unhealthy) is the middleware's default.</summary>
    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        var status = report.Status switch
        {
            HealthStatus.Healthy => "healthy",
            HealthStatus.Degraded => "degraded",
            _ => "unhealthy",
        };
        var time = context.RequestServices.GetRequiredService<TimeProvider>();
        return context.Response.WriteAsJsonAsync(
            new HealthResponse(status, time.GetUtcNow(), Version), Json.ApiJson.Wire.HealthResponse, contentType: "application/json; charset=utf-8");
    }

    /// <summary>Storage as <see cref="IDatabaseProbe"/> sees it, within 3 s (a probe must answer before its caller gives up).</summary>
    private sealed class StorageHealthCheck(IDatabaseProbe database) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
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

            return health switch
            {
                StorageHealth.Healthy => HealthCheckResult.Healthy(),
                StorageHealth.Degraded => HealthCheckResult.Degraded("recent writes failed"),
                _ => HealthCheckResult.Unhealthy("storage unreachable"),
            };
        }
    }

    /// <summary>
    /// This silo is Active in the cluster's membership table: not still joining, not shutting
    /// down, not declared dead by the others (whose grain calls would then fail).
    /// </summary>
    private sealed class SiloActiveHealthCheck(ILocalSiloDetails silo, IClusterMembershipService membership) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var status = membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress);
            return Task.FromResult(status == SiloStatus.Active
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"silo is {status}"));
        }
    }
}

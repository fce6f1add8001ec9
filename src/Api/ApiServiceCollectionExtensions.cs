using HpcJobs.Api.Events;
using HpcJobs.Api.Health;
using HpcJobs.Api.Ingest;
using HpcJobs.Api.Jobs;
using HpcJobs.Api.Json;
using HpcJobs.Api.Metrics;
using HpcJobs.Api.Nodes;
using HpcJobs.Api.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace HpcJobs.Api;

public static class ApiServiceCollectionExtensions
{
    public static IServiceCollection AddJobsApi(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(options => ApiJson.Configure(options.SerializerOptions));
        services.AddRouting();
        services.AddJobPages();
        return services;
    }

    public static IEndpointRouteBuilder MapJobsApiRoutes(this IEndpointRouteBuilder app)
    {
        app.MapHealthApi();
        app.MapJobsApi();
        app.MapEventsApi();
        app.MapBatchIngestApi();
        app.MapNodesApi();
        app.MapMetrics();
        app.MapJobPages();
        return app;
    }
}

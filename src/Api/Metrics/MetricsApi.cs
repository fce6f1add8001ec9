using System.Text;
using HpcJobs.Grains;
using HpcJobs.Api.Security;
using HpcJobs.Grains.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace HpcJobs.Api.Metrics;

/// <summary><c>GET /metrics</c>: the job families from memory, then the service's own operating metrics.</summary>
public static class MetricsApi
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static IServiceCollection AddPrometheusExport(this IServiceCollection services)
    {
        services.AddSingleton<JobExporter>();
        services.AddSingleton<IJobObserverPart>(sp => sp.GetRequiredService<JobExporter>());
        services.AddSingleton<JobCounts>();
        services.AddSingleton<NodeHeartbeats>();

        // Republish only the .NET meter an operator reads; Orleans' own meters would add hundreds of series.
        // The service's own operating metrics (IngestMetrics, WriterMetrics) are native prometheus-net metrics.
        Prometheus.Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions
        {
            SuppressEventCounters = true,
            SuppressDebugMetrics = true,
        });
        Prometheus.Metrics.ConfigureMeterAdapter(adapter => adapter.InstrumentFilterPredicate =
            instrument => instrument.Meter.Name == "Microsoft.AspNetCore.Hosting");
        return services;
    }

    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder app)
    {
        app.MapGet("/metrics", WriteAsync).RequireAuthorization(AccessPolicies.Metrics);
        return app;
    }

    public static async Task WriteAsync(
        HttpContext context, JobExporter exporter, JobCounts counts, NodeHeartbeats nodes, IActivationStatus activator)
    {
        var stats = await counts.GetAsync(context.RequestAborted);
        var text = new StringBuilder();
        var exposition = new Exposition(text);
        if (stats is not null)
        {
            WriteCounts(exposition, stats);
        }

        exporter.Write(text);
        await nodes.WriteAsync(exposition, context.RequestAborted);
        exposition.Family("hpc_silo_exported_jobs", "gauge", "Jobs whose per-job series this silo exports (its active and recently ended job grains).");
        exposition.Line("hpc_silo_exported_jobs", string.Empty, exporter.Count);
        WriteActivation(exposition, activator);

        context.Response.ContentType = ContentType;

        // Chunk by chunk: a scrape of 10,000 jobs is megabytes, which must not become one large string.
        var writer = context.Response.BodyWriter;
        foreach (var chunk in text.GetChunks())
        {
            var span = writer.GetSpan(Encoding.UTF8.GetMaxByteCount(chunk.Length));
            writer.Advance(Encoding.UTF8.GetBytes(chunk.Span, span));
            await writer.FlushAsync(context.RequestAborted);
        }

        await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
    }

    private static void WriteActivation(Exposition exposition, IActivationStatus activator)
    {
        exposition.Family("hpc_silo_job_activation_running", "gauge",
            "1 while this silo re-activates the stored pending and running jobs (the oldest silo, after the cluster starts or a silo leaves), so that their series are exported.");
        exposition.Line("hpc_silo_job_activation_running", string.Empty, activator.Running > 0 ? 1 : 0);
        exposition.Family("hpc_silo_job_activation_completed_total", "counter", "Re-activation passes over every active job that this silo finished.");
        exposition.Line("hpc_silo_job_activation_completed_total", string.Empty, activator.CompletedRuns);
        exposition.Family("hpc_silo_job_reactivation_calls_total", "counter",
            "Calls this silo made to job grains to re-activate them: one per active job in each pass, plus one per job Orleans dropped after a pass had reached it.");
        exposition.Line("hpc_silo_job_reactivation_calls_total", string.Empty, activator.ReactivationCalls);
        exposition.Family("hpc_stale_deactivations_total", "counter",
            "Pending or running jobs this silo deactivated (and stopped exporting) after no sample, event or request for their stale limit; their stored state is unchanged.");
        exposition.Line("hpc_stale_deactivations_total", string.Empty, activator.StaleDeactivations);
        if (activator.LastCompleted is { } last)
        {
            exposition.Family("hpc_silo_job_activation_last_jobs", "gauge", "Jobs re-activated by this silo's last finished pass.");
            exposition.Line("hpc_silo_job_activation_last_jobs", string.Empty, last.Jobs);
            exposition.Family("hpc_silo_job_activation_last_duration_seconds", "gauge", "Duration of this silo's last finished re-activation pass.");
            exposition.Line("hpc_silo_job_activation_last_duration_seconds", string.Empty, last.Duration.TotalSeconds);
        }
    }

    private static void WriteCounts(Exposition exposition, JobStats stats)
    {
        var labels = JobStateMachine.All.ToDictionary(s => s, s => Exposition.Labels(("state", s.ToWire())));
        exposition.Family("hpc_job_state_total", "gauge",
            "Jobs stored, by state (a gauge despite its name, kept for dashboards built on the original service). Cluster-wide: every silo exports the same value.");
        foreach (var state in JobStateMachine.All)
        {
            exposition.Line("hpc_job_state_total", labels[state], stats.ByState.GetValueOrDefault(state));
        }

        exposition.Family("hpc_jobs", "gauge", "Jobs stored, by state. Cluster-wide: every silo exports the same value.");
        foreach (var state in JobStateMachine.All)
        {
            exposition.Line("hpc_jobs", labels[state], stats.ByState.GetValueOrDefault(state));
        }

        exposition.Family("hpc_job_total", "counter", "Jobs ever created, across restarts. Cluster-wide: every silo exports the same value.");
        exposition.Line("hpc_job_total", string.Empty, stats.EverCreated);
    }
}

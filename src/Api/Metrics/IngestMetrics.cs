using Prometheus;

namespace HpcJobs.Api.Metrics;

/// <summary>Ingest outcomes, as an operator watches them.</summary>
public static class IngestMetrics
{
    private static readonly Counter Accepted = Prometheus.Metrics.CreateCounter(
        "hpc_ingest_samples_accepted_total", "Samples stored (answered 201).");

    private static readonly Counter Rejected = Prometheus.Metrics.CreateCounter(
        "hpc_ingest_samples_rejected_total", "Samples refused, by reason.", "reason");

    private static readonly Counter Duplicates = Prometheus.Metrics.CreateCounter(
        "hpc_ingest_samples_duplicate_total", "Samples found already stored (a replay of the same job, node and timestamp) and not stored again.");

    public static void RecordAccepted(long count = 1) => Accepted.Inc(count);

    public static void RecordDuplicates(long count) => Duplicates.Inc(count);

    public static void RecordRejected(string reason) => Rejected.WithLabels(reason).Inc();
}

using Prometheus;

namespace HpcJobs.Grains.Storage;

/// <summary>The write path's operating metrics, exported on <c>/metrics</c> as prometheus-net metrics.</summary>
/// <remarks>
/// Native metrics, not a .NET meter republished through prometheus-net's meter adapter. The adapter
/// starts listening at the first scrape (commits before it are lost), removes a series not updated for
/// 5 minutes (an idle writer's histograms, and the retention counter between its 10-minute passes,
/// vanish and come back from zero), exports counters as gauges, and gives every histogram the same
/// 10 ms–2 days buckets: sub-10 ms commits all land in the first bucket.
/// The series belong to the process; several silos hosted in one test process share them.
/// </remarks>
public sealed class WriterMetrics
{
    private static readonly Histogram BatchSize = Prometheus.Metrics.CreateHistogram(
        "hpc_storage_commit_batch_size", "Writes committed together in one group-commit transaction.",
        new HistogramConfiguration
        {
            Buckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000],
        });

    private static readonly Histogram CommitSeconds = Prometheus.Metrics.CreateHistogram(
        "hpc_storage_commit_duration_seconds", "Time to commit one group-commit transaction, in seconds.",
        new HistogramConfiguration
        {
            Buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        });

    private static readonly Counter Syncs = Prometheus.Metrics.CreateCounter(
        "hpc_storage_syncs_total", "Syncs of the pipelined group commit (SQLite WAL fdatasync, PostgreSQL WAL flush); each makes every group committed before it durable.");

    private static readonly Counter RetentionDeleted = Prometheus.Metrics.CreateCounter(
        "hpc_retention_deleted_samples_total", "Samples deleted by retention.");

    private static readonly Counter OperationsStarted = Prometheus.Metrics.CreateCounter(
        "hpc_storage_operations_total", "Database reads and writes started by this silo.");

    private long _operations;

    /// <summary>Database operations (reads and queued writes) started by this silo; tests use it to prove a path stays off the database.</summary>
    public long Operations => Interlocked.Read(ref _operations);

    public void CountOperation()
    {
        Interlocked.Increment(ref _operations);
        OperationsStarted.Inc();
    }

    public void RecordCommit(int writes, TimeSpan elapsed)
    {
        BatchSize.Observe(writes);
        CommitSeconds.Observe(elapsed.TotalSeconds);
    }

    public void RecordSync() => Syncs.Inc();

    public void RecordRetention(long deleted) => RetentionDeleted.Inc(deleted);

    /// <summary>When a write last failed; the health route reports "degraded" for a while after.</summary>
    public DateTimeOffset? LastWriteFailure { get; private set; }

    public void RecordWriteFailure(DateTimeOffset at) => LastWriteFailure = at;

    public bool WriteFailedWithin(TimeSpan window, DateTimeOffset now) =>
        LastWriteFailure is { } failed && now - failed < window;
}

using System.Diagnostics.Metrics;

namespace HpcJobs.Grains.Storage;

/// <summary>The write path's operating metrics, published as a .NET meter and exported by the API.</summary>
public sealed class WriterMetrics : IDisposable
{
    public const string MeterName = "HpcJobs.Storage";

    private readonly Meter _meter;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _commitSeconds;
    private readonly Counter<long> _retentionDeleted;
    private long _operations;

    public WriterMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _batchSize = _meter.CreateHistogram<int>(
            "hpc_storage_commit_batch_size", "{write}", "Writes committed together in one group-commit transaction.");
        _commitSeconds = _meter.CreateHistogram<double>(
            "hpc_storage_commit_duration", "s", "Time to commit one group-commit transaction.");
        _retentionDeleted = _meter.CreateCounter<long>(
            "hpc_retention_deleted_samples", "{sample}", "Samples deleted by retention.");
        _meter.CreateObservableCounter(
            "hpc_storage_operations", () => Operations, "{operation}", "Database reads and writes started by this silo.");
    }

    /// <summary>Database operations (reads and queued writes) started by this silo; tests use it to prove a path stays off the database.</summary>
    public long Operations => Interlocked.Read(ref _operations);

    public void CountOperation() => Interlocked.Increment(ref _operations);

    public void RecordCommit(int writes, TimeSpan elapsed)
    {
        _batchSize.Record(writes);
        _commitSeconds.Record(elapsed.TotalSeconds);
    }

    public void RecordRetention(long deleted) => _retentionDeleted.Add(deleted);

    /// <summary>When a write last failed; the health route reports "degraded" for a while after.</summary>
    public DateTimeOffset? LastWriteFailure { get; private set; }

    public void RecordWriteFailure(DateTimeOffset at) => LastWriteFailure = at;

    public bool WriteFailedWithin(TimeSpan window, DateTimeOffset now) =>
        LastWriteFailure is { } failed && now - failed < window;

    public void Dispose() => _meter.Dispose();
}

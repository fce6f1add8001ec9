using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace HpcJobs.Grains.Storage.Postgres;

/// <summary>
/// The sample log on PostgreSQL. Appends queue up and one loop commits them together: a binary
/// COPY of the batch plus one set-based update of the jobs rows' latest usage, in one transaction;
/// then every waiter is released.
/// </summary>
public sealed partial class PostgresSampleLog : ISampleLog, IAsyncDisposable
{
    private readonly Channel<PendingSample> _queue = Channel.CreateBounded<PendingSample>(
        new BoundedChannelOptions(100_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly PostgresDatabase _database;
    private readonly WriterMetrics _metrics;
    private readonly ILogger<PostgresSampleLog> _logger;
    private readonly int _maxBatch;
    private readonly Task _loop;
    private DateTimeOffset _lastFailureLog;

    public PostgresSampleLog(
        PostgresDatabase database, WriterMetrics metrics, IOptions<PostgresOptions> options, ILogger<PostgresSampleLog> logger)
    {
        _database = database;
        _metrics = metrics;
        _logger = logger;
        _maxBatch = options.Value.MaxBatchSize;
        _loop = Task.Run(RunAsync);
    }

    public async Task AppendAsync(string jobId, IReadOnlyList<UsageSample> samples)
    {
        var pending = new PendingSample(jobId, samples);
        try
        {
            await _queue.Writer.WriteAsync(pending).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new StorageUnavailableException("the database is shutting down", e);
        }

        await pending.Completion.Task.ConfigureAwait(false);
    }

    public Task<IReadOnlyList<UsageSample>> ReadRecentAsync(string jobId, int count) =>
        ReadRangeAsync(jobId, null, null, count, CancellationToken.None);

    public Task<IReadOnlyList<UsageSample>> ReadRangeAsync(
        string jobId, DateTimeOffset? from, DateTimeOffset? to, int limit, CancellationToken cancellationToken) =>
        _database.GuardAsync<IReadOnlyList<UsageSample>>(async () =>
        {
            await using var command = _database.DataSource.CreateCommand(
                """
                SELECT ts, cpu_usage, memory_usage_mb, gpu_usage FROM samples
                WHERE job_id = $1 AND ($2::timestamptz IS NULL OR ts >= $2) AND ($3::timestamptz IS NULL OR ts <= $3)
                ORDER BY ts DESC, id DESC LIMIT $4
                """);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = jobId });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)from ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)to ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
            var samples = new List<UsageSample>(Math.Min(limit, 1024));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                samples.Add(new UsageSample(
                    new DateTimeOffset(reader.GetFieldValue<DateTime>(0), TimeSpan.Zero),
                    reader.GetDouble(1),
                    reader.GetInt64(2),
                    reader.IsDBNull(3) ? null : reader.GetDouble(3)));
            }

            samples.Reverse();
            return samples;
        });

    public Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, int batchSize, CancellationToken cancellationToken) =>
        _database.GuardAsync(async () =>
        {
            await using var command = _database.DataSource.CreateCommand(
                "DELETE FROM samples WHERE id IN (SELECT id FROM samples WHERE ts < $1 LIMIT $2)");
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = cutoff });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = batchSize });
            var deleted = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            _metrics.RecordRetention(deleted);
            return deleted;
        });

    /// <summary>Stops taking samples and commits what is queued.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var batch = new List<PendingSample>(_maxBatch);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < _maxBatch && reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                await CommitAsync(batch).ConfigureAwait(false);
                _metrics.RecordCommit(batch.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started));
                foreach (var pending in batch)
                {
                    pending.Completion.TrySetResult();
                }
            }
            catch (Exception error)
            {
                ReportFailure(batch.Count, error);
                var failure = new StorageUnavailableException($"PostgreSQL refused the samples: {error.Message}", error);
                foreach (var pending in batch)
                {
                    pending.Completion.TrySetException(failure);
                }
            }

            batch.Clear();
        }
    }

    /// <summary>An outage fails every batch: log the first failure, then at most one line a minute.</summary>
    private void ReportFailure(int count, Exception error)
    {
        var now = DateTimeOffset.UtcNow;
        _metrics.RecordWriteFailure(now);
        if (now - _lastFailureLog > TimeSpan.FromMinutes(1))
        {
            _lastFailureLog = now;
            LogCommitFailed(_logger, count, error.GetBaseException().Message);
        }
    }

    private async Task CommitAsync(List<PendingSample> batch)
    {
        _metrics.CountOperation();
        await using var connection = await _database.DataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
        await using (var copy = await connection.BeginBinaryImportAsync(
                         "COPY samples (job_id, ts, cpu_usage, memory_usage_mb, gpu_usage) FROM STDIN (FORMAT BINARY)").ConfigureAwait(false))
        {
            foreach (var (jobId, sample) in batch.SelectMany(p => p.Samples.Select(s => (p.JobId, s))))
            {
                await copy.StartRowAsync().ConfigureAwait(false);
                await copy.WriteAsync(jobId, NpgsqlDbType.Text).ConfigureAwait(false);
                await copy.WriteAsync(sample.Timestamp, NpgsqlDbType.TimestampTz).ConfigureAwait(false);
                await copy.WriteAsync(sample.CpuUsage, NpgsqlDbType.Double).ConfigureAwait(false);
                await copy.WriteAsync(sample.MemoryUsageMb, NpgsqlDbType.Bigint).ConfigureAwait(false);
                if (sample.GpuUsage is { } gpu)
                {
                    await copy.WriteAsync(gpu, NpgsqlDbType.Double).ConfigureAwait(false);
                }
                else
                {
                    await copy.WriteNullAsync().ConfigureAwait(false);
                }
            }

            await copy.CompleteAsync().ConfigureAwait(false);
        }

        var latest = LatestPerJob(batch);
        await using (var update = new NpgsqlCommand(
                         """
                         UPDATE jobs AS j
                         SET cpu_usage = u.cpu, memory_usage_mb = u.mem, gpu_usage = COALESCE(u.gpu, j.gpu_usage), last_sample_time = u.ts
                         FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::int8[], $5::float8[]) AS u(id, ts, cpu, mem, gpu)
                         WHERE j.id = u.id AND (j.last_sample_time IS NULL OR j.last_sample_time <= u.ts)
                         """,
                         connection,
                         transaction))
        {
            update.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. latest.Select(l => l.Key)] });
            update.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. latest.Select(l => l.Value.Timestamp)] });
            update.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = [.. latest.Select(l => l.Value.CpuUsage)] });
            update.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. latest.Select(l => l.Value.MemoryUsageMb)] });
            update.Parameters.Add(new NpgsqlParameter<double?[]> { TypedValue = [.. latest.Select(l => l.Value.GpuUsage)] });
            await update.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        await transaction.CommitAsync().ConfigureAwait(false);
    }

    private static Dictionary<string, UsageSample> LatestPerJob(List<PendingSample> batch)
    {
        var latest = new Dictionary<string, UsageSample>(StringComparer.Ordinal);
        foreach (var (jobId, sample) in batch.SelectMany(p => p.Samples.Select(s => (p.JobId, s))))
        {
            latest[jobId] = LatestUsage.Merge(latest.GetValueOrDefault(jobId), sample);
        }

        return latest;
    }

    private sealed class PendingSample(string jobId, IReadOnlyList<UsageSample> samples)
    {
        public string JobId { get; } = jobId;

        public IReadOnlyList<UsageSample> Samples { get; } = samples;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "PostgreSQL commit of {Count} samples failed: {Reason}; samples answer 503 until it recovers")]
    private static partial void LogCommitFailed(ILogger logger, int count, string reason);
}

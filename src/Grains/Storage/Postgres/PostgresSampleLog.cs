using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace HpcJobs.Grains.Storage.Postgres;

/// <summary>
/// The sample log on PostgreSQL. Appends queue up and one loop commits them together: one
/// <c>INSERT ... ON CONFLICT DO NOTHING</c> from arrays (a sample already stored, by the unique key
/// on job, timestamp and node, is skipped and reported with what was stored) plus one set-based
/// update of the jobs rows' latest usage, in one transaction; then every waiter is released.
/// </summary>
public sealed class PostgresSampleLog : ISampleLog, IAsyncDisposable, IBatchCommitter<SampleAppend>
{
    private readonly PostgresDatabase _database;
    private readonly WriterMetrics _metrics;
    private readonly GroupCommit<SampleAppend> _writer;
    private readonly SampleStage _stage = new();

    public PostgresSampleLog(
        PostgresDatabase database, WriterMetrics metrics, IOptions<PostgresOptions> options, ILogger<PostgresSampleLog> logger)
    {
        _database = database;
        _metrics = metrics;
        _writer = new GroupCommit<SampleAppend>("PostgreSQL", options.Value.MaxBatchSize, this, metrics, logger);
    }

    public async Task<AppendResult> AppendAsync(string jobId, IReadOnlyList<UsageSample> samples, JobUsage usage)
    {
        var pending = new SampleAppend(jobId, samples, usage);
        await _writer.EnqueueAsync(pending).ConfigureAwait(false);
        return await pending.Completion.ConfigureAwait(false);
    }

    public Task<IReadOnlyList<UsageSample>> ReadRecentAsync(string jobId, int count) =>
        ReadRangeAsync(jobId, null, null, count, CancellationToken.None);

    public Task<IReadOnlyList<UsageSample>> ReadRangeAsync(
        string jobId, DateTimeOffset? from, DateTimeOffset? to, int limit, CancellationToken cancellationToken) =>
        _database.GuardAsync<IReadOnlyList<UsageSample>>(async () =>
        {
            await using var command = _database.DataSource.CreateCommand(
                """
                SELECT ts, cpu_usage, memory_usage_mb, gpu_usage, node, gpu_memory_mb, memory_peak_mb, oom_kills FROM samples
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
                samples.Add(StorageRows.Sample(reader, new DateTimeOffset(reader.GetFieldValue<DateTime>(0), TimeSpan.Zero)));
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
    public ValueTask DisposeAsync() => _writer.DisposeAsync();

    /// <summary>
    /// A batch that PostgreSQL refused (a bug-class error such as an invalid value) is retried one
    /// append at a time; an outage fails the batch at once instead of trying every append against it.
    /// </summary>
    bool IBatchCommitter<SampleAppend>.RetriesAlone(Exception error) => !StorageErrors.IsTransient(error);

    async ValueTask IBatchCommitter<SampleAppend>.CommitAsync(IReadOnlyList<SampleAppend> batch)
    {
        try
        {
            await CommitAsync(batch).ConfigureAwait(false);
            _stage.Commit();
        }
        catch
        {
            _stage.Discard();
            throw;
        }
    }

    private async Task CommitAsync(IReadOnlyList<SampleAppend> batch)
    {
        _metrics.CountOperation();
        var rows = new List<Row>(batch.Count);
        foreach (var pending in batch)
        {
            pending.Reset();
            for (var i = 0; i < pending.Samples.Count; i++)
            {
                if (_stage.Queue(pending, i))
                {
                    rows.Add(new Row(pending, i, pending.Samples[i]));
                }
            }
        }

        await using var connection = await _database.DataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
        await using (var insert = new NpgsqlCommand(InsertSql, connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. rows.Select(r => r.Owner.JobId)] });
            insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. rows.Select(r => r.Sample.Timestamp)] });
            insert.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = [.. rows.Select(r => r.Sample.CpuUsage)] });
            insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. rows.Select(r => r.Sample.MemoryUsageMb)] });
            insert.Parameters.Add(new NpgsqlParameter<double?[]> { TypedValue = [.. rows.Select(r => r.Sample.GpuUsage)] });
            insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. rows.Select(r => r.Sample.Node ?? string.Empty)] });
            insert.Parameters.Add(new NpgsqlParameter<long?[]> { TypedValue = [.. rows.Select(r => r.Sample.GpuMemoryMb)] });
            insert.Parameters.Add(new NpgsqlParameter<long?[]> { TypedValue = [.. rows.Select(r => r.Sample.MemoryPeakMb)] });
            insert.Parameters.Add(new NpgsqlParameter<long?[]> { TypedValue = [.. rows.Select(r => r.Sample.OomKills)] });
            await using var reader = await insert.ExecuteReaderAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                var row = rows[(int)reader.GetInt64(0) - 1];
                // Null: stored by a transaction that committed after this one's snapshot.
                row.Owner.MarkDuplicate(row.Index, reader.IsDBNull(1) ? row.Sample : StorageRows.Sample(reader, row.Sample.Timestamp));
            }
        }

        foreach (var row in rows)
        {
            if (!row.Owner.IsDuplicate(row.Index))
            {
                _stage.Stage(row.Owner.Usage, row.Sample);
            }
        }

        var touched = _stage.Staged;
        if (touched.Count > 0)
        {
            await using var update = new NpgsqlCommand(
                """
                UPDATE jobs AS j
                SET cpu_usage = u.cpu, memory_usage_mb = u.mem, gpu_usage = u.gpu, last_sample_time = u.ts,
                    footprint = CASE WHEN u.write THEN u.footprint::jsonb ELSE j.footprint END,
                    flags = CASE WHEN u.write THEN u.flags::jsonb ELSE j.flags END
                FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::int8[], $5::float8[], $6::text[], $7::text[], $8::bool[])
                     AS u(id, ts, cpu, mem, gpu, footprint, flags, write)
                WHERE j.id = u.id
                """,
                connection,
                transaction);
            update.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. touched.Select(u => u.JobId)] });
            update.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. touched.Select(u => u.StagedLatest!.Timestamp)] });
            update.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = [.. touched.Select(u => u.StagedLatest!.CpuUsage)] });
            update.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. touched.Select(u => u.StagedLatest!.MemoryUsageMb)] });
            update.Parameters.Add(new NpgsqlParameter<double?[]> { TypedValue = [.. touched.Select(u => u.StagedLatest!.GpuUsage)] });
            var footprints = touched.Select(u => u.StagedRowFootprint()).ToArray();
            update.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. footprints.Select(f => f?.Footprint)] });
            update.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. footprints.Select(f => f?.Flags)] });
            update.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = [.. footprints.Select(f => f is not null)] });
            await update.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        await transaction.CommitAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Inserts from arrays, skipping samples already stored, and returns the 1-based position of each
    /// skipped one with the stored values (read from the statement's snapshot, i.e. before the insert).
    /// </summary>
    private const string InsertSql =
        """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::int8[], $5::float8[],
                                 $6::text[], $7::int8[], $8::int8[], $9::int8[])
                     WITH ORDINALITY AS u(job_id, ts, cpu, mem, gpu, node, gpu_mem, peak, oom, ord)
        ), inserted AS (
            INSERT INTO samples (job_id, ts, cpu_usage, memory_usage_mb, gpu_usage, node, gpu_memory_mb, memory_peak_mb, oom_kills)
            SELECT job_id, ts, cpu, mem, gpu, node, gpu_mem, peak, oom FROM input ORDER BY ord
            ON CONFLICT DO NOTHING
            RETURNING job_id, ts, node
        )
        SELECT i.ord, s.cpu_usage, s.memory_usage_mb, s.gpu_usage, s.node, s.gpu_memory_mb, s.memory_peak_mb, s.oom_kills
        FROM input i
        LEFT JOIN samples s ON s.job_id = i.job_id AND s.ts = i.ts AND s.node = i.node
        WHERE NOT EXISTS (SELECT 1 FROM inserted n WHERE n.job_id = i.job_id AND n.ts = i.ts AND n.node = i.node)
        """;

    private readonly record struct Row(SampleAppend Owner, int Index, UsageSample Sample);
}

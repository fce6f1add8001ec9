using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace HpcJobs.Grains.Storage.Postgres;

/// <summary>
/// One sample writer of <see cref="PostgresSampleLog"/>: its appends queue up and one loop commits
/// them together on one connection, in one transaction: a binary COPY of the samples (a sample already
/// stored, by the unique key on job, timestamp and node, fails it, and the batch goes again through an
/// <c>INSERT ... ON CONFLICT DO NOTHING</c> that reports what was stored) plus one set-based update of
/// the jobs rows' latest usage; every write is released after the shared pipeline's next WAL flush.
/// The log gives every job one writer, so no two writers insert one job's samples or update its row:
/// they never wait on each other's row locks, and each job's latest usage is staged by one loop.
/// </summary>
internal sealed partial class PostgresSampleWriter : IBatchCommitter<SampleAppend>, IAsyncDisposable
{
    /// <summary>The most rows <see cref="_rows"/> keeps room for between commits (a larger batch's room is let go).</summary>
    private const int MaxKeptRows = 1 << 16;

    private readonly PostgresDatabase _database;
    private readonly SyncPipeline _sync;
    private readonly WriterMetrics _metrics;
    private readonly ILogger _logger;
    private readonly GroupCommit<SampleAppend> _writer;
    private readonly SampleStage _stage = new();

    /// <summary>
    /// Node name to <c>sample_nodes.node_key</c>, only for rows known to be committed (a key from a
    /// transaction that rolled back would store samples under a node no read can name). Used only by
    /// the commit loop; the names are the cluster's nodes, so it stays small.
    /// </summary>
    private readonly Dictionary<string, int> _nodeKeys = new(StringComparer.Ordinal) { [string.Empty] = 0 };

    /// <summary>
    /// The rows of the batch being committed, kept from one commit to the next (a batch of 18,000
    /// samples would otherwise allocate and grow a 400 KB list each time); emptied after each commit so
    /// it holds no samples between them. Used only by the commit loop.
    /// </summary>
    private readonly List<Row> _rows = [];

    public PostgresSampleWriter(PostgresDatabase database, SyncPipeline sync, WriterMetrics metrics, int maxBatchSize, ILogger logger)
    {
        _database = database;
        _sync = sync;
        _metrics = metrics;
        _logger = logger;
        _writer = new GroupCommit<SampleAppend>("PostgreSQL", maxBatchSize, this, metrics, logger);
    }

    public async Task<AppendResult> AppendAsync(SampleAppend pending)
    {
        await _writer.EnqueueAsync(pending).ConfigureAwait(false);
        return await pending.Completion.ConfigureAwait(false);
    }

    /// <summary>Stops taking samples and commits what is queued.</summary>
    public ValueTask DisposeAsync() => _writer.DisposeAsync();
    /// <summary>
    /// A batch that PostgreSQL refused (a bug-class error such as an invalid value) is retried one
    /// append at a time; an outage fails the batch at once instead of trying every append against it.
    /// </summary>
    bool IBatchCommitter<SampleAppend>.RetriesAlone(Exception error) => !StorageErrors.IsTransient(error);

    /// <summary>The batch commits without waiting for the WAL flush; its writes complete after the shared pipeline's next sync.</summary>
    async ValueTask<Task> IBatchCommitter<SampleAppend>.CommitAsync(IReadOnlyList<SampleAppend> batch)
    {
        await CommitOrMakePartitionsAsync(batch).ConfigureAwait(false);
        return _sync.AfterNextSync();
    }

    private async Task CommitOrMakePartitionsAsync(IReadOnlyList<SampleAppend> batch)
    {
        try
        {
            await CommitStagedAsync(batch).ConfigureAwait(false);
        }
        catch (PostgresException error) when (IsMissingPartition(error))
        {
            // A day the retention pass has not made ready (a fresh or upgraded database, a replay of
            // older samples): make the days of the batch, then commit it again, once.
            var days = batch.SelectMany(pending => pending.Samples).Select(sample => DateOnly.FromDateTime(sample.Timestamp.UtcDateTime));
            var created = await PostgresSampleLog.CreatePartitionsAsync(_database, [.. days.Distinct()], CancellationToken.None).ConfigureAwait(false);
            LogPartitionsCreatedOnDemand(_logger, created);
            await CommitStagedAsync(batch).ConfigureAwait(false);
        }
    }

    /// <summary>The error of an insert whose day has no partition (there is no default partition).</summary>
    private static bool IsMissingPartition(PostgresException error) =>
        error.SqlState == PostgresErrorCodes.CheckViolation && error.TableName == "samples" && error.ConstraintName is null;

    private async Task CommitStagedAsync(IReadOnlyList<SampleAppend> batch)
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
        var rows = _rows;
        rows.Clear();
        try
        {
            await CommitAsync(batch, rows).ConfigureAwait(false);
        }
        finally
        {
            rows.Clear();
            if (rows.Capacity > MaxKeptRows)
            {
                rows.Capacity = 0;
            }
        }
    }

    private async Task CommitAsync(IReadOnlyList<SampleAppend> batch, List<Row> rows)
    {
        foreach (var pending in batch)
        {
            pending.Reset();
            if (pending.Samples.Count == 0)
            {
                _stage.Touch(pending.Usage);
            }

            for (var i = 0; i < pending.Samples.Count; i++)
            {
                if (_stage.Queue(pending, i))
                {
                    rows.Add(new Row(pending, i, pending.Samples[i], 0));
                }
            }
        }

        await using var connection = await _database.DataSource.OpenConnectionAsync().ConfigureAwait(false);
        await SetNodeKeysAsync(connection, rows).ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
        try
        {
            try
            {
                if (rows.Count > 0)
                {
                    await CopyAsync(connection, rows).ConfigureAwait(false);
                }
            }
            catch (PostgresException error) when (error.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                // A sample already stored (a replay, or another silo's copy committed meanwhile): COPY
                // cannot skip it, so the batch goes again through the insert that skips and reports them.
                await transaction.DisposeAsync().ConfigureAwait(false);
                transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
                await InsertSkippingDuplicatesAsync(connection, transaction, rows).ConfigureAwait(false);
            }

            await UpdateLatestUsageAsync(connection, transaction, rows).ConfigureAwait(false);
            await transaction.CommitAsync().ConfigureAwait(false);
        }
        finally
        {
            await transaction.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The batch's rows by binary COPY: no ON CONFLICT (speculative insertion writes a second WAL
    /// record per row and costs about a third more server CPU per row, bench/Limits <c>pg</c>), so a
    /// row already stored fails the COPY with a unique violation and the caller falls back.
    /// </summary>
    private static async Task CopyAsync(NpgsqlConnection connection, List<Row> rows)
    {
        await using var importer = await connection.BeginBinaryImportAsync(
            "COPY samples (job_key, ts, node_key, cpu_usage, memory_usage_mb, gpu_usage, gpu_memory_mb, memory_peak_mb, oom_kills) FROM STDIN (FORMAT BINARY)")
            .ConfigureAwait(false);
        for (var i = 0; i < rows.Count; i++)
        {
            var sample = rows[i].Sample;
            await importer.StartRowAsync().ConfigureAwait(false);
            await importer.WriteAsync(rows[i].Owner.Usage.JobKey, NpgsqlDbType.Bigint).ConfigureAwait(false);
            await importer.WriteAsync(sample.Timestamp, NpgsqlDbType.TimestampTz).ConfigureAwait(false);
            await importer.WriteAsync(rows[i].NodeKey, NpgsqlDbType.Integer).ConfigureAwait(false);
            await importer.WriteAsync(sample.CpuUsage, NpgsqlDbType.Double).ConfigureAwait(false);
            await importer.WriteAsync(sample.MemoryUsageMb, NpgsqlDbType.Bigint).ConfigureAwait(false);
            await WriteNullableAsync(importer, sample.GpuUsage, NpgsqlDbType.Double).ConfigureAwait(false);
            await WriteNullableAsync(importer, sample.GpuMemoryMb, NpgsqlDbType.Bigint).ConfigureAwait(false);
            await WriteNullableAsync(importer, sample.MemoryPeakMb, NpgsqlDbType.Bigint).ConfigureAwait(false);
            await WriteNullableAsync(importer, sample.OomKills, NpgsqlDbType.Bigint).ConfigureAwait(false);
        }

        await importer.CompleteAsync().ConfigureAwait(false);
    }

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type)
        where T : struct =>
        value is { } present ? importer.WriteAsync(present, type) : importer.WriteNullAsync();

    /// <summary>The insert that skips samples already stored and marks each one a duplicate with what was stored.</summary>
    private static async Task InsertSkippingDuplicatesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<Row> rows)
    {
        await using var insert = new NpgsqlCommand(InsertSql, connection, transaction);
        insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. rows.Select(r => r.Owner.Usage.JobKey)] });
        insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. rows.Select(r => r.Sample.Timestamp)] });
        insert.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. rows.Select(r => r.NodeKey)] });
        insert.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = [.. rows.Select(r => r.Sample.CpuUsage)] });
        insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. rows.Select(r => r.Sample.MemoryUsageMb)] });
        insert.Parameters.Add(new NpgsqlParameter<double?[]> { TypedValue = [.. rows.Select(r => r.Sample.GpuUsage)] });
        insert.Parameters.Add(new NpgsqlParameter<long?[]> { TypedValue = [.. rows.Select(r => r.Sample.GpuMemoryMb)] });
        insert.Parameters.Add(new NpgsqlParameter<long?[]> { TypedValue = [.. rows.Select(r => r.Sample.MemoryPeakMb)] });
        insert.Parameters.Add(new NpgsqlParameter<long?[]> { TypedValue = [.. rows.Select(r => r.Sample.OomKills)] });
        await using var reader = await insert.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            var row = rows[(int)reader.GetInt64(0) - 1];
            // Null: stored by a transaction that committed after this one's snapshot. The stored
            // copy's node is the sample's own (the key matched), so the statement does not name it.
            row.Owner.MarkDuplicate(
                row.Index, reader.IsDBNull(1) ? row.Sample : StorageRows.Sample(reader, row.Sample.Timestamp) with { Node = row.Sample.Node });
        }
    }

    /// <summary>
    /// Sets the latest usage (and the flags the grain prepared, if any) of each job whose samples the
    /// transaction stored or that it touched, and writes the prepared footprints into job_footprints,
    /// in one round trip with the transaction's <c>SET LOCAL synchronous_commit = off</c>: the batch is
    /// visible at commit and acknowledged after the next WAL flush (the sync pipeline), so the writer
    /// applies the next batch meanwhile instead of waiting for the disk. The setting is read at commit,
    /// so it needs no round trip of its own before the COPY.
    /// </summary>
    private async Task UpdateLatestUsageAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<Row> rows)
    {
        foreach (var row in rows)
        {
            if (!row.Owner.IsDuplicate(row.Index))
            {
                _stage.Stage(row.Owner.Usage, row.Sample);
            }
        }

        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL synchronous_commit = off"));
        var touched = _stage.Staged;
        if (touched.Count > 0)
        {
            var update = new NpgsqlBatchCommand(
                """
                UPDATE jobs AS j
                SET cpu_usage = u.cpu, memory_usage_mb = u.mem, gpu_usage = u.gpu, last_sample_time = u.ts,
                    flags = CASE WHEN u.write AND j.version = u.version THEN u.flags::jsonb ELSE j.flags END
                FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::int8[], $5::float8[], $6::text[], $7::bool[], $8::int8[])
                     AS u(id, ts, cpu, mem, gpu, flags, write, version)
                WHERE j.id = u.id
                """);
            batch.BatchCommands.Add(update);
            update.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. touched.Select(u => u.JobId)] });
            update.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. touched.Select(u => u.StagedLatest!.Timestamp)] });
            update.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = [.. touched.Select(u => u.StagedLatest!.CpuUsage)] });
            update.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. touched.Select(u => u.StagedLatest!.MemoryUsageMb)] });
            update.Parameters.Add(new NpgsqlParameter<double?[]> { TypedValue = [.. touched.Select(u => u.StagedLatest!.GpuUsage)] });
            var footprints = touched.Select(u => u.TakeRowFootprint()).ToArray();
            update.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. footprints.Select(f => f?.Flags)] });
            update.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = [.. footprints.Select(f => f is not null)] });
            update.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. footprints.Select(f => f?.RowVersion ?? 0)] });
            var written = Enumerable.Range(0, touched.Count).Where(i => footprints[i] is not null).ToArray();
            if (written.Length > 0)
            {
                var upsert = new NpgsqlBatchCommand(
                    """
                    INSERT INTO job_footprints (job_key, footprint)
                    SELECT k, f::jsonb FROM unnest($1::bigint[], $2::text[], $3::int8[]) AS u(k, f, version)
                    -- not for a job deleted meanwhile, nor over what a lifecycle write stored since the footprint was judged
                    WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.job_key = u.k AND j.version = u.version)
                    ON CONFLICT (job_key) DO UPDATE SET footprint = excluded.footprint
                    """);
                upsert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. written.Select(i => touched[i].JobKey)] });
                upsert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. written.Select(i => footprints[i]!.Value.Footprint)] });
                upsert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. written.Select(i => footprints[i]!.Value.RowVersion)] });
                batch.BatchCommands.Add(upsert);
            }
        }

        await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Inserts from arrays, skipping samples already stored, and returns the 1-based position of each
    /// skipped one with the stored values (read from the statement's snapshot, i.e. before the insert).
    /// </summary>
    private const string InsertSql =
        """
        WITH input AS (
            SELECT * FROM unnest($1::int8[], $2::timestamptz[], $3::int4[], $4::float8[], $5::int8[], $6::float8[],
                                 $7::int8[], $8::int8[], $9::int8[])
                     WITH ORDINALITY AS u(job_key, ts, node_key, cpu, mem, gpu, gpu_mem, peak, oom, ord)
        ), inserted AS (
            INSERT INTO samples (job_key, ts, node_key, cpu_usage, memory_usage_mb, gpu_usage, gpu_memory_mb, memory_peak_mb, oom_kills)
            SELECT job_key, ts, node_key, cpu, mem, gpu, gpu_mem, peak, oom FROM input ORDER BY ord
            ON CONFLICT DO NOTHING
            RETURNING job_key, ts, node_key
        )
        SELECT i.ord, s.cpu_usage, s.memory_usage_mb, s.gpu_usage, '', s.gpu_memory_mb, s.memory_peak_mb, s.oom_kills
        FROM input i
        LEFT JOIN samples s ON s.job_key = i.job_key AND s.ts = i.ts AND s.node_key = i.node_key
        WHERE NOT EXISTS (SELECT 1 FROM inserted n WHERE n.job_key = i.job_key AND n.ts = i.ts AND n.node_key = i.node_key)
        """;

    /// <summary>
    /// Sets the node key of each row. Names not seen before are added to <c>sample_nodes</c> in a
    /// transaction of their own, committed before the batch's (which may roll back), and remembered
    /// only then. A name another silo is adding at the same time is waited for by the insert and seen
    /// by the select after it (read committed: each statement its own snapshot), so every name comes
    /// back; the names go in name order, so two silos adding the same ones cannot deadlock.
    /// </summary>
    private async Task SetNodeKeysAsync(NpgsqlConnection connection, List<Row> rows)
    {
        HashSet<string>? unknown = null;
        foreach (var row in rows)
        {
            if (row.Sample.Node is { } node && !_nodeKeys.ContainsKey(node))
            {
                (unknown ??= new HashSet<string>(StringComparer.Ordinal)).Add(node);
            }
        }

        if (unknown is not null)
        {
            var names = unknown.Order(StringComparer.Ordinal).ToArray();
            var found = new List<(string Name, int Key)>(names.Length);
            await using (var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted).ConfigureAwait(false))
            {
                await using var batch = new NpgsqlBatch(connection, transaction);
                var add = new NpgsqlBatchCommand("INSERT INTO sample_nodes (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING");
                add.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = names });
                var read = new NpgsqlBatchCommand("SELECT name, node_key FROM sample_nodes WHERE name = ANY ($1)");
                read.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = names });
                batch.BatchCommands.Add(add);
                batch.BatchCommands.Add(read);
                await using (var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false))
                {
                    while (await reader.ReadAsync().ConfigureAwait(false))
                    {
                        found.Add((reader.GetString(0), reader.GetInt32(1)));
                    }
                }

                await transaction.CommitAsync().ConfigureAwait(false);
            }

            foreach (var (name, key) in found)
            {
                _nodeKeys[name] = key;
            }
        }

        foreach (ref var row in System.Runtime.InteropServices.CollectionsMarshal.AsSpan(rows))
        {
            row = row with { NodeKey = _nodeKeys[row.Sample.Node ?? string.Empty] };
        }
    }

    private readonly record struct Row(SampleAppend Owner, int Index, UsageSample Sample, int NodeKey);

    [LoggerMessage(Level = LogLevel.Information, Message = "Made {Count} sample partitions on demand for a batch that found its day without one")]
    private static partial void LogPartitionsCreatedOnDemand(ILogger logger, int count);
}

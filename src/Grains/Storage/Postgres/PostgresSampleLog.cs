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
/// The table is partitioned by UTC day (sql/postgres/040_samples_partitions.sql): retention drops whole
/// expired days and makes the coming ones; a batch that meets a day without its partition makes it and
/// commits again. Samples hold integer keys, not texts (sql/postgres/050_sample_keys.sql): the job's
/// <see cref="JobUsage.JobKey"/> (its row's <c>job_key</c>) and a node key from <c>sample_nodes</c>,
/// which the loop looks up and remembers.
/// </summary>
public sealed partial class PostgresSampleLog : ISampleLog, IAsyncDisposable, IBatchCommitter<SampleAppend>
{
    /// <summary>The partitions <c>samples_create_partitions</c> makes: one per UTC day, named after it.</summary>
    private const string PartitionPrefix = "samples_p";

    /// <summary>The day in a partition's name, after <see cref="PartitionPrefix"/>.</summary>
    private const string PartitionDay = "yyyyMMdd";

    /// <summary>How long the straddling day's index build may take (it reads the day's rows twice) before the next pass tries again.</summary>
    private const int IndexBuildSeconds = 3600;

    /// <summary>The most rows <see cref="_rows"/> keeps room for between commits (a larger batch's room is let go).</summary>
    private const int MaxKeptRows = 1 << 16;

    private readonly PostgresDatabase _database;
    private readonly WriterMetrics _metrics;
    private readonly ILogger<PostgresSampleLog> _logger;
    private readonly GroupCommit<SampleAppend> _writer;
    private readonly SyncPipeline _sync;
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

    public PostgresSampleLog(
        PostgresDatabase database, WriterMetrics metrics, IOptions<PostgresOptions> options, ILogger<PostgresSampleLog> logger)
    {
        _database = database;
        _metrics = metrics;
        _logger = logger;
        _sync = new SyncPipeline("PostgreSQL", WaitForWalFlushAsync, metrics, logger);
        _writer = new GroupCommit<SampleAppend>("PostgreSQL", options.Value.MaxBatchSize, this, metrics, logger);
    }

    public async Task<AppendResult> AppendAsync(string jobId, IReadOnlyList<UsageSample> samples, JobUsage usage)
    {
        SampleAppend.RequireJobKey(jobId, usage);
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
                SELECT s.ts, s.cpu_usage, s.memory_usage_mb, s.gpu_usage, n.name, s.gpu_memory_mb, s.memory_peak_mb, s.oom_kills
                FROM samples s JOIN sample_nodes n ON n.node_key = s.node_key
                WHERE s.job_key = (SELECT job_key FROM jobs WHERE id = $1)
                  AND ($2::timestamptz IS NULL OR s.ts >= $2) AND ($3::timestamptz IS NULL OR s.ts <= $3)
                ORDER BY s.ts DESC, n.name DESC LIMIT $4
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

    /// <summary>
    /// Deletes from the partition that holds the oldest sample before the cutoff, by row address (a TID
    /// scan, whatever plan the statement has), and goes on to the next partition while the batch has room.
    /// After <see cref="MaintainPartitionsAsync"/> that is the one partition that straddles the cutoff.
    /// </summary>
    public Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, int batchSize, CancellationToken cancellationToken) =>
        _database.GuardAsync(async () =>
        {
            var deleted = 0;
            while (deleted < batchSize)
            {
                await using var oldest = _database.DataSource.CreateCommand(
                    "SELECT tableoid::regclass::text FROM samples WHERE ts < $1 ORDER BY ts LIMIT 1");
                oldest.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = cutoff });
                if (await oldest.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not string partition)
                {
                    break;
                }

                // The name comes quoted from regclass; a row address is unique only within one partition.
                await using var command = _database.DataSource.CreateCommand(
                    $"DELETE FROM {partition} WHERE ctid = ANY (ARRAY(SELECT ctid FROM {partition} WHERE ts < $1 LIMIT $2))");
                command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = cutoff });
                command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = batchSize - deleted });
                var batch = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                deleted += batch;
                if (batch == 0)
                {
                    break;
                }
            }

            _metrics.RecordRetention(deleted);
            return deleted;
        });

    /// <summary>
    /// Drops every day partition whose day ended at or before <paramref name="cutoff"/>: detached
    /// CONCURRENTLY (SHARE UPDATE EXCLUSIVE on samples, so ingest and reads go on; a plain DROP would take
    /// ACCESS EXCLUSIVE and queue them behind it), counted, dropped. A partition left half detached (the
    /// detach interrupted) is finished, and one left detached but not dropped is dropped. Then makes the
    /// partitions of the days from <paramref name="readyFrom"/> to <paramref name="readyUntil"/> that are not expired.
    /// </summary>
    public Task<PartitionUpkeep> MaintainPartitionsAsync(
        DateTimeOffset cutoff, DateTimeOffset readyFrom, DateTimeOffset readyUntil, CancellationToken cancellationToken) =>
        _database.GuardAsync(async () =>
        {
            var expired = new List<(string Name, bool Attached, bool Pending)>();
            await using (var list = _database.DataSource.CreateCommand(
                             """
                             SELECT c.relname, i.inhrelid IS NOT NULL, COALESCE(i.inhdetachpending, false)
                             FROM pg_class c
                             LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = 'samples'::regclass
                             WHERE c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = 'samples'::regclass)
                               AND c.relkind = 'r' AND c.relname ~ '^samples_p[0-9]{8}$'
                             ORDER BY c.relname
                             """))
            {
                await using var reader = await list.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var name = reader.GetString(0);
                    if (DayOf(name) is { } day && EndedBy(day, cutoff))
                    {
                        expired.Add((name, reader.GetBoolean(1), reader.GetBoolean(2)));
                    }
                }
            }

            var dropped = 0;
            long droppedSamples = 0;
            foreach (var (name, attached, pending) in expired)
            {
                try
                {
                    if (attached)
                    {
                        // Neither form may run inside a transaction block: each is a statement of its own.
                        await ExecuteAsync($"ALTER TABLE samples DETACH PARTITION \"{name}\" {(pending ? "FINALIZE" : "CONCURRENTLY")}", cancellationToken)
                            .ConfigureAwait(false);
                    }

                    await using var count = _database.DataSource.CreateCommand($"SELECT COUNT(*) FROM \"{name}\"");
                    var samples = (long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                    await ExecuteAsync($"DROP TABLE \"{name}\"", cancellationToken).ConfigureAwait(false);
                    dropped++;
                    droppedSamples += samples;
                    LogPartitionDropped(_logger, name, samples);
                }
                catch (PostgresException error) when (!StorageErrors.IsTransient(error))
                {
                    // Dropping is the fast way; the batched delete still removes the partition's rows.
                    LogPartitionDropFailed(_logger, name, error);
                }
            }

            _metrics.RecordRetention(droppedSamples);
            // Not a day that the next pass would drop.
            var days = new List<DateOnly>();
            for (var day = DateOnly.FromDateTime(readyFrom.UtcDateTime); day <= DateOnly.FromDateTime(readyUntil.UtcDateTime); day = day.AddDays(1))
            {
                if (!EndedBy(day, cutoff))
                {
                    days.Add(day);
                }
            }

            var created = await CreatePartitionsAsync(days, cancellationToken).ConfigureAwait(false);
            await IndexStraddlingDayAsync(DateOnly.FromDateTime(cutoff.UtcDateTime), cancellationToken).ConfigureAwait(false);
            return new PartitionUpkeep(created, dropped, droppedSamples);
        });

    /// <summary>
    /// Builds the ts index of the day partition that holds the cutoff, the one the batched delete
    /// trims (sql/postgres/080_samples_ts_index.sql: samples has no ts index written at ingest), once:
    /// CONCURRENTLY, so ingest and reads go on, on a connection without a statement timeout. A build
    /// that was interrupted leaves its index invalid; that one is dropped and built again, unless a
    /// build is still running. A day without a partition has nothing to trim. Whatever stops the
    /// build (an outage, a cancelled statement) is logged and the pass goes on: the delete still
    /// works, by scanning the partition, and the next pass tries again.
    /// </summary>
    private async Task IndexStraddlingDayAsync(DateOnly day, CancellationToken cancellationToken)
    {
        var partition = PartitionOf(day);
        var index = partition + "_ts_idx";
        try
        {
            await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            bool? valid;
            await using (var state = new NpgsqlCommand(
                             """
                             SELECT to_regclass(quote_ident($1)) IS NOT NULL
                                    AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.relid = to_regclass(quote_ident($1))),
                                    (SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(quote_ident($2)))
                             """,
                             connection))
            {
                state.Parameters.Add(new NpgsqlParameter<string> { TypedValue = partition });
                state.Parameters.Add(new NpgsqlParameter<string> { TypedValue = index });
                await using var reader = await state.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (!reader.GetBoolean(0) || (!reader.IsDBNull(1) && reader.GetBoolean(1)))
                {
                    return; // no partition, a build under way, or built
                }

                valid = reader.IsDBNull(1) ? null : reader.GetBoolean(1);
            }

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            await RunAsync(connection, "SET statement_timeout = 0", cancellationToken).ConfigureAwait(false);
            try
            {
                if (valid == false)
                {
                    await RunAsync(connection, $"DROP INDEX CONCURRENTLY IF EXISTS \"{index}\"", cancellationToken).ConfigureAwait(false);
                }

                await RunAsync(connection, $"CREATE INDEX CONCURRENTLY IF NOT EXISTS \"{index}\" ON \"{partition}\" (ts)", cancellationToken)
                    .ConfigureAwait(false);
            }
            finally
            {
                await RunAsync(connection, "RESET statement_timeout", CancellationToken.None).ConfigureAwait(false);
            }

            LogStraddlingDayIndexed(_logger, partition, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        catch (Exception error) when (error is NpgsqlException or TimeoutException or InvalidOperationException
                                      && !cancellationToken.IsCancellationRequested)
        {
            LogStraddlingDayIndexFailed(_logger, partition, error);
        }

        static async Task RunAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
        {
            await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = IndexBuildSeconds };
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops taking samples and commits what is queued.</summary>
    public async ValueTask DisposeAsync()
    {
        await _writer.DisposeAsync().ConfigureAwait(false);
        await _sync.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// A batch that PostgreSQL refused (a bug-class error such as an invalid value) is retried one
    /// append at a time; an outage fails the batch at once instead of trying every append against it.
    /// </summary>
    bool IBatchCommitter<SampleAppend>.RetriesAlone(Exception error) => !StorageErrors.IsTransient(error);

    /// <summary>The batch commits without waiting for the WAL flush; its writes complete after <see cref="WaitForWalFlushAsync"/>.</summary>
    async ValueTask<Task> IBatchCommitter<SampleAppend>.CommitAsync(IReadOnlyList<SampleAppend> batch)
    {
        await CommitOrMakePartitionsAsync(batch).ConfigureAwait(false);
        return _sync.AfterNextSync();
    }

    /// <summary>
    /// The sync of the pipelined commit: a transaction that takes a transaction id (so it writes a
    /// commit record) and commits with the session's <c>synchronous_commit</c> (the server's setting,
    /// <c>on</c> by default), so it returns only once the WAL is flushed — or replicated, with
    /// synchronous standbys — past every sample batch that committed before it.
    /// </summary>
    private async ValueTask WaitForWalFlushAsync(CancellationToken cancellationToken)
    {
        await using var command = _database.DataSource.CreateCommand("SELECT pg_current_xact_id()");
        await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
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
            var created = await CreatePartitionsAsync([.. days.Distinct()], CancellationToken.None).ConfigureAwait(false);
            LogPartitionsCreatedOnDemand(_logger, created);
            await CommitStagedAsync(batch).ConfigureAwait(false);
        }
    }

    /// <summary>The error of an insert whose day has no partition (there is no default partition).</summary>
    private static bool IsMissingPartition(PostgresException error) =>
        error.SqlState == PostgresErrorCodes.CheckViolation && error.TableName == "samples" && error.ConstraintName is null;

    /// <summary>Whether all of <paramref name="day"/> (UTC) is before <paramref name="cutoff"/>.</summary>
    private static bool EndedBy(DateOnly day, DateTimeOffset cutoff) =>
        new DateTimeOffset(day.AddDays(1), TimeOnly.MinValue, TimeSpan.Zero) <= cutoff;

    private static string PartitionOf(DateOnly day) => PartitionPrefix + day.ToString(PartitionDay, System.Globalization.CultureInfo.InvariantCulture);

    private static DateOnly? DayOf(string partition) =>
        DateOnly.TryParseExact(partition.AsSpan(PartitionPrefix.Length), PartitionDay, out var day) ? day : null;

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

    /// <summary>Attaches the partitions of <paramref name="days"/> that are missing (samples_create_partitions, safe when silos race); returns how many.</summary>
    private async Task<int> CreatePartitionsAsync(IReadOnlyList<DateOnly> days, CancellationToken cancellationToken)
    {
        await using var command = _database.DataSource.CreateCommand("SELECT samples_create_partitions($1)");
        command.Parameters.Add(new NpgsqlParameter<DateOnly[]> { TypedValue = [.. days] });
        return (int)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var command = _database.DataSource.CreateCommand(sql);

        // A concurrent detach waits for the transactions that still see the partition.
        command.CommandTimeout = 120;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped sample partition {Partition} ({Count} samples)")]
    private static partial void LogPartitionDropped(ILogger logger, string partition, long count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not drop sample partition {Partition}; the next retention pass tries again")]
    private static partial void LogPartitionDropFailed(ILogger logger, string partition, Exception error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Built the ts index of sample partition {Partition}, which straddles the retention cutoff, in {Seconds:F1} s")]
    private static partial void LogStraddlingDayIndexed(ILogger logger, string partition, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not build the ts index of sample partition {Partition}; retention scans it instead, and the next pass tries again")]
    private static partial void LogStraddlingDayIndexFailed(ILogger logger, string partition, Exception error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Made {Count} sample partitions on demand for a batch that found its day without one")]
    private static partial void LogPartitionsCreatedOnDemand(ILogger logger, int count);
}

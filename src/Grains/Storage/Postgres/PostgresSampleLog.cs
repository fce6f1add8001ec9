using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace HpcJobs.Grains.Storage.Postgres;

/// <summary>
/// The sample log on PostgreSQL. Appends go to one of <see cref="PostgresOptions.SampleWriters"/>
/// writers, chosen by the job's key, so that all of one job's samples (and its jobs row) have one
/// writer, in order; each writer group-commits what has queued for it on its own connection
/// (<see cref="PostgresSampleWriter"/>), and the writers share one WAL-flush pipeline.
/// The table is partitioned by UTC day (sql/postgres/040_samples_partitions.sql): retention drops whole
/// expired days and makes the coming ones; a batch that meets a day without its partition makes it and
/// commits again. Samples hold integer keys, not texts (sql/postgres/050_sample_keys.sql): the job's
/// <see cref="JobUsage.JobKey"/> (its row's <c>job_key</c>) and a node key from <c>sample_nodes</c>,
/// which each writer looks up and remembers.
/// </summary>
public sealed partial class PostgresSampleLog : ISampleLog, IAsyncDisposable
{
    /// <summary>The partitions <c>samples_create_partitions</c> makes: one per UTC day, named after it.</summary>
    private const string PartitionPrefix = "samples_p";

    /// <summary>The day in a partition's name, after <see cref="PartitionPrefix"/>.</summary>
    private const string PartitionDay = "yyyyMMdd";

    /// <summary>How long the straddling day's index build may take (it reads the day's rows twice) before the next pass tries again.</summary>
    private const int IndexBuildSeconds = 3600;

    private readonly PostgresDatabase _database;
    private readonly WriterMetrics _metrics;
    private readonly ILogger<PostgresSampleLog> _logger;
    private readonly PostgresSampleWriter[] _writers;
    private readonly SyncPipeline _sync;

    public PostgresSampleLog(
        PostgresDatabase database, WriterMetrics metrics, IOptions<PostgresOptions> options, ILogger<PostgresSampleLog> logger)
    {
        _database = database;
        _metrics = metrics;
        _logger = logger;
        _sync = new SyncPipeline("PostgreSQL", WaitForWalFlushAsync, metrics, logger);
        _writers = [.. Enumerable.Range(0, Math.Max(1, options.Value.SampleWriters))
            .Select(_ => new PostgresSampleWriter(database, _sync, metrics, options.Value.MaxBatchSize, logger))];
    }

    public async Task<AppendResult> AppendAsync(string jobId, IReadOnlyList<UsageSample> samples, JobUsage usage)
    {
        SampleAppend.RequireJobKey(jobId, usage);
        var pending = new SampleAppend(jobId, samples, usage);
        return await _writers[(int)(usage.JobKey % _writers.Length)].AppendAsync(pending).ConfigureAwait(false);
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
        await Task.WhenAll(_writers.Select(writer => writer.DisposeAsync().AsTask())).ConfigureAwait(false);
        await _sync.DisposeAsync().ConfigureAwait(false);
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


    /// <summary>Whether all of <paramref name="day"/> (UTC) is before <paramref name="cutoff"/>.</summary>
    private static bool EndedBy(DateOnly day, DateTimeOffset cutoff) =>
        new DateTimeOffset(day.AddDays(1), TimeOnly.MinValue, TimeSpan.Zero) <= cutoff;

    private static string PartitionOf(DateOnly day) => PartitionPrefix + day.ToString(PartitionDay, System.Globalization.CultureInfo.InvariantCulture);

    private static DateOnly? DayOf(string partition) =>
        DateOnly.TryParseExact(partition.AsSpan(PartitionPrefix.Length), PartitionDay, out var day) ? day : null;


    /// <summary>Attaches the partitions of <paramref name="days"/> that are missing (samples_create_partitions, safe when silos race); returns how many.</summary>
    private Task<int> CreatePartitionsAsync(IReadOnlyList<DateOnly> days, CancellationToken cancellationToken) =>
        CreatePartitionsAsync(_database, days, cancellationToken);

    /// <summary>Attaches the partitions of <paramref name="days"/> that are missing (samples_create_partitions, safe when silos race); returns how many.</summary>
    internal static async Task<int> CreatePartitionsAsync(PostgresDatabase database, IReadOnlyList<DateOnly> days, CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand("SELECT samples_create_partitions($1)");
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


    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped sample partition {Partition} ({Count} samples)")]
    private static partial void LogPartitionDropped(ILogger logger, string partition, long count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not drop sample partition {Partition}; the next retention pass tries again")]
    private static partial void LogPartitionDropFailed(ILogger logger, string partition, Exception error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Built the ts index of sample partition {Partition}, which straddles the retention cutoff, in {Seconds:F1} s")]
    private static partial void LogStraddlingDayIndexed(ILogger logger, string partition, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not build the ts index of sample partition {Partition}; retention scans it instead, and the next pass tries again")]
    private static partial void LogStraddlingDayIndexFailed(ILogger logger, string partition, Exception error);

}

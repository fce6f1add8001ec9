using System.Text.Json;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace HpcJobs.Grains.Storage.Postgres;

/// <summary>
/// New jobs rows on PostgreSQL, group-committed: the creates that queue while one commits go
/// together in one statement (one implicit transaction) — their rows, node entries, the "jobs ever
/// created" counter and their audit entries. A job array starting at once is thousands of creates;
/// one statement each spent most of PostgreSQL's time on per-statement work (locking and opening
/// the jobs table, its indexes and the other tables, executor start-up, the count trigger, the
/// commit), which a batch pays once (docs/benchmarks.md, "Lifecycle events"). Each create still
/// commits or fails with its audit entry, and is answered only once its batch has committed.
/// </summary>
public sealed class PostgresJobInserter : IAsyncDisposable, IBatchCommitter<PostgresJobInserter.Insert>
{
    /// <summary>More creates than this in one statement only lengthen the wait of the first.</summary>
    internal const int MaxBatchSize = 256;

    // Rows arrive as parallel arrays (one element per create); node lists and GPU devices, which are
    // arrays per row, as JSON arrays. A second create of the same id in one batch (two silos cannot
    // share a writer; only a replay racing its original could) is dropped before the insert, so it
    // reports "row exists" as it would alone. Only the rows the insert wrote get node, count and audit entries.
    private const string InsertSql =
        """
        WITH input AS (
            SELECT DISTINCT ON (id) *
            FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::text[], $8::int[],
                        $9::text[], $10::int[], $11::bigint[], $12::int[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[],
                        $18::timestamptz[], $19::timestamptz[], $20::text[], $21::text[], $22::text[], $23::text[], $24::text[], $25::text[], $26::text[])
                 WITH ORDINALITY AS i (id, user_name, state, start_time, end_time, nodes, scheduler, attempt,
                                       attempts, allocated_cpus, allocated_memory_mb, allocated_gpus, gpu_vendor, gpu_devices, cgroup_path, cluster, flags,
                                       updated_at, audit_at, change, from_state, to_state, changed_by, source, correlation_id, details, ord)
            ORDER BY id, ord),
        job AS (
            INSERT INTO jobs (id, user_name, state, start_time, end_time, nodes, scheduler, attempt, attempts,
                              allocated_cpus, allocated_memory_mb, allocated_gpus, gpu_vendor, gpu_devices, cgroup_path, cluster, flags, version, updated_at)
            SELECT id, user_name, state, start_time, end_time, ARRAY(SELECT jsonb_array_elements_text(nodes::jsonb)), scheduler::jsonb, attempt, attempts::jsonb,
                   allocated_cpus, allocated_memory_mb, allocated_gpus, gpu_vendor,
                   CASE WHEN gpu_devices IS NOT NULL THEN ARRAY(SELECT jsonb_array_elements_text(gpu_devices::jsonb)) END,
                   cgroup_path, cluster, flags::jsonb, 1, COALESCE(updated_at, now())
            FROM input ORDER BY id
            ON CONFLICT (id) DO NOTHING
            RETURNING id, job_key),
        counted AS (
            INSERT INTO service_counters (name, shard, value) SELECT 'jobs_created', counter_shard(), COUNT(*) FROM job HAVING COUNT(*) > 0
            ON CONFLICT (name, shard) DO UPDATE SET value = service_counters.value + excluded.value),
        placed AS (
            INSERT INTO job_nodes (node, job_id)
            SELECT DISTINCT n, job.id FROM job JOIN input USING (id), jsonb_array_elements_text(input.nodes::jsonb) AS n
            ON CONFLICT DO NOTHING),
        audited AS (
            INSERT INTO job_audit (job_id, at, change, from_state, to_state, changed_by, source, correlation_id, details)
            SELECT job.id, audit_at, change, from_state, to_state, changed_by, source, correlation_id, details::jsonb
            FROM job JOIN input USING (id) WHERE change IS NOT NULL ORDER BY input.ord)
        SELECT id, job_key FROM job
        """;

    private readonly PostgresDatabase _database;
    private readonly WriterMetrics _metrics;
    private readonly GroupCommit<Insert> _writer;

    public PostgresJobInserter(PostgresDatabase database, WriterMetrics metrics, ILogger<PostgresJobInserter> logger)
    {
        _database = database;
        _metrics = metrics;
        _writer = new GroupCommit<Insert>("PostgreSQL", MaxBatchSize, this, metrics, logger);
    }

    /// <summary>The new row's job key once it has committed, or null when a row with that id exists.</summary>
    internal async Task<long?> InsertAsync(string jobId, JobRecord record)
    {
        _metrics.CountOperation();
        var insert = new Insert(jobId, record);
        await _writer.EnqueueAsync(insert).ConfigureAwait(false);
        return await insert.Completion.ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _writer.DisposeAsync();

    /// <summary>A batch PostgreSQL refused as invalid is tried one create at a time; an outage fails it at once.</summary>
    bool IBatchCommitter<Insert>.RetriesAlone(Exception error) => !StorageErrors.IsTransient(error);

    async ValueTask<Task> IBatchCommitter<Insert>.CommitAsync(IReadOnlyList<Insert> batch)
    {
        await using var command = _database.DataSource.CreateCommand(InsertSql);
        var p = command.Parameters;
        T[] Column<T>(Func<Insert, T> value) => [.. batch.Select(value)];
        p.Add(Array(Column(i => (string?)i.JobId), NpgsqlDbType.Text));
        p.Add(Array(Column(i => (string?)i.Record.User), NpgsqlDbType.Text));
        p.Add(Array(Column(i => (string?)i.Record.State.ToWire()), NpgsqlDbType.Text));
        p.Add(Array(Column(i => (DateTimeOffset?)i.Record.StartTime), NpgsqlDbType.TimestampTz));
        p.Add(Array(Column(i => i.Record.EndTime), NpgsqlDbType.TimestampTz));
        p.Add(Array(Column(i => (string?)JsonSerializer.Serialize(i.Record.Nodes, StorageJson.Default.IReadOnlyListString)), NpgsqlDbType.Text));
        p.Add(Array(Column(i => i.Record.SchedulerJson), NpgsqlDbType.Text));
        p.Add(Array(Column(i => (int?)i.Record.Attempt), NpgsqlDbType.Integer));
        p.Add(Array(Column(i => StorageJson.Attempts(i.Record.Attempts)), NpgsqlDbType.Text));
        p.Add(Array(Column(i => i.Record.Allocation.Cpus), NpgsqlDbType.Integer));
        p.Add(Array(Column(i => i.Record.Allocation.MemoryMb), NpgsqlDbType.Bigint));
        p.Add(Array(Column(i => i.Record.Allocation.Gpus), NpgsqlDbType.Integer));
        p.Add(Array(Column(i => i.Record.Allocation.GpuVendor), NpgsqlDbType.Text));
        p.Add(Array(Column(i => i.Record.Allocation.GpuDevices is { } devices ? JsonSerializer.Serialize(devices, StorageJson.Default.IReadOnlyListString) : null), NpgsqlDbType.Text));
        p.Add(Array(Column(i => i.Record.Allocation.CgroupPath), NpgsqlDbType.Text));
        p.Add(Array(Column(i => i.Record.Cluster), NpgsqlDbType.Text));
        p.Add(Array(Column(i => StorageJson.Flags(i.Record.Flags)), NpgsqlDbType.Text));
        p.Add(Array(Column(i => i.Record.UpdatedAt), NpgsqlDbType.TimestampTz));
        p.Add(Array(Column(i => i.Record.PendingAudit?.At), NpgsqlDbType.TimestampTz));
        p.Add(Array(Column(i => i.Record.PendingAudit?.Change), NpgsqlDbType.Text));
        p.Add(Array(Column(i => i.Record.PendingAudit?.FromState?.ToWire()), NpgsqlDbType.Text));
        p.Add(Array(Column(i => i.Record.PendingAudit?.ToState?.ToWire()), NpgsqlDbType.Text));
        p.Add(Array(Column(i => i.Record.PendingAudit?.ChangedBy), NpgsqlDbType.Text));
        p.Add(Array(Column(i => i.Record.PendingAudit?.Source), NpgsqlDbType.Text));
        p.Add(Array(Column(i => i.Record.PendingAudit?.CorrelationId), NpgsqlDbType.Text));
        p.Add(Array(Column(i => i.Record.PendingAudit?.DetailsJson), NpgsqlDbType.Text));

        var keys = new Dictionary<string, long>(batch.Count, StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync().ConfigureAwait(false))
        {
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                keys[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        // The statement has committed: each create learns whether its row was the one written.
        foreach (var insert in batch)
        {
            insert.Written(keys.Remove(insert.JobId, out var key) ? key : null);
        }

        return Task.CompletedTask;
    }

    private static NpgsqlParameter Array<T>(T[] values, NpgsqlDbType element) =>
        new() { Value = values, NpgsqlDbType = NpgsqlDbType.Array | element };

    /// <summary>One queued create; its result is the new row's key, or null when the row existed.</summary>
    internal sealed class Insert(string jobId, JobRecord record) : GroupWrite<long?>
    {
        public string JobId { get; } = jobId;

        public JobRecord Record { get; } = record;

        internal void Written(long? key) => Result = key;
    }
}

using Npgsql;
using NpgsqlTypes;

namespace HpcJobs.Grains.Storage.Postgres;

/// <summary>
/// <see cref="JobRowStorage"/> on PostgreSQL: each write is one statement (one implicit transaction),
/// so the row, its node entries, the "jobs ever created" counter and, on delete, its samples change
/// together or not at all. The row's <c>job_key</c>, which the job's samples are stored under
/// (sql/postgres/050_sample_keys.sql), is read into <see cref="JobRecord.Key"/> and given to it on insert.
/// Inserts are group-committed by <see cref="PostgresJobInserter"/>; updates and deletes are one statement each.
/// </summary>
public sealed class PostgresJobRowStorage : JobRowStorage
{
    private readonly PostgresDatabase _database;
    private readonly PostgresJobInserter _inserter;

    public PostgresJobRowStorage(PostgresDatabase database, PostgresJobInserter inserter)
    {
        _database = database;
        _inserter = inserter;
    }

    protected override Task<(JobRecord? Record, long Version)> ReadAsync(string jobId) => _database.GuardAsync(async () =>
    {
        await using var command = _database.DataSource.CreateCommand(
            """
            SELECT user_name, nodes, state, start_time, end_time, scheduler::text, version, attempt, attempts::text,
                   allocated_cpus, allocated_memory_mb, allocated_gpus, gpu_vendor, gpu_devices, cgroup_path, cluster, updated_at, job_key
            FROM jobs WHERE id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = jobId });
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        if (!await reader.ReadAsync().ConfigureAwait(false))
        {
            return ((JobRecord?)null, 0L);
        }

        var record = new JobRecord
        {
            User = reader.GetString(0),
            Nodes = reader.GetFieldValue<string[]>(1),
            State = JobStateMachine.TryParse(reader.GetString(2), out var state) ? state : JobState.Pending,
            StartTime = new DateTimeOffset(reader.GetFieldValue<DateTime>(3), TimeSpan.Zero),
            EndTime = reader.IsDBNull(4) ? null : new DateTimeOffset(reader.GetFieldValue<DateTime>(4), TimeSpan.Zero),
            SchedulerJson = reader.IsDBNull(5) ? null : reader.GetString(5),
            Attempt = reader.GetInt32(7),
            Attempts = StorageJson.Attempts(reader.IsDBNull(8) ? null : reader.GetString(8)),
            Allocation = new JobAllocation(
                reader.IsDBNull(9) ? null : reader.GetInt32(9),
                reader.IsDBNull(10) ? null : reader.GetInt64(10),
                reader.IsDBNull(11) ? null : reader.GetInt32(11),
                reader.IsDBNull(12) ? null : reader.GetString(12),
                reader.IsDBNull(13) ? null : reader.GetFieldValue<string[]>(13),
                reader.IsDBNull(14) ? null : reader.GetString(14)).OrNone(),
            Cluster = reader.IsDBNull(15) ? null : reader.GetString(15),
            UpdatedAt = new DateTimeOffset(reader.GetFieldValue<DateTime>(16), TimeSpan.Zero),
            Key = reader.GetInt64(17),
        };
        return (record, reader.GetInt64(6));
    });

    // A transition is one statement (one round trip, one implicit transaction): the row,
    // its node entries, the counter and the audit entry are sub-statements that all see whether the
    // row was written (ON CONFLICT / version check) and write nothing when it was not.
    private const string AuditInsert =
        "INSERT INTO job_audit (job_id, at, change, from_state, to_state, changed_by, source, correlation_id, details) " +
        "SELECT id, {0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}::jsonb FROM job WHERE {1}::text IS NOT NULL";

    private static readonly string UpdateSql =
        """
        WITH job AS (
            UPDATE jobs SET user_name = $2, state = $3, start_time = $4, end_time = $5, nodes = $6, scheduler = $7::jsonb,
                            attempt = $8, attempts = $9::jsonb, allocated_cpus = $10, allocated_memory_mb = $11,
                            allocated_gpus = $12, gpu_vendor = $13, gpu_devices = $14, cgroup_path = $15, cluster = $16,
                            flags = $17::jsonb, version = version + 1, updated_at = COALESCE($27, now())
            WHERE id = $1 AND version = $18
            RETURNING id, job_key),
        footprinted AS (
            INSERT INTO job_footprints (job_key, footprint) SELECT job_key, $28::jsonb FROM job WHERE $28::text IS NOT NULL
            ON CONFLICT (job_key) DO UPDATE SET footprint = excluded.footprint),
        gone AS (
            DELETE FROM job_nodes WHERE job_id IN (SELECT id FROM job) AND NOT (node = ANY ($6::text[]))),
        placed AS (
            INSERT INTO job_nodes (node, job_id) SELECT DISTINCT n, job.id FROM job, unnest($6::text[]) AS n ON CONFLICT DO NOTHING),
        audited AS (
        """ + string.Format(System.Globalization.CultureInfo.InvariantCulture, AuditInsert, "$19", "$20", "$21", "$22", "$23", "$24", "$25", "$26") + """
        )
        SELECT COUNT(*) FROM job
        """;

    protected override async Task<bool> InsertAsync(string jobId, JobRecord record)
    {
        if (await _inserter.InsertAsync(jobId, record).ConfigureAwait(false) is not { } key)
        {
            return false;
        }

        record.Key = key;
        return true;
    }

    // The samples go by the key that the version-checked delete returns, so nothing goes when the
    // version is stale. (A lookup of the key by id would find the row in the statement's snapshot
    // whether or not the check passed.)
    private const string DeleteSql =
        """
        WITH job AS (
            DELETE FROM jobs WHERE id = $1 AND version = $2
            RETURNING job_key),
        gone AS (
            DELETE FROM samples WHERE job_key = (SELECT job_key FROM job))
        SELECT COUNT(*) FROM job
        """;

    protected override Task<bool> UpdateAsync(string jobId, JobRecord record, long version) => _database.GuardAsync(async () =>
    {
        await using var update = _database.DataSource.CreateCommand(UpdateSql);
        AddLifecycle(update.Parameters, jobId, record);
        update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = version });
        AddAudit(update.Parameters, record.PendingAudit);
        update.Parameters.Add(Nullable(record.UpdatedAt, NpgsqlDbType.TimestampTz));
        update.Parameters.Add(Nullable(record.PendingFootprint, NpgsqlDbType.Text));
        return (long)(await update.ExecuteScalarAsync().ConfigureAwait(false))! == 1;
    });

    protected override Task<bool> DeleteAsync(string jobId, long version) => _database.GuardAsync(async () =>
    {
        // job_nodes and job_audit go with the row (ON DELETE CASCADE); samples have no foreign key, for ingest speed.
        await using var delete = _database.DataSource.CreateCommand(DeleteSql);
        delete.Parameters.Add(new NpgsqlParameter<string> { TypedValue = jobId });
        delete.Parameters.Add(new NpgsqlParameter<long> { TypedValue = version });
        return (long)(await delete.ExecuteScalarAsync().ConfigureAwait(false))! == 1;
    });

    private static void AddLifecycle(NpgsqlParameterCollection parameters, string jobId, JobRecord record)
    {
        parameters.Add(new NpgsqlParameter<string> { TypedValue = jobId });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = record.User });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = record.State.ToWire() });
        parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = record.StartTime });
        parameters.Add(new NpgsqlParameter { Value = (object?)record.EndTime ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. record.Nodes] });
        parameters.Add(new NpgsqlParameter { Value = (object?)record.SchedulerJson ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter<int> { TypedValue = record.Attempt });
        parameters.Add(Nullable(StorageJson.Attempts(record.Attempts), NpgsqlDbType.Text));
        var allocation = record.Allocation;
        parameters.Add(Nullable(allocation.Cpus, NpgsqlDbType.Integer));
        parameters.Add(Nullable(allocation.MemoryMb, NpgsqlDbType.Bigint));
        parameters.Add(Nullable(allocation.Gpus, NpgsqlDbType.Integer));
        parameters.Add(Nullable(allocation.GpuVendor, NpgsqlDbType.Text));
        parameters.Add(Nullable(allocation.GpuDevices?.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text));
        parameters.Add(Nullable(allocation.CgroupPath, NpgsqlDbType.Text));
        parameters.Add(Nullable(record.Cluster, NpgsqlDbType.Text));
        parameters.Add(Nullable(StorageJson.Flags(record.Flags), NpgsqlDbType.Text));
    }

    private static NpgsqlParameter Nullable(object? value, NpgsqlDbType type) => new() { Value = value ?? DBNull.Value, NpgsqlDbType = type };

    /// <summary>The audit entry's eight parameters; all null (nothing inserted) when the write has none.</summary>
    private static void AddAudit(NpgsqlParameterCollection parameters, AuditEntry? entry)
    {
        parameters.Add(Nullable(entry?.At, NpgsqlDbType.TimestampTz));
        parameters.Add(Nullable(entry?.Change, NpgsqlDbType.Text));
        parameters.Add(Nullable(entry?.FromState?.ToWire(), NpgsqlDbType.Text));
        parameters.Add(Nullable(entry?.ToState?.ToWire(), NpgsqlDbType.Text));
        parameters.Add(Nullable(entry?.ChangedBy, NpgsqlDbType.Text));
        parameters.Add(Nullable(entry?.Source, NpgsqlDbType.Text));
        parameters.Add(Nullable(entry?.CorrelationId, NpgsqlDbType.Text));
        parameters.Add(Nullable(entry?.DetailsJson, NpgsqlDbType.Text));
    }
}

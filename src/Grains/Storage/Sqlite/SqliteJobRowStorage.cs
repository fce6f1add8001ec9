using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// <see cref="JobRowStorage"/> on the SQLite file: each write is one unit of the single writer, so it
/// commits in one transaction (possibly a group commit shared with other writes) or not at all —
/// the row, its node entries, the "jobs created" counter and the audit entry together.
/// </summary>
public sealed class SqliteJobRowStorage(SqliteDatabase database) : JobRowStorage
{
    /// <summary>The lifecycle columns, in the order <see cref="Bind"/> fills them after <c>$id</c>.</summary>
    private static readonly string[] Lifecycle =
    [
        "user_name", "state", "start_time", "end_time", "nodes", "scheduler", "attempt", "attempts",
        "allocated_cpus", "allocated_memory_mb", "allocated_gpus", "gpu_vendor", "gpu_devices", "cgroup_path", "cluster", "flags",
        "updated_at",
    ];

    private static readonly string[] LifecycleParameters = [.. Lifecycle.Select(column => "$" + column)];

    /// <summary>A new row takes the next job key (the writer is the file's only one, so nothing races it).</summary>
    private static readonly string InsertSql =
        $"""
        INSERT INTO jobs (id, {string.Join(", ", Lifecycle)}, version, job_key)
        VALUES ($id, {string.Join(", ", LifecycleParameters)}, 1, (SELECT IFNULL(MAX(job_key), 0) + 1 FROM jobs))
        ON CONFLICT (id) DO NOTHING RETURNING job_key
        """;

    private static readonly string UpdateSql =
        $"UPDATE jobs SET {string.Join(", ", Lifecycle.Select(column => $"{column} = ${column}"))}, version = version + 1 WHERE id = $id AND version = $version";

    protected override async Task<(JobRecord? Record, long Version)> ReadAsync(string jobId)
    {
        await using var connection = database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {string.Join(", ", Lifecycle)}, version, job_key FROM jobs WHERE id = $id";
        command.Parameters.AddWithValue("$id", jobId);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        if (!await reader.ReadAsync().ConfigureAwait(false))
        {
            return (null, 0);
        }

        var record = new JobRecord
        {
            User = reader.GetString(0),
            State = JobStateMachine.TryParse(reader.GetString(1), out var state) ? state : JobState.Pending,
            StartTime = MicrosecondTime.FromUnixMicroseconds(reader.GetInt64(2)),
            EndTime = reader.IsDBNull(3) ? null : MicrosecondTime.FromUnixMicroseconds(reader.GetInt64(3)),
            Nodes = JsonSerializer.Deserialize(reader.GetString(4), StorageJson.Default.StringArray) ?? [],
            SchedulerJson = reader.IsDBNull(5) ? null : reader.GetString(5),
            Attempt = reader.GetInt32(6),
            Attempts = StorageJson.Attempts(reader.IsDBNull(7) ? null : reader.GetString(7)),
            Allocation = new JobAllocation(
                reader.IsDBNull(8) ? null : reader.GetInt32(8),
                reader.IsDBNull(9) ? null : reader.GetInt64(9),
                reader.IsDBNull(10) ? null : reader.GetInt32(10),
                reader.IsDBNull(11) ? null : reader.GetString(11),
                reader.IsDBNull(12) ? null : JsonSerializer.Deserialize(reader.GetString(12), StorageJson.Default.ListString),
                reader.IsDBNull(13) ? null : reader.GetString(13)).OrNone(),
            Cluster = reader.IsDBNull(14) ? null : reader.GetString(14),
            UpdatedAt = reader.IsDBNull(16) ? null : MicrosecondTime.FromUnixMicroseconds(reader.GetInt64(16)),
            Key = reader.GetInt64(Lifecycle.Length + 1),
        };
        return (record, reader.GetInt64(Lifecycle.Length));
    }

    protected override Task<bool> InsertAsync(string jobId, JobRecord record) =>
        database.WriteAsync(new DelegateWrite<bool>(context =>
        {
            var insert = context.Command(InsertSql, ["$id", .. LifecycleParameters]);
            Bind(insert.Parameters, jobId, record);
            if (insert.ExecuteScalar() is not long key)
            {
                return false;
            }

            record.Key = key;

            // A key comes back after its job was deleted (the largest plus one); nothing of that job is left under it.
            var stale = context.Command("DELETE FROM job_footprints WHERE job_key = $key", "$key");
            stale.Parameters[0].Value = key;
            stale.ExecuteNonQuery();

            context.Command(
                "INSERT INTO service_counters (name, value) VALUES ('jobs_created', 1) ON CONFLICT (name) DO UPDATE SET value = value + 1")
                .ExecuteNonQuery();
            WriteNodes(context, jobId, record.Nodes);
            WriteAudit(context, jobId, record.PendingAudit);
            return true;
        }));

    protected override Task<bool> UpdateAsync(string jobId, JobRecord record, long version) =>
        database.WriteAsync(new DelegateWrite<bool>(context =>
        {
            var update = context.Command(UpdateSql, ["$id", .. LifecycleParameters, "$version"]);
            Bind(update.Parameters, jobId, record);
            update.Parameters[^1].Value = version;
            if (update.ExecuteNonQuery() == 0)
            {
                return false;
            }

            if (record.PendingFootprint is { } footprint)
            {
                var write = context.Command(SqliteMigrations.UpsertFootprintSql, "$key", "$footprint");
                write.Parameters[0].Value = record.Key;
                write.Parameters[1].Value = footprint;
                write.ExecuteNonQuery();
            }

            var clear = context.Command("DELETE FROM job_nodes WHERE job_id = $id", "$id");
            clear.Parameters[0].Value = jobId;
            clear.ExecuteNonQuery();
            WriteNodes(context, jobId, record.Nodes);
            WriteAudit(context, jobId, record.PendingAudit);
            return true;
        }));

    protected override Task<bool> DeleteAsync(string jobId, long version) =>
        database.WriteAsync(new DelegateWrite<bool>(context =>
        {
            var row = context.Command("DELETE FROM jobs WHERE id = $id AND version = $version RETURNING job_key", "$id", "$version");
            row.Parameters[0].Value = jobId;
            row.Parameters[1].Value = version;
            if (row.ExecuteScalar() is not long key)
            {
                return false;
            }

            foreach (var sql in new[] { "DELETE FROM samples WHERE job_key = $key", "DELETE FROM job_footprints WHERE job_key = $key" })
            {
                var command = context.Command(sql, "$key");
                command.Parameters[0].Value = key;
                command.ExecuteNonQuery();
            }
            foreach (var sql in new[] { "DELETE FROM job_nodes WHERE job_id = $id", "DELETE FROM job_audit WHERE job_id = $id" })
            {
                var command = context.Command(sql, "$id");
                command.Parameters[0].Value = jobId;
                command.ExecuteNonQuery();
            }

            return true;
        }));

    private static void Bind(SqliteParameterCollection parameters, string jobId, JobRecord record)
    {
        var allocation = record.Allocation;
        object?[] values =
        [
            jobId,
            record.User,
            record.State.ToWire(),
            MicrosecondTime.ToUnixMicroseconds(record.StartTime),
            record.EndTime is { } end ? MicrosecondTime.ToUnixMicroseconds(end) : null,
            JsonSerializer.Serialize(record.Nodes, StorageJson.Default.IReadOnlyListString),
            record.SchedulerJson,
            record.Attempt,
            StorageJson.Attempts(record.Attempts),
            allocation.Cpus,
            allocation.MemoryMb,
            allocation.Gpus,
            allocation.GpuVendor,
            allocation.GpuDevices is { } devices ? JsonSerializer.Serialize(devices, StorageJson.Default.IReadOnlyListString) : null,
            allocation.CgroupPath,
            record.Cluster,
            StorageJson.Flags(record.Flags),
            record.UpdatedAt is { } updated ? MicrosecondTime.ToUnixMicroseconds(updated) : null,
        ];
        for (var i = 0; i < values.Length; i++)
        {
            parameters[i].Value = values[i] ?? DBNull.Value;
        }
    }

    private static void WriteNodes(SqliteWriteContext context, string jobId, IReadOnlyList<string> nodes)
    {
        var insertNode = context.Command("INSERT OR IGNORE INTO job_nodes (node, job_id) VALUES ($node, $id)", "$node", "$id");
        foreach (var node in nodes)
        {
            insertNode.Parameters[0].Value = node;
            insertNode.Parameters[1].Value = jobId;
            insertNode.ExecuteNonQuery();
        }
    }

    private static void WriteAudit(SqliteWriteContext context, string jobId, AuditEntry? entry)
    {
        if (entry is null)
        {
            return;
        }

        var insert = context.Command(
            """
            INSERT INTO job_audit (job_id, at, change, from_state, to_state, changed_by, source, correlation_id, details)
            VALUES ($job, $at, $change, $from, $to, $by, $source, $correlation, $details)
            """,
            "$job", "$at", "$change", "$from", "$to", "$by", "$source", "$correlation", "$details");
        object?[] values =
        [
            jobId, MicrosecondTime.ToUnixMicroseconds(entry.At), entry.Change, entry.FromState?.ToWire(), entry.ToState?.ToWire(),
            entry.ChangedBy, entry.Source, entry.CorrelationId, entry.DetailsJson,
        ];
        for (var i = 0; i < values.Length; i++)
        {
            insert.Parameters[i].Value = values[i] ?? DBNull.Value;
        }

        insert.ExecuteNonQuery();
    }
}

using System.Text.Json;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// <see cref="JobRowStorage"/> on the SQLite file: each write is one unit of the single writer, so it
/// commits in one transaction (possibly a group commit shared with other writes) or not at all.
/// </summary>
public sealed class SqliteJobRowStorage(SqliteDatabase database) : JobRowStorage
{
    protected override async Task<(JobRecord? Record, long Version)> ReadAsync(string jobId)
    {
        await using var connection = database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT user_name, nodes, state, start_time, end_time, scheduler, version FROM jobs WHERE id = $id";
        command.Parameters.AddWithValue("$id", jobId);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        if (!await reader.ReadAsync().ConfigureAwait(false))
        {
            return (null, 0);
        }

        var record = new JobRecord
        {
            User = reader.GetString(0),
            Nodes = JsonSerializer.Deserialize(reader.GetString(1), StorageJson.Default.ListString) ?? [],
            State = JobStateMachine.TryParse(reader.GetString(2), out var state) ? state : JobState.Pending,
            StartTime = MicrosecondTime.FromUnixMicroseconds(reader.GetInt64(3)),
            EndTime = reader.IsDBNull(4) ? null : MicrosecondTime.FromUnixMicroseconds(reader.GetInt64(4)),
            SchedulerJson = reader.IsDBNull(5) ? null : reader.GetString(5),
        };
        return (record, reader.GetInt64(6));
    }

    protected override Task<bool> InsertAsync(string jobId, JobRecord record) =>
        database.WriteAsync(new DelegateWrite<bool>(context =>
        {
            var insert = context.Command(
                """
                INSERT INTO jobs (id, user_name, state, start_time, end_time, nodes, scheduler, version)
                VALUES ($id, $user, $state, $start, $end, $nodes, $scheduler, 1)
                ON CONFLICT (id) DO NOTHING
                """,
                "$id", "$user", "$state", "$start", "$end", "$nodes", "$scheduler");
            Bind(insert.Parameters, jobId, record);
            if (insert.ExecuteNonQuery() == 0)
            {
                return false;
            }

            context.Command(
                "INSERT INTO service_counters (name, value) VALUES ('jobs_created', 1) ON CONFLICT (name) DO UPDATE SET value = value + 1")
                .ExecuteNonQuery();
            WriteNodes(context, jobId, record.Nodes);
            return true;
        }));

    protected override Task<bool> UpdateAsync(string jobId, JobRecord record, long version) =>
        database.WriteAsync(new DelegateWrite<bool>(context =>
        {
            var update = context.Command(
                """
                UPDATE jobs SET user_name = $user, state = $state, start_time = $start, end_time = $end,
                                nodes = $nodes, scheduler = $scheduler, version = version + 1
                WHERE id = $id AND version = $version
                """,
                "$id", "$user", "$state", "$start", "$end", "$nodes", "$scheduler", "$version");
            Bind(update.Parameters, jobId, record);
            update.Parameters[7].Value = version;
            if (update.ExecuteNonQuery() == 0)
            {
                return false;
            }

            var clear = context.Command("DELETE FROM job_nodes WHERE job_id = $id", "$id");
            clear.Parameters[0].Value = jobId;
            clear.ExecuteNonQuery();
            WriteNodes(context, jobId, record.Nodes);
            return true;
        }));

    protected override Task<bool> DeleteAsync(string jobId, long version) =>
        database.WriteAsync(new DelegateWrite<bool>(context =>
        {
            var row = context.Command("DELETE FROM jobs WHERE id = $id AND version = $version", "$id", "$version");
            row.Parameters[0].Value = jobId;
            row.Parameters[1].Value = version;
            if (row.ExecuteNonQuery() == 0)
            {
                return false;
            }

            foreach (var sql in new[] { "DELETE FROM samples WHERE job_id = $id", "DELETE FROM job_nodes WHERE job_id = $id" })
            {
                var command = context.Command(sql, "$id");
                command.Parameters[0].Value = jobId;
                command.ExecuteNonQuery();
            }

            return true;
        }));

    private static void Bind(Microsoft.Data.Sqlite.SqliteParameterCollection parameters, string jobId, JobRecord record)
    {
        parameters[0].Value = jobId;
        parameters[1].Value = record.User;
        parameters[2].Value = record.State.ToWire();
        parameters[3].Value = MicrosecondTime.ToUnixMicroseconds(record.StartTime);
        parameters[4].Value = record.EndTime is { } end ? MicrosecondTime.ToUnixMicroseconds(end) : DBNull.Value;
        parameters[5].Value = JsonSerializer.Serialize(record.Nodes, StorageJson.Default.ListString);
        parameters[6].Value = (object?)record.SchedulerJson ?? DBNull.Value;
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
}

using System.Text.Json;
using HpcJobs.Grains.Nodes;
using Microsoft.Data.Sqlite;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>The nodes table on the SQLite file: node grain storage (through the single writer) and its reads.</summary>
public sealed class SqliteNodeStore(SqliteDatabase database) : NodeRowStorage, INodeIndex
{
    private const string Columns = "node, last_heartbeat, heartbeating_since, listed";

    public async Task<IReadOnlyList<StoredNode>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM nodes ORDER BY node";
        var nodes = new List<StoredNode>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            nodes.Add(new StoredNode(reader.GetString(0), ReadRecord(reader)));
        }

        return nodes;
    }

    public async Task<IReadOnlyList<RunningJob>> ListRunningAsync(
        DateTimeOffset startedBy, string afterId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = database.OpenReader();
        await using var command = connection.CreateCommand();

        // As for re-activation: without statistics SQLite would prefer jobs_by_state and sort.
        command.CommandText =
            """
            SELECT id, attempt, start_time, nodes FROM jobs INDEXED BY jobs_active_by_id
            WHERE state IN ('pending', 'running') AND state = 'running' AND id > $after AND start_time <= $started
            ORDER BY id LIMIT $limit
            """;
        command.Parameters.AddWithValue("$after", afterId);
        command.Parameters.AddWithValue("$started", MicrosecondTime.ToUnixMicroseconds(startedBy));
        command.Parameters.AddWithValue("$limit", limit);
        var jobs = new List<RunningJob>(Math.Min(limit, 1024));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            jobs.Add(new RunningJob(
                reader.GetString(0),
                reader.GetInt32(1),
                MicrosecondTime.FromUnixMicroseconds(reader.GetInt64(2)),
                JsonSerializer.Deserialize(reader.GetString(3), StorageJson.Default.StringArray) ?? []));
        }

        return jobs;
    }

    protected override async Task<(NodeRecord? Record, long Version)> ReadAsync(string node)
    {
        await using var connection = database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns}, version FROM nodes WHERE node = $node";
        command.Parameters.AddWithValue("$node", node);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        return await reader.ReadAsync().ConfigureAwait(false) ? (ReadRecord(reader), reader.GetInt64(4)) : (null, 0);
    }

    protected override Task<bool> WriteAsync(string node, NodeRecord record, long? version)
    {
        var listed = record.ListedJson();
        var jobCount = record.CurrentJobs().Count;
        return database.WriteAsync(new DelegateWrite<bool>(context =>
        {
            var command = version is null
                ? context.Command(
                    """
                    INSERT INTO nodes (node, last_heartbeat, heartbeating_since, job_count, listed, version)
                    VALUES ($node, $last, $since, $count, $listed, 1)
                    ON CONFLICT (node) DO NOTHING
                    """,
                    "$node", "$last", "$since", "$count", "$listed")
                : context.Command(
                    """
                    UPDATE nodes SET last_heartbeat = $last, heartbeating_since = $since, job_count = $count,
                                     listed = $listed, version = version + 1
                    WHERE node = $node AND version = $version
                    """,
                    "$node", "$last", "$since", "$count", "$listed", "$version");
            command.Parameters[0].Value = node;
            command.Parameters[1].Value = MicrosecondTime.ToUnixMicroseconds(record.LastHeartbeat);
            command.Parameters[2].Value = MicrosecondTime.ToUnixMicroseconds(record.HeartbeatingSince);
            command.Parameters[3].Value = jobCount;
            command.Parameters[4].Value = listed;
            if (version is { } expected)
            {
                command.Parameters[5].Value = expected;
            }

            return command.ExecuteNonQuery() == 1;
        }));
    }

    private static NodeRecord ReadRecord(SqliteDataReader reader) => new()
    {
        LastHeartbeat = MicrosecondTime.FromUnixMicroseconds(reader.GetInt64(1)),
        HeartbeatingSince = MicrosecondTime.FromUnixMicroseconds(reader.GetInt64(2)),
        Listed = NodeRecord.ParseListed(reader.GetString(3)),
    };
}

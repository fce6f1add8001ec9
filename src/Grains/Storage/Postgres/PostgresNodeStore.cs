using HpcJobs.Grains.Nodes;
using Npgsql;
using NpgsqlTypes;

namespace HpcJobs.Grains.Storage.Postgres;

/// <summary>The nodes table on PostgreSQL: node grain storage (one statement per heartbeat) and its reads.</summary>
public sealed class PostgresNodeStore(PostgresDatabase database) : NodeRowStorage, INodeIndex
{
    private const string Columns = "node, last_heartbeat, heartbeating_since, listed::text";

    public Task<IReadOnlyList<StoredNode>> ListAsync(CancellationToken cancellationToken) =>
        database.GuardAsync<IReadOnlyList<StoredNode>>(async () =>
        {
            await using var command = database.DataSource.CreateCommand($"SELECT {Columns} FROM nodes ORDER BY node");
            var nodes = new List<StoredNode>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                nodes.Add(new StoredNode(reader.GetString(0), ReadRecord(reader)));
            }

            return nodes;
        });

    public Task<IReadOnlyList<RunningJob>> ListRunningAsync(
        DateTimeOffset startedBy, string afterId, int limit, CancellationToken cancellationToken) =>
        database.GuardAsync<IReadOnlyList<RunningJob>>(async () =>
        {
            // The states are literals so that the planner can prove the partial index jobs_active_id_idx applies.
            await using var command = database.DataSource.CreateCommand(
                """
                SELECT id, attempt, start_time, nodes FROM jobs
                WHERE state IN ('pending', 'running') AND state = 'running' AND id > $1 AND start_time <= $2
                ORDER BY id LIMIT $3
                """);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = afterId });
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = startedBy });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
            var jobs = new List<RunningJob>(Math.Min(limit, 1024));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                jobs.Add(new RunningJob(
                    reader.GetString(0),
                    reader.GetInt32(1),
                    new DateTimeOffset(reader.GetFieldValue<DateTime>(2), TimeSpan.Zero),
                    reader.GetFieldValue<string[]>(3)));
            }

            return jobs;
        });

    protected override Task<(NodeRecord? Record, long Version)> ReadAsync(string node) => database.GuardAsync(async () =>
    {
        await using var command = database.DataSource.CreateCommand($"SELECT {Columns}, version FROM nodes WHERE node = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = node });
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        return await reader.ReadAsync().ConfigureAwait(false) ? (ReadRecord(reader), reader.GetInt64(4)) : ((NodeRecord?)null, 0L);
    });

    protected override Task<bool> WriteAsync(string node, NodeRecord record, long? version) => database.GuardAsync(async () =>
    {
        await using var command = database.DataSource.CreateCommand(version is null
            ? """
              INSERT INTO nodes (node, last_heartbeat, heartbeating_since, job_count, listed, version)
              VALUES ($1, $2, $3, $4, $5::jsonb, 1)
              ON CONFLICT (node) DO NOTHING
              """
            : """
              UPDATE nodes SET last_heartbeat = $2, heartbeating_since = $3, job_count = $4, listed = $5::jsonb, version = version + 1
              WHERE node = $1 AND version = $6
              """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = node });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = record.LastHeartbeat });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = record.HeartbeatingSince });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = record.CurrentJobs().Count });
        command.Parameters.Add(new NpgsqlParameter { Value = record.ListedJson(), NpgsqlDbType = NpgsqlDbType.Text });
        if (version is { } expected)
        {
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = expected });
        }

        return await command.ExecuteNonQueryAsync().ConfigureAwait(false) == 1;
    });

    private static NodeRecord ReadRecord(NpgsqlDataReader reader) => new()
    {
        LastHeartbeat = new DateTimeOffset(reader.GetFieldValue<DateTime>(1), TimeSpan.Zero),
        HeartbeatingSince = new DateTimeOffset(reader.GetFieldValue<DateTime>(2), TimeSpan.Zero),
        Listed = NodeRecord.ParseListed(reader.GetString(3)),
    };
}

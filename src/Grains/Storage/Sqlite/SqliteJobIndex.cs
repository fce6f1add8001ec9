using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace HpcJobs.Grains.Storage.Sqlite;

public sealed class SqliteJobIndex(SqliteDatabase database) : IJobIndex
{
    private const string Columns =
        "j.id, j.user_name, j.nodes, j.state, j.start_time, j.end_time, j.scheduler, " +
        "j.cpu_usage, j.memory_usage_mb, j.gpu_usage, j.last_sample_time";

    public async Task<long> ReadJobsCreatedAsync(CancellationToken cancellationToken)
    {
        await using var connection = database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM service_counters WHERE name = 'jobs_created'";
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long value ? value : 0;
    }

    public async Task<UsageSample?> ReadLatestAsync(string jobId)
    {
        await using var connection = database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT last_sample_time, cpu_usage, memory_usage_mb, gpu_usage FROM jobs WHERE id = $id AND last_sample_time IS NOT NULL";
        command.Parameters.AddWithValue("$id", jobId);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        return await reader.ReadAsync().ConfigureAwait(false)
            ? new UsageSample(
                MicrosecondTime.FromUnixMicroseconds(reader.GetInt64(0)),
                reader.GetDouble(1),
                reader.GetInt64(2),
                reader.IsDBNull(3) ? null : reader.GetDouble(3))
            : null;
    }

    public async Task<bool> ExistsAsync(string jobId, CancellationToken cancellationToken)
    {
        await using var connection = database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM jobs WHERE id = $id";
        command.Parameters.AddWithValue("$id", jobId);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    public async Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken)
    {
        await using var connection = database.OpenReader();

        // One read transaction: the total and the page come from the same snapshot.
        await using var transaction = connection.BeginTransaction(deferred: true);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        var from = new StringBuilder(" FROM ");
        var where = new List<string>();
        if (query.Node is not null)
        {
            from.Append("job_nodes n JOIN jobs j ON j.id = n.job_id");
            where.Add("n.node = $node");
            command.Parameters.AddWithValue("$node", query.Node);
        }
        else
        {
            from.Append("jobs j");
        }

        if (query.State is { } state)
        {
            where.Add("j.state = $state");
            command.Parameters.AddWithValue("$state", state.ToWire());
        }

        if (query.User is not null)
        {
            where.Add("j.user_name = $user");
            command.Parameters.AddWithValue("$user", query.User);
        }

        var filter = from + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : string.Empty);
        command.CommandText = StateCounts.TotalSql(query, "$state") ?? "SELECT COUNT(*)" + filter;
        var total = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;

        command.CommandText = $"SELECT {Columns}{filter} ORDER BY j.start_time DESC, j.id LIMIT $limit OFFSET $offset";
        command.Parameters.AddWithValue("$limit", query.Limit);
        command.Parameters.AddWithValue("$offset", query.Offset);
        var jobs = new List<JobView>(Math.Min(query.Limit, 128));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            jobs.Add(ReadJob(reader));
        }

        return new JobPage(jobs, total);
    }

    public async Task<IReadOnlyList<string>> ListActiveIdsAsync(string afterId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = database.OpenReader();
        await using var command = connection.CreateCommand();

        // Without statistics SQLite prefers jobs_by_state and sorts every active job for each page.
        command.CommandText =
            "SELECT id FROM jobs INDEXED BY jobs_active_by_id WHERE state IN ('pending', 'running') AND id > $after ORDER BY id LIMIT $limit";
        command.Parameters.AddWithValue("$after", afterId);
        command.Parameters.AddWithValue("$limit", limit);
        var ids = new List<string>(Math.Min(limit, 1024));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    public async Task<IReadOnlyDictionary<JobState, long>> CountByStateAsync(CancellationToken cancellationToken)
    {
        await using var connection = database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = StateCounts.Sql;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await StateCounts.ReadAsync(reader, cancellationToken).ConfigureAwait(false);
    }

    private static JobView ReadJob(SqliteDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        JsonSerializer.Deserialize(reader.GetString(2), StorageJson.Default.StringArray) ?? [],
        JobStateMachine.TryParse(reader.GetString(3), out var state) ? state : JobState.Pending,
        MicrosecondTime.FromUnixMicroseconds(reader.GetInt64(4)),
        reader.IsDBNull(5) ? null : MicrosecondTime.FromUnixMicroseconds(reader.GetInt64(5)),
        reader.IsDBNull(6) ? null : reader.GetString(6),
        reader.IsDBNull(10)
            ? null
            : new UsageSample(
                MicrosecondTime.FromUnixMicroseconds(reader.GetInt64(10)),
                reader.GetDouble(7),
                reader.GetInt64(8),
                reader.IsDBNull(9) ? null : reader.GetDouble(9)));
}

using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace HpcJobs.Grains.Storage.Postgres;

public sealed class PostgresJobIndex(PostgresDatabase database) : IJobIndex
{
    private const string Columns =
        "j.id, j.user_name, j.nodes, j.state, j.start_time, j.end_time, j.scheduler::text, " +
        "j.cpu_usage, j.memory_usage_mb, j.gpu_usage, j.last_sample_time";

    public Task<long> ReadJobsCreatedAsync(CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var command = database.DataSource.CreateCommand("SELECT value FROM service_counters WHERE name = 'jobs_created'");
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long value ? value : 0;
    });

    public Task<UsageSample?> ReadLatestAsync(string jobId) => database.GuardAsync(async () =>
    {
        await using var command = database.DataSource.CreateCommand(
            "SELECT last_sample_time, cpu_usage, memory_usage_mb, gpu_usage FROM jobs WHERE id = $1 AND last_sample_time IS NOT NULL");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = jobId });
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        return await reader.ReadAsync().ConfigureAwait(false)
            ? new UsageSample(
                new DateTimeOffset(reader.GetFieldValue<DateTime>(0), TimeSpan.Zero),
                reader.GetDouble(1),
                reader.GetInt64(2),
                reader.IsDBNull(3) ? null : reader.GetDouble(3))
            : null;
    });

    public Task<bool> ExistsAsync(string jobId, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var command = database.DataSource.CreateCommand("SELECT 1 FROM jobs WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = jobId });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    });

    public Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var from = new StringBuilder(" FROM ");
        var where = new List<string>();
        var parameters = new List<NpgsqlParameter>();
        if (query.Node is not null)
        {
            from.Append("job_nodes n JOIN jobs j ON j.id = n.job_id");
            parameters.Add(new NpgsqlParameter<string> { TypedValue = query.Node });
            where.Add($"n.node = ${parameters.Count}");
        }
        else
        {
            from.Append("jobs j");
        }

        if (query.State is { } state)
        {
            parameters.Add(new NpgsqlParameter<string> { TypedValue = state.ToWire() });
            where.Add($"j.state = ${parameters.Count}");
        }

        if (query.User is not null)
        {
            parameters.Add(new NpgsqlParameter<string> { TypedValue = query.User });
            where.Add($"j.user_name = ${parameters.Count}");
        }

        var filter = from + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : string.Empty);

        // A state-only or unfiltered total is kept by triggers (see 010_service.sql); count and page go in one round trip.
        await using var batch = new NpgsqlBatch(connection);
        var count = new NpgsqlBatchCommand(StateCounts.TotalSql(query, "$1") ?? "SELECT COUNT(*)" + filter);
        count.Parameters.AddRange(parameters.Select(p => p.Clone()).ToArray());
        batch.BatchCommands.Add(count);
        var select = new NpgsqlBatchCommand(
            $"SELECT {Columns}{filter} ORDER BY j.start_time DESC, j.id LIMIT ${parameters.Count + 1} OFFSET ${parameters.Count + 2}");
        select.Parameters.AddRange(parameters.ToArray());
        select.Parameters.Add(new NpgsqlParameter<int> { TypedValue = query.Limit });
        select.Parameters.Add(new NpgsqlParameter<long> { TypedValue = query.Offset });
        batch.BatchCommands.Add(select);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var total = reader.GetInt64(0);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var jobs = new List<JobView>(Math.Min(query.Limit, 128));
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            jobs.Add(new JobView(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetFieldValue<string[]>(2),
                JobStateMachine.TryParse(reader.GetString(3), out var jobState) ? jobState : JobState.Pending,
                new DateTimeOffset(reader.GetFieldValue<DateTime>(4), TimeSpan.Zero),
                reader.IsDBNull(5) ? null : new DateTimeOffset(reader.GetFieldValue<DateTime>(5), TimeSpan.Zero),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(10)
                    ? null
                    : new UsageSample(
                        new DateTimeOffset(reader.GetFieldValue<DateTime>(10), TimeSpan.Zero),
                        reader.GetDouble(7),
                        reader.GetInt64(8),
                        reader.IsDBNull(9) ? null : reader.GetDouble(9))));
        }

        return new JobPage(jobs, total);
    });

    public Task<IReadOnlyList<string>> ListActiveIdsAsync(string afterId, int limit, CancellationToken cancellationToken) =>
        database.GuardAsync<IReadOnlyList<string>>(async () =>
        {
            // The states are literals so that the planner can prove the partial index jobs_active_id_idx applies.
            await using var command = database.DataSource.CreateCommand(
                "SELECT id FROM jobs WHERE state IN ('pending', 'running') AND id > $1 ORDER BY id LIMIT $2");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = afterId });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
            var ids = new List<string>(Math.Min(limit, 1024));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                ids.Add(reader.GetString(0));
            }

            return ids;
        });

    public Task<IReadOnlyDictionary<JobState, long>> CountByStateAsync(CancellationToken cancellationToken) =>
        database.GuardAsync<IReadOnlyDictionary<JobState, long>>(async () =>
        {
            await using var command = database.DataSource.CreateCommand(StateCounts.Sql);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await StateCounts.ReadAsync(reader, cancellationToken).ConfigureAwait(false);
        });
}

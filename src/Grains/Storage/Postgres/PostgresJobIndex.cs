using Npgsql;
using NpgsqlTypes;

namespace HpcJobs.Grains.Storage.Postgres;

public sealed class PostgresJobIndex(PostgresDatabase database, JobListSql list) : IJobIndex
{
    public Task<long> ReadJobsCreatedAsync(CancellationToken cancellationToken) => database.GuardAsync(async () =>
    {
        await using var command = database.DataSource.CreateCommand(
            "SELECT CAST(SUM(value) AS bigint) FROM service_counters WHERE name = 'jobs_created'");
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long value ? value : 0;
    });

    public Task<StoredUsage> ReadUsageAsync(string jobId) => database.GuardAsync(async () =>
    {
        await using var command = database.DataSource.CreateCommand(
            "SELECT j.last_sample_time, j.cpu_usage, j.memory_usage_mb, j.gpu_usage, fp.footprint::text " +
            "FROM jobs j LEFT JOIN job_footprints fp ON fp.job_key = j.job_key WHERE j.id = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = jobId });
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        if (!await reader.ReadAsync().ConfigureAwait(false))
        {
            return new StoredUsage(null, null);
        }

        return StorageRows.Usage(reader, reader.IsDBNull(0) ? null : new DateTimeOffset(reader.GetFieldValue<DateTime>(0), TimeSpan.Zero));
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
        var (filter, values) = list.Filter(query, i => "$" + i, t => t);
        var parameters = values.Select(value => new NpgsqlParameter { Value = value }).ToList();

        // A state-only or unfiltered total is kept by triggers (see 010_service.sql); count and page go in one round trip.
        await using var batch = new NpgsqlBatch(connection);
        var count = new NpgsqlBatchCommand(StateCounts.TotalSql(query, "$1") ?? "SELECT COUNT(*)" + filter);
        count.Parameters.AddRange(parameters.Select(p => p.Clone()).ToArray());
        batch.BatchCommands.Add(count);
        var select = new NpgsqlBatchCommand(
            $"SELECT {JobListSql.Columns}{filter} ORDER BY j.start_time DESC, j.id LIMIT ${parameters.Count + 1} OFFSET ${parameters.Count + 2}");
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
            jobs.Add(list.Read(reader, Time, Strings));
        }

        return new JobPage(jobs, total);
    });

    public Task<IReadOnlyList<ActiveJobRow>> ListActiveJobsAsync(string afterId, int limit, CancellationToken cancellationToken) =>
        database.GuardAsync<IReadOnlyList<ActiveJobRow>>(async () =>
        {
            // The states are literals so that the planner can prove the partial index jobs_active_id_idx applies.
            // GREATEST ignores NULLs: a job without samples is as recent as its start or last lifecycle write.
            await using var command = database.DataSource.CreateCommand(
                """
                SELECT id, GREATEST(start_time, last_sample_time, updated_at), scheduler ->> 'time_limit_minutes'
                FROM jobs WHERE state IN ('pending', 'running') AND id > $1 ORDER BY id LIMIT $2
                """);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = afterId });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
            var jobs = new List<ActiveJobRow>(Math.Min(limit, 1024));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                jobs.Add(new ActiveJobRow(
                    reader.GetString(0),
                    new DateTimeOffset(reader.GetFieldValue<DateTime>(1), TimeSpan.Zero),
                    reader.IsDBNull(2) ? null : StorageRows.TimeLimit(reader.GetString(2))));
            }

            return jobs;
        });

    public Task<IReadOnlyDictionary<JobState, long>> CountByStateAsync(CancellationToken cancellationToken) =>
        database.GuardAsync<IReadOnlyDictionary<JobState, long>>(async () =>
        {
            await using var command = database.DataSource.CreateCommand(StateCounts.Sql);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await StateCounts.ReadAsync(reader, cancellationToken).ConfigureAwait(false);
        });

    public Task<AuditPage> ReadAuditAsync(string jobId, int limit, long offset, CancellationToken cancellationToken) =>
        database.GuardAsync(async () =>
        {
            await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using var batch = new NpgsqlBatch(connection, transaction);
            var count = new NpgsqlBatchCommand("SELECT COUNT(*) FROM job_audit WHERE job_id = $1");
            count.Parameters.Add(new NpgsqlParameter<string> { TypedValue = jobId });
            batch.BatchCommands.Add(count);
            var select = new NpgsqlBatchCommand(
                $"SELECT {JobListSql.AuditColumns.Replace("details", "details::text", StringComparison.Ordinal)} FROM job_audit WHERE job_id = $1 ORDER BY id LIMIT $2 OFFSET $3");
            select.Parameters.Add(new NpgsqlParameter<string> { TypedValue = jobId });
            select.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
            select.Parameters.Add(new NpgsqlParameter<long> { TypedValue = offset });
            batch.BatchCommands.Add(select);
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var total = reader.GetInt64(0);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            var entries = new List<AuditEntry>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                entries.Add(JobListSql.ReadAudit(reader, Time));
            }

            return new AuditPage(entries, total);
        });

    private static DateTimeOffset Time(System.Data.Common.DbDataReader reader, int ordinal) =>
        new(reader.GetFieldValue<DateTime>(ordinal), TimeSpan.Zero);

    private static IReadOnlyList<string> Strings(System.Data.Common.DbDataReader reader, int ordinal) =>
        reader.GetFieldValue<string[]>(ordinal);
}

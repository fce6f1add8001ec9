using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace HpcJobs.Grains.Storage.Sqlite;

public sealed class SqliteJobIndex(SqliteDatabase database, JobListSql list) : IJobIndex
{
    public async Task<long> ReadJobsCreatedAsync(CancellationToken cancellationToken)
    {
        await using var connection = database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM service_counters WHERE name = 'jobs_created'";
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long value ? value : 0;
    }

    public async Task<StoredUsage> ReadUsageAsync(string jobId)
    {
        await using var connection = database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT j.last_sample_time, j.cpu_usage, j.memory_usage_mb, j.gpu_usage, fp.footprint " +
            "FROM jobs j LEFT JOIN job_footprints fp ON fp.job_key = j.job_key WHERE j.id = $id";
        command.Parameters.AddWithValue("$id", jobId);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        if (!await reader.ReadAsync().ConfigureAwait(false))
        {
            return new StoredUsage(null, null);
        }

        return StorageRows.Usage(reader, reader.IsDBNull(0) ? null : MicrosecondTime.FromUnixMicroseconds(reader.GetInt64(0)));
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
        var (filter, values) = list.Filter(query, i => "$p" + i, t => MicrosecondTime.ToUnixMicroseconds(t));
        for (var i = 0; i < values.Count; i++)
        {
            command.Parameters.AddWithValue("$p" + (i + 1), values[i]);
        }

        command.CommandText = StateCounts.TotalSql(query, "$p1") ?? "SELECT COUNT(*)" + filter;
        var total = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;

        command.CommandText = $"SELECT {JobListSql.Columns}{filter} ORDER BY j.start_time DESC, j.id LIMIT $limit OFFSET $offset";
        command.Parameters.AddWithValue("$limit", query.Limit);
        command.Parameters.AddWithValue("$offset", query.Offset);
        var jobs = new List<JobView>(Math.Min(query.Limit, 128));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            jobs.Add(list.Read(reader, Time, Strings));
        }

        return new JobPage(jobs, total);
    }

    public async Task<IReadOnlyList<ActiveJobRow>> ListActiveJobsAsync(string afterId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = database.OpenReader();
        await using var command = connection.CreateCommand();

        // Without statistics SQLite prefers jobs_by_state and sorts every active job for each page.
        // SQLite's max() of several arguments is NULL when one is: a job without samples or without a
        // stored write time (rows from before updated_at) is as recent as the rest.
        command.CommandText =
            """
            SELECT id, max(start_time, coalesce(last_sample_time, start_time), coalesce(updated_at, start_time)),
                   json_extract(scheduler, '$.time_limit_minutes')
            FROM jobs INDEXED BY jobs_active_by_id WHERE state IN ('pending', 'running') AND id > $after ORDER BY id LIMIT $limit
            """;
        command.Parameters.AddWithValue("$after", afterId);
        command.Parameters.AddWithValue("$limit", limit);
        var jobs = new List<ActiveJobRow>(Math.Min(limit, 1024));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            jobs.Add(new ActiveJobRow(
                reader.GetString(0),
                MicrosecondTime.FromUnixMicroseconds(reader.GetInt64(1)),
                reader.IsDBNull(2) ? null : StorageRows.TimeLimit(reader.GetValue(2).ToString())));
        }

        return jobs;
    }

    public async Task<IReadOnlyDictionary<JobState, long>> CountByStateAsync(CancellationToken cancellationToken)
    {
        await using var connection = database.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = StateCounts.Sql;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await StateCounts.ReadAsync(reader, cancellationToken).ConfigureAwait(false);
    }

    public async Task<AuditPage> ReadAuditAsync(string jobId, int limit, long offset, CancellationToken cancellationToken)
    {
        await using var connection = database.OpenReader();
        await using var transaction = connection.BeginTransaction(deferred: true);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COUNT(*) FROM job_audit WHERE job_id = $id";
        command.Parameters.AddWithValue("$id", jobId);
        var total = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        command.CommandText = $"SELECT {JobListSql.AuditColumns} FROM job_audit WHERE job_id = $id ORDER BY id LIMIT $limit OFFSET $offset";
        command.Parameters.AddWithValue("$limit", limit);
        command.Parameters.AddWithValue("$offset", offset);
        var entries = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            entries.Add(JobListSql.ReadAudit(reader, Time));
        }

        return new AuditPage(entries, total);
    }

    private static DateTimeOffset Time(System.Data.Common.DbDataReader reader, int ordinal) =>
        MicrosecondTime.FromUnixMicroseconds(reader.GetInt64(ordinal));

    private static IReadOnlyList<string> Strings(System.Data.Common.DbDataReader reader, int ordinal) =>
        JsonSerializer.Deserialize(reader.GetString(ordinal), StorageJson.Default.StringArray) ?? [];
}

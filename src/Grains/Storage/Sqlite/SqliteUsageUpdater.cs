using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// Writes each touched job's staged latest usage (and, when the grain prepared one, its flags) into its
/// jobs row, and the prepared footprint into job_footprints: one update per job per batch, a thousand
/// per 5,000-sample batch, so bound through SQLite's C API on prepared statements as the samples
/// are, without a parameter object per value.
/// </summary>
internal sealed class SqliteUsageUpdater(SqliteConnection connection) : IDisposable
{
    private sqlite3_stmt? _latestOnly;
    private sqlite3_stmt? _withFlags;
    private sqlite3_stmt? _footprint;

    public void Update(JobUsage usage)
    {
        var latest = usage.StagedLatest!;
        var footprint = usage.TakeRowFootprint();
        var statement = footprint is null
            ? _latestOnly ??= Prepare(
                "UPDATE jobs SET cpu_usage = ?1, memory_usage_mb = ?2, gpu_usage = ?3, last_sample_time = ?4 WHERE id = ?5")
            : _withFlags ??= Prepare(
                "UPDATE jobs SET cpu_usage = ?1, memory_usage_mb = ?2, gpu_usage = ?3, last_sample_time = ?4, flags = ?6 WHERE id = ?5");
        Check(raw.sqlite3_bind_double(statement, 1, latest.CpuUsage));
        Check(raw.sqlite3_bind_int64(statement, 2, latest.MemoryUsageMb));
        Check(latest.GpuUsage is { } gpu ? raw.sqlite3_bind_double(statement, 3, gpu) : raw.sqlite3_bind_null(statement, 3));
        Check(raw.sqlite3_bind_int64(statement, 4, MicrosecondTime.ToUnixMicroseconds(latest.Timestamp)));
        Check(raw.sqlite3_bind_text(statement, 5, usage.JobId));
        if (footprint is { } row)
        {
            Check(row.Flags is { } flags ? raw.sqlite3_bind_text(statement, 6, flags) : raw.sqlite3_bind_null(statement, 6));
        }

        Step(statement);

        // Not for a row that is gone (a job deleted while its append of no sample was queued): its
        // key can be given again, and the next job would find this footprint.
        if (footprint is { } written && raw.sqlite3_changes(connection.Handle) > 0)
        {
            var upsert = _footprint ??= Prepare(SqliteMigrations.UpsertFootprintSql);
            Check(raw.sqlite3_bind_int64(upsert, 1, usage.JobKey));
            Check(raw.sqlite3_bind_text(upsert, 2, written.Footprint));
            Step(upsert);
        }
    }

    private void Step(sqlite3_stmt statement)
    {
        var result = raw.sqlite3_step(statement);
        raw.sqlite3_reset(statement);
        if (result != raw.SQLITE_DONE)
        {
            Check(result);
        }
    }

    public void Dispose()
    {
        _latestOnly?.Dispose();
        _withFlags?.Dispose();
        _footprint?.Dispose();
    }

    private sqlite3_stmt Prepare(string sql)
    {
        Check(raw.sqlite3_prepare_v2(connection.Handle, sql, out var statement));
        return statement;
    }

    private void Check(int result)
    {
        if (result != raw.SQLITE_OK && result != raw.SQLITE_DONE)
        {
            throw new SqliteException(raw.sqlite3_errmsg(connection.Handle).utf8_to_string(), result);
        }
    }
}

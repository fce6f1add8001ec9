using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace HpcJobs.Bench.Limits;

/// <summary>A sample of job number <see cref="Job"/> (0-based), its time in microseconds since the epoch.</summary>
internal readonly record struct SampleRow(int Job, long Timestamp, double CpuUsage, long MemoryUsageMb, double? GpuUsage);

/// <summary>
/// One transaction per call, written the way the service's writer writes it
/// (src/Grains/Storage/Sqlite/SqliteSampleInserter.cs, SqliteWrite.cs) but with nothing of the
/// service around it: <c>BEGIN IMMEDIATE</c>, multi-row <c>INSERT ... ON CONFLICT DO NOTHING</c> of
/// <see cref="DefaultRowsPerStatement"/> rows (the service's) bound through SQLite's C API, optionally one
/// <c>UPDATE jobs</c> per job with its newest sample, <c>COMMIT</c>. What is left is SQLite's own
/// cost (and the disk's) for the same rows.
/// </summary>
internal sealed class SampleWriter : IDisposable
{
    public const int DefaultRowsPerStatement = 64;

    private const int ColumnsPerRow = 9;

    private readonly sqlite3 _db;
    private readonly SampleSchema _schema;
    private readonly byte[][] _jobIds;
    private readonly bool _updateJobs;
    private readonly int _rowsPerStatement;
    private readonly sqlite3_stmt _begin;
    private readonly sqlite3_stmt _commit;
    private readonly sqlite3_stmt _many;
    private readonly sqlite3_stmt _one;
    private readonly sqlite3_stmt _update;

    // The newest row of each job in the transaction (-1: none), and the jobs in first-touched order.
    private readonly int[] _latest;
    private readonly List<int> _touched = [];

    /// <param name="jobIds">The text id of job <c>i</c> (its integer key in the keyed schema is <c>i + 1</c>).</param>
    /// <param name="rowsPerStatement">
    /// Rows per multi-row INSERT. A statement that writes several rows and may fail half-way keeps a
    /// statement journal (the original of every page it changes, in a temporary file once it passes
    /// 64 KiB unless <c>temp_store = MEMORY</c>); a one-row statement needs none.
    /// </param>
    public SampleWriter(SqliteConnection connection, SampleSchema schema, IReadOnlyList<string> jobIds, bool updateJobs, int rowsPerStatement = DefaultRowsPerStatement)
    {
        _db = connection.Handle!;
        _schema = schema;
        _jobIds = [.. jobIds.Select(Encoding.UTF8.GetBytes)];
        _updateJobs = updateJobs;
        _rowsPerStatement = rowsPerStatement;
        _latest = new int[jobIds.Count];
        Array.Fill(_latest, -1);
        _begin = Prepare("BEGIN IMMEDIATE");
        _commit = Prepare("COMMIT");
        _many = Prepare(InsertSql(rowsPerStatement));
        _one = Prepare(InsertSql(1));
        _update = Prepare("UPDATE jobs SET cpu_usage = ?1, memory_usage_mb = ?2, gpu_usage = ?3, last_sample_time = ?4 WHERE id = ?5");
    }

    /// <summary>Commits <paramref name="rows"/> as one transaction; returns how many were inserted (not duplicates).</summary>
    public int Write(ReadOnlySpan<SampleRow> rows)
    {
        Run(_begin);
        try
        {
            var inserted = 0;
            var index = 0;
            for (; index + _rowsPerStatement <= rows.Length; index += _rowsPerStatement)
            {
                for (var row = 0; row < _rowsPerStatement; row++)
                {
                    Bind(_many, row * ColumnsPerRow, rows[index + row]);
                }

                inserted += Insert(_many);
            }

            for (; index < rows.Length; index++)
            {
                Bind(_one, 0, rows[index]);
                inserted += Insert(_one);
            }

            if (_updateJobs)
            {
                UpdateJobs(rows);
            }

            Run(_commit);
            return inserted;
        }
        catch
        {
            foreach (var job in _touched)
            {
                _latest[job] = -1;
            }

            _touched.Clear();
            raw.sqlite3_exec(_db, "ROLLBACK");
            throw;
        }
    }

    public void Dispose()
    {
        _begin.Dispose();
        _commit.Dispose();
        _many.Dispose();
        _one.Dispose();
        _update.Dispose();
    }

    private string InsertSql(int rows)
    {
        var sql = new StringBuilder(_schema == SampleSchema.Current
            ? "INSERT INTO samples (job_id, ts, cpu_usage, memory_usage_mb, gpu_usage, node, gpu_memory_mb, memory_peak_mb, oom_kills) VALUES "
            : "INSERT INTO samples (job_key, ts, node_key, cpu_usage, memory_usage_mb, gpu_usage, gpu_memory_mb, memory_peak_mb, oom_kills) VALUES ");
        for (var row = 0; row < rows; row++)
        {
            sql.Append(row == 0 ? "(?,?,?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?,?,?)");
        }

        // The keyed log tells inserted rows from duplicates by what the statement returns;
        // today's inserter counts changes and looks rows up only when some were duplicates.
        return sql.Append(_schema == SampleSchema.Current ? " ON CONFLICT DO NOTHING" : " ON CONFLICT DO NOTHING RETURNING job_key, ts, node_key").ToString();
    }

    private void Bind(sqlite3_stmt statement, int offset, in SampleRow row)
    {
        if (_schema == SampleSchema.Current)
        {
            Check(raw.sqlite3_bind_text(statement, offset + 1, _jobIds[row.Job]));
            Check(raw.sqlite3_bind_int64(statement, offset + 2, row.Timestamp));
            Check(raw.sqlite3_bind_double(statement, offset + 3, row.CpuUsage));
            Check(raw.sqlite3_bind_int64(statement, offset + 4, row.MemoryUsageMb));
            Check(row.GpuUsage is { } gpu ? raw.sqlite3_bind_double(statement, offset + 5, gpu) : raw.sqlite3_bind_null(statement, offset + 5));

            // '' for a whole-job sample, bound as a string as the service does (an empty span may bind as NULL).
            Check(raw.sqlite3_bind_text(statement, offset + 6, string.Empty));
        }
        else
        {
            Check(raw.sqlite3_bind_int64(statement, offset + 1, row.Job + 1));
            Check(raw.sqlite3_bind_int64(statement, offset + 2, row.Timestamp));
            Check(raw.sqlite3_bind_int64(statement, offset + 3, 0));
            Check(raw.sqlite3_bind_double(statement, offset + 4, row.CpuUsage));
            Check(raw.sqlite3_bind_int64(statement, offset + 5, row.MemoryUsageMb));
            Check(row.GpuUsage is { } gpu ? raw.sqlite3_bind_double(statement, offset + 6, gpu) : raw.sqlite3_bind_null(statement, offset + 6));
        }

        // The agent's optional columns, absent from the benchmark's samples.
        Check(raw.sqlite3_bind_null(statement, offset + 7));
        Check(raw.sqlite3_bind_null(statement, offset + 8));
        Check(raw.sqlite3_bind_null(statement, offset + 9));
    }

    private int Insert(sqlite3_stmt statement)
    {
        try
        {
            if (_schema == SampleSchema.Current)
            {
                Done(raw.sqlite3_step(statement));
                return raw.sqlite3_changes(_db);
            }

            var returned = 0;
            int result;
            while ((result = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
            {
                // Read what is returned, as the service must to match rows to samples.
                _ = raw.sqlite3_column_int64(statement, 0) + raw.sqlite3_column_int64(statement, 1) + raw.sqlite3_column_int64(statement, 2);
                returned++;
            }

            Done(result);
            return returned;
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }
    }

    private void UpdateJobs(ReadOnlySpan<SampleRow> rows)
    {
        for (var i = 0; i < rows.Length; i++)
        {
            ref var latest = ref _latest[rows[i].Job];
            if (latest < 0)
            {
                _touched.Add(rows[i].Job);
            }

            if (latest < 0 || rows[latest].Timestamp <= rows[i].Timestamp)
            {
                latest = i;
            }
        }

        foreach (var job in _touched)
        {
            var row = rows[_latest[job]];
            Check(raw.sqlite3_bind_double(_update, 1, row.CpuUsage));
            Check(raw.sqlite3_bind_int64(_update, 2, row.MemoryUsageMb));
            Check(row.GpuUsage is { } gpu ? raw.sqlite3_bind_double(_update, 3, gpu) : raw.sqlite3_bind_null(_update, 3));
            Check(raw.sqlite3_bind_int64(_update, 4, row.Timestamp));
            Check(raw.sqlite3_bind_text(_update, 5, _jobIds[job]));
            Run(_update);
            _latest[job] = -1;
        }

        _touched.Clear();
    }

    private sqlite3_stmt Prepare(string sql)
    {
        Check(raw.sqlite3_prepare_v2(_db, sql, out var statement));
        return statement;
    }

    private void Run(sqlite3_stmt statement)
    {
        try
        {
            Done(raw.sqlite3_step(statement));
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }
    }

    private void Done(int result)
    {
        if (result != raw.SQLITE_DONE)
        {
            Check(result);
        }
    }

    private void Check(int result)
    {
        if (result != raw.SQLITE_OK && result != raw.SQLITE_DONE)
        {
            throw new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), result);
        }
    }
}

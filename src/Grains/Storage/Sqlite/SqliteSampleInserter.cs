using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// The writer's sample hot path. Samples queued by a batch's writes are inserted with multi-row
/// <c>INSERT ... ON CONFLICT DO NOTHING RETURNING</c> statements bound through SQLite's C API: one
/// statement step stores <see cref="RowsPerStatement"/> samples, and no parameter object is boxed per
/// value. A sample already stored (same job key, timestamp and node key) is skipped by the primary key;
/// the statement returns the keys of the rows it inserted, so only when it returned fewer rows than it
/// holds are the others looked up, to say what was stored for them.
/// </summary>
internal sealed class SqliteSampleInserter : IDisposable
{
    /// <summary>Rows per multi-row statement: 9 parameters each stays far below SQLite's 32,766-parameter limit.</summary>
    public const int RowsPerStatement = 64;

    private const int ColumnsPerRow = 9;

    private readonly SqliteConnection _connection;
    private readonly List<PendingSample> _pending = [];
    private readonly (long JobKey, long Ts, long NodeKey)[] _returned = new (long, long, long)[RowsPerStatement];
    private sqlite3_stmt? _many;
    private sqlite3_stmt? _one;
    private sqlite3_stmt? _lookup;

    public SqliteSampleInserter(SqliteConnection connection) => _connection = connection;

    /// <summary>Samples queued in this transaction and not yet inserted.</summary>
    public int PendingCount => _pending.Count;

    public void Add(in PendingSample sample) => _pending.Add(sample);

    /// <summary>
    /// Inserts every queued sample, in queue order, inside the writer's open transaction, and calls
    /// <paramref name="inserted"/> for each sample actually inserted, in order.
    /// </summary>
    public void Flush(Action<PendingSample> inserted)
    {
        var index = 0;
        if (_pending.Count >= RowsPerStatement)
        {
            _many ??= Prepare(RowsPerStatement);
            for (; index + RowsPerStatement <= _pending.Count; index += RowsPerStatement)
            {
                for (var row = 0; row < RowsPerStatement; row++)
                {
                    Bind(_many, row * ColumnsPerRow, _pending[index + row]);
                }

                Resolve(index, RowsPerStatement, Step(_many), inserted);
            }
        }

        if (index < _pending.Count)
        {
            _one ??= Prepare(1);
            for (; index < _pending.Count; index++)
            {
                Bind(_one, 0, _pending[index]);
                Resolve(index, 1, Step(_one), inserted);
            }
        }

        _pending.Clear();
    }

    /// <summary>Forgets queued samples after a failed transaction (they are reported failed by their writes).</summary>
    public void Discard() => _pending.Clear();

    public void Dispose()
    {
        _many?.Dispose();
        _one?.Dispose();
        _lookup?.Dispose();
    }

    private void Resolve(int first, int rows, int returned, Action<PendingSample> inserted)
    {
        for (var i = first; i < first + rows; i++)
        {
            var pending = _pending[i];
            if (returned == rows || WasReturned(pending, returned))
            {
                inserted(pending);
            }
            else
            {
                pending.Owner.MarkDuplicate(pending.Index, Lookup(pending));
            }
        }
    }

    private bool WasReturned(in PendingSample pending, int returned)
    {
        var key = (pending.JobKey, MicrosecondTime.ToUnixMicroseconds(pending.Sample.Timestamp), pending.NodeKey);
        return Array.IndexOf(_returned, key, 0, returned) >= 0;
    }

    private UsageSample Lookup(in PendingSample pending)
    {
        _lookup ??= PrepareStatement(
            "SELECT cpu_usage, memory_usage_mb, gpu_usage, gpu_memory_mb, memory_peak_mb, oom_kills " +
            "FROM samples WHERE job_key = ?1 AND ts = ?2 AND node_key = ?3");
        var sample = pending.Sample;
        Check(_lookup, raw.sqlite3_bind_int64(_lookup, 1, pending.JobKey));
        Check(_lookup, raw.sqlite3_bind_int64(_lookup, 2, MicrosecondTime.ToUnixMicroseconds(sample.Timestamp)));
        Check(_lookup, raw.sqlite3_bind_int64(_lookup, 3, pending.NodeKey));
        try
        {
            if (raw.sqlite3_step(_lookup) != raw.SQLITE_ROW)
            {
                throw new SqliteException($"sample of a statement neither inserted nor stored: {raw.sqlite3_errmsg(_connection.Handle).utf8_to_string()}", raw.SQLITE_INTERNAL);
            }

            return new UsageSample(
                sample.Timestamp,
                raw.sqlite3_column_double(_lookup, 0),
                raw.sqlite3_column_int64(_lookup, 1),
                NullableDouble(_lookup, 2),
                sample.Node,
                NullableInt64(_lookup, 3),
                NullableInt64(_lookup, 4),
                NullableInt64(_lookup, 5));
        }
        finally
        {
            raw.sqlite3_reset(_lookup);
        }
    }

    private static double? NullableDouble(sqlite3_stmt statement, int column) =>
        raw.sqlite3_column_type(statement, column) == raw.SQLITE_NULL ? null : raw.sqlite3_column_double(statement, column);

    private static long? NullableInt64(sqlite3_stmt statement, int column) =>
        raw.sqlite3_column_type(statement, column) == raw.SQLITE_NULL ? null : raw.sqlite3_column_int64(statement, column);

    private sqlite3_stmt Prepare(int rows)
    {
        var sql = new StringBuilder(
            "INSERT INTO samples (job_key, ts, node_key, cpu_usage, memory_usage_mb, gpu_usage, gpu_memory_mb, memory_peak_mb, oom_kills) VALUES ");
        for (var row = 0; row < rows; row++)
        {
            sql.Append(row == 0 ? "(?,?,?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?,?,?)");
        }

        sql.Append(" ON CONFLICT DO NOTHING RETURNING job_key, ts, node_key");
        return PrepareStatement(sql.ToString());
    }

    private sqlite3_stmt PrepareStatement(string sql)
    {
        Check(raw.sqlite3_prepare_v2(_connection.Handle, sql, out var statement));
        return statement;
    }

    private static void Bind(sqlite3_stmt statement, int offset, in PendingSample item)
    {
        var sample = item.Sample;
        Check(statement, raw.sqlite3_bind_int64(statement, offset + 1, item.JobKey));
        Check(statement, raw.sqlite3_bind_int64(statement, offset + 2, MicrosecondTime.ToUnixMicroseconds(sample.Timestamp)));
        Check(statement, raw.sqlite3_bind_int64(statement, offset + 3, item.NodeKey));
        Check(statement, raw.sqlite3_bind_double(statement, offset + 4, sample.CpuUsage));
        Check(statement, raw.sqlite3_bind_int64(statement, offset + 5, sample.MemoryUsageMb));
        Check(statement, sample.GpuUsage is { } gpu
            ? raw.sqlite3_bind_double(statement, offset + 6, gpu)
            : raw.sqlite3_bind_null(statement, offset + 6));
        BindNullable(statement, offset + 7, sample.GpuMemoryMb);
        BindNullable(statement, offset + 8, sample.MemoryPeakMb);
        BindNullable(statement, offset + 9, sample.OomKills);
    }

    private static void BindNullable(sqlite3_stmt statement, int index, long? value) =>
        Check(statement, value is { } v ? raw.sqlite3_bind_int64(statement, index, v) : raw.sqlite3_bind_null(statement, index));

    /// <summary>Runs the statement to its end; returns how many rows it inserted, their keys in <see cref="_returned"/>.</summary>
    private int Step(sqlite3_stmt statement)
    {
        var returned = 0;
        int result;
        while ((result = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
        {
            _returned[returned++] = (
                raw.sqlite3_column_int64(statement, 0), raw.sqlite3_column_int64(statement, 1), raw.sqlite3_column_int64(statement, 2));
        }

        raw.sqlite3_reset(statement);
        if (result != raw.SQLITE_DONE)
        {
            Check(result);
        }

        return returned;
    }

    private void Check(int result)
    {
        if (result != raw.SQLITE_OK && result != raw.SQLITE_DONE)
        {
            throw new SqliteException(raw.sqlite3_errmsg(_connection.Handle).utf8_to_string(), result);
        }
    }

    private static void Check(sqlite3_stmt statement, int result)
    {
        if (result != raw.SQLITE_OK)
        {
            throw new SqliteException(raw.sqlite3_errmsg(raw.sqlite3_db_handle(statement)).utf8_to_string(), result);
        }
    }
}

/// <summary>A sample queued for insertion, with the write that queued it, its position there and its keys.</summary>
internal readonly record struct PendingSample(SampleAppend Owner, int Index, long JobKey, long NodeKey, UsageSample Sample);

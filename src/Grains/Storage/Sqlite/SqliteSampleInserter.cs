using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// The writer's sample hot path. Samples queued by a batch's writes are inserted with multi-row
/// <c>INSERT</c> statements bound through SQLite's C API: one statement step stores
/// <see cref="RowsPerStatement"/> samples, and no parameter object is boxed per value. Measured
/// against one Microsoft.Data.Sqlite command per row in docs/benchmarks.md.
/// </summary>
internal sealed class SqliteSampleInserter : IDisposable
{
    /// <summary>Rows per multi-row statement: 5 parameters each stays far below SQLite's 32,766-parameter limit.</summary>
    public const int RowsPerStatement = 64;

    private const int ColumnsPerRow = 5;

    private readonly SqliteConnection _connection;
    private readonly List<(byte[] JobId, UsageSample Sample)> _pending = [];
    private sqlite3_stmt? _many;
    private sqlite3_stmt? _one;

    public SqliteSampleInserter(SqliteConnection connection) => _connection = connection;

    /// <summary>Samples queued in this transaction and not yet inserted.</summary>
    public int PendingCount => _pending.Count;

    public void Add(byte[] jobIdUtf8, UsageSample sample) => _pending.Add((jobIdUtf8, sample));

    /// <summary>Inserts every queued sample, in queue order, inside the writer's open transaction.</summary>
    public void Flush()
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

                Step(_many);
            }
        }

        if (index < _pending.Count)
        {
            _one ??= Prepare(1);
            for (; index < _pending.Count; index++)
            {
                Bind(_one, 0, _pending[index]);
                Step(_one);
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
    }

    private sqlite3_stmt Prepare(int rows)
    {
        var sql = new StringBuilder("INSERT INTO samples (job_id, ts, cpu_usage, memory_usage_mb, gpu_usage) VALUES ");
        for (var row = 0; row < rows; row++)
        {
            sql.Append(row == 0 ? "(?,?,?,?,?)" : ",(?,?,?,?,?)");
        }

        Check(raw.sqlite3_prepare_v2(_connection.Handle, sql.ToString(), out var statement));
        return statement;
    }

    private static void Bind(sqlite3_stmt statement, int offset, (byte[] JobId, UsageSample Sample) item)
    {
        var (jobId, sample) = item;
        Check(statement, raw.sqlite3_bind_text(statement, offset + 1, jobId));
        Check(statement, raw.sqlite3_bind_int64(statement, offset + 2, MicrosecondTime.ToUnixMicroseconds(sample.Timestamp)));
        Check(statement, raw.sqlite3_bind_double(statement, offset + 3, sample.CpuUsage));
        Check(statement, raw.sqlite3_bind_int64(statement, offset + 4, sample.MemoryUsageMb));
        Check(statement, sample.GpuUsage is { } gpu
            ? raw.sqlite3_bind_double(statement, offset + 5, gpu)
            : raw.sqlite3_bind_null(statement, offset + 5));
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

using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// The SQLite database file: its schema, a pool of reader connections and the one writer.
/// SQLite admits one writer at a time, so every write of the silo (grain state, job rows, samples,
/// retention) goes through a single thread that commits whatever has queued as one transaction
/// (group commit): one fsync serves many requests, and no scheduler thread ever waits on a lock.
/// </summary>
public sealed partial class SqliteDatabase : IDatabaseProbe, IDisposable
{
    private readonly Channel<SqliteWrite> _queue = Channel.CreateBounded<SqliteWrite>(
        new BoundedChannelOptions(100_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly SqliteOptions _options;
    private readonly ILogger<SqliteDatabase> _logger;
    private readonly string _connectionString;
    private readonly Thread _writerThread;
    private readonly WriterMetrics _metrics;
    private DateTimeOffset _lastFailureLog;

    public SqliteDatabase(IOptions<SqliteOptions> options, ILogger<SqliteDatabase> logger, WriterMetrics metrics)
    {
        _options = options.Value;
        _logger = logger;
        _metrics = metrics;
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(_options.Path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _options.Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 5,
        }.ToString();

        var writerConnection = Open();
        Execute(writerConnection, "PRAGMA journal_mode = WAL;");
        Execute(writerConnection, _options.Synchronous == SqliteSynchronous.Full
            ? "PRAGMA synchronous = FULL;"
            : "PRAGMA synchronous = NORMAL;");
        // The writer's page cache holds the hot index pages (16 MiB instead of SQLite's 2 MiB default),
        // so inserts into the (job_id, ts) index do not re-read pages from the OS on every commit.
        // Measured on batch ingest (docs/benchmarks.md): 2 MiB 98-121k, 8 MiB 135k, 16 MiB 149-152k,
        // 64 MiB 104-109k samples/s; and it is resident memory (64 MiB cost 0.6 KB per job at 100,000 jobs).
        Execute(writerConnection, "PRAGMA cache_size = -16384;");
        Execute(writerConnection, "PRAGMA wal_autocheckpoint = 8192;");
        ApplySchema(writerConnection);
        _writerThread = new Thread(() => RunWriter(writerConnection))
        {
            IsBackground = true,
            Name = "sqlite-writer",
        };
        _writerThread.Start();
    }

    public string Path => _options.Path;

    /// <summary>A pooled connection for reads; WAL lets readers proceed while the writer commits.</summary>
    public SqliteConnection OpenReader()
    {
        _metrics.CountOperation();
        return Open();
    }

    internal async Task<TResult> WriteAsync<TResult>(SqliteWrite<TResult> write)
    {
        _metrics.CountOperation();
        try
        {
            await _queue.Writer.WriteAsync(write).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new StorageUnavailableException("the database is shutting down", e);
        }

        return await write.Completion.ConfigureAwait(false);
    }

    public async Task<StorageHealth> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = OpenReader();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException)
        {
            return StorageHealth.Unreachable;
        }

        return _queue.Reader.Completion.IsCompleted ? StorageHealth.Unreachable
            : _metrics.WriteFailedWithin(TimeSpan.FromSeconds(30), DateTimeOffset.UtcNow) ? StorageHealth.Degraded
            : StorageHealth.Healthy;
    }

    /// <summary>Stops taking writes, commits what is queued, and closes the file.</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        if (!_writerThread.Join(TimeSpan.FromSeconds(10)))
        {
            LogWriterDidNotStop(_logger);
        }

        SqliteConnection.ClearAllPools();
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void ApplySchema(SqliteConnection connection)
    {
        foreach (var (_, text) in SqlScripts.For("sqlite"))
        {
            Execute(connection, text);
        }

        SqliteMigrations.Apply(connection);
    }

    private void RunWriter(SqliteConnection connection)
    {
        var context = new SqliteWriteContext(connection);
        var batch = new List<SqliteWrite>(_options.MaxBatchSize);
        var reader = _queue.Reader;
        try
        {
            while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var write))
                {
                    batch.Add(write);
                }

                Commit(context, batch);
                batch.Clear();
            }
        }
        finally
        {
            context.Dispose();
            connection.Dispose();
        }
    }

    private void Commit(SqliteWriteContext context, List<SqliteWrite> batch)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            RunInTransaction(context, batch);
            _metrics.RecordCommit(batch.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            foreach (var write in batch)
            {
                write.Complete();
            }
        }
        catch (SqliteException error) when (batch.Count > 1)
        {
            // One write spoiled the batch, or the disk refused it: retry each alone so only the
            // writes that truly fail report failure.
            LogBatchRetried(_logger, batch.Count, error.SqliteErrorCode, error.Message);
            foreach (var write in batch)
            {
                CommitAlone(context, write);
            }
        }
        catch (Exception error)
        {
            ReportFailure(error);
            foreach (var write in batch)
            {
                write.Fail(Translate(error));
            }
        }
    }

    /// <summary>A failing disk fails every write: log the first, then at most one line a minute.</summary>
    private void ReportFailure(Exception error)
    {
        var now = DateTimeOffset.UtcNow;
        var previous = _metrics.LastWriteFailure;
        _metrics.RecordWriteFailure(now);
        if (previous is null || now - previous > TimeSpan.FromMinutes(1) || now - _lastFailureLog > TimeSpan.FromMinutes(1))
        {
            _lastFailureLog = now;
            LogCommitFailed(_logger, error.GetBaseException().Message, error is SqliteException sqlite ? sqlite.SqliteErrorCode : 0);
        }
    }

    private void CommitAlone(SqliteWriteContext context, SqliteWrite write)
    {
        try
        {
            RunInTransaction(context, [write]);
            write.Complete();
        }
        catch (Exception error)
        {
            ReportFailure(error);
            write.Fail(Translate(error));
        }
    }

    private static void RunInTransaction(SqliteWriteContext context, IReadOnlyList<SqliteWrite> batch)
    {
        using var transaction = context.Connection.BeginTransaction(deferred: false);
        context.Transaction = transaction;
        try
        {
            foreach (var write in batch)
            {
                write.Apply(context);
            }

            context.FlushLatest();
            transaction.Commit();
            context.CommitBatchState();
        }
        catch
        {
            context.DiscardBatchState();
            try
            {
                transaction.Rollback();
            }
            catch (SqliteException)
            {
                // SQLite has already rolled back (e.g. SQLITE_FULL); the original error is what matters.
            }

            throw;
        }
        finally
        {
            context.Transaction = null;
        }
    }

    /// <summary>A disk that is full, read-only or failing is an outage (503); any other refusal is a bug (500).</summary>
    private static Exception Translate(Exception error) => StorageErrors.IsTransient(error)
        ? new StorageUnavailableException($"SQLite refused the write: {error.Message}", error)
        : error;

    [LoggerMessage(Level = LogLevel.Warning, Message = "SQLite batch of {Count} writes failed (error {Code}: {Reason}); retrying each write alone")]
    private static partial void LogBatchRetried(ILogger logger, int count, int code, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "SQLite write failed (error {Code}: {Reason}); writes answer 503 until the disk accepts them again")]
    private static partial void LogCommitFailed(ILogger logger, string reason, int code);

    [LoggerMessage(Level = LogLevel.Error, Message = "SQLite writer did not finish its queue within 10 s")]
    private static partial void LogWriterDidNotStop(ILogger logger);
}

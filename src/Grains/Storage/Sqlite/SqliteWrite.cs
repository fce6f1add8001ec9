using Microsoft.Data.Sqlite;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// One unit of work for the single SQLite writer. <see cref="Apply"/> runs inside the batch's
/// transaction and must not throw for expected outcomes (return them as its result); the caller's task
/// completes only after the transaction has committed.
/// </summary>
internal interface ISqliteWrite : IGroupWrite
{
    void Apply(SqliteWriteContext context);
}

internal interface ISqliteWrite<TResult> : ISqliteWrite
{
    Task<TResult> Completion { get; }
}

/// <summary>
/// The writer's connection and transaction, with prepared statements reused across batches: the
/// SQLite "commit this batch" step, run synchronously on the writer's thread.
/// </summary>
internal sealed class SqliteWriteContext(SqliteConnection connection, SqliteSyncPipeline? sync = null) : IBatchCommitter<ISqliteWrite>, IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly SampleStage _stage = new();
    private readonly SqliteSampleInserter _samples = new(connection);
    private readonly SqliteNodeKeys _nodeKeys = new(connection);
    private readonly SqliteUsageUpdater _usage = new(connection);
    private Action<PendingSample>? _inserted;

    public SqliteConnection Connection { get; } = connection;

    public SqliteTransaction? Transaction { get; private set; }

    /// <summary>Commits the batch; with the sync pipeline the writes complete after its next WAL sync, otherwise at once.</summary>
    public ValueTask<Task> CommitAsync(IReadOnlyList<ISqliteWrite> batch)
    {
        using var transaction = Connection.BeginTransaction(deferred: false);
        Transaction = transaction;
        try
        {
            foreach (var write in batch)
            {
                write.Apply(this);
            }

            FlushLatest();
            transaction.Commit();
            _stage.Commit();
            _nodeKeys.Commit();
        }
        catch
        {
            _samples.Discard();
            _stage.Discard();
            _nodeKeys.Discard();
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
            Transaction = null;
        }

        return ValueTask.FromResult(sync?.Pipeline.AfterNextSync() ?? Task.CompletedTask);
    }

    /// <summary>One write spoiled the batch, or the disk refused it: each is retried alone.</summary>
    public bool RetriesAlone(Exception error) => error is SqliteException;

    /// <summary>A prepared command for <paramref name="sql"/> whose parameters are named in order.</summary>
    public SqliteCommand Command(string sql, params string[] parameterNames)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            foreach (var name in parameterNames)
            {
                command.Parameters.Add(new SqliteParameter(name, null));
            }

            _commands[sql] = command;
        }

        command.Transaction = Transaction;
        return command;
    }

    /// <summary>Queues a sample of <paramref name="owner"/> for the batch's multi-row insert, unless the batch already holds it.</summary>
    public void AddSample(SampleAppend owner, int index, long jobKey, long nodeKey)
    {
        if (_stage.Queue(owner, index))
        {
            _samples.Add(new PendingSample(owner, index, jobKey, nodeKey, owner.Samples[index]));
        }
    }

    /// <summary>The transaction writes the job's row without a sample of its own (<see cref="SampleStage.Touch"/>).</summary>
    public void TouchRow(JobUsage usage) => _stage.Touch(usage);

    /// <summary>The sample_nodes key of <paramref name="node"/> (0 for a whole-job sample), given in this transaction if new.</summary>
    public long NodeKey(string? node) => node is null ? 0 : _nodeKeys.Get(node, Transaction);

    /// <summary>Inserts the queued samples; any other write calls this first, so writes apply in queue order.</summary>
    public void FlushSamples()
    {
        if (_samples.PendingCount > 0)
        {
            _samples.Flush(_inserted ??= inserted => _stage.Stage(inserted.Owner.Usage, inserted.Sample));
        }
    }

    /// <summary>Ends the batch's sample work: queued samples inserted, then each touched jobs row updated once.</summary>
    private void FlushLatest()
    {
        FlushSamples();
        foreach (var usage in _stage.Staged)
        {
            _usage.Update(usage);
        }
    }

    /// <summary>After the loop's last commit: the last sync runs, then the file closes.</summary>
    public void Dispose()
    {
        sync?.Dispose();
        _samples.Dispose();
        _nodeKeys.Dispose();
        _usage.Dispose();
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        Connection.Dispose();
    }
}

using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// One unit of work for the single SQLite writer. <see cref="Apply"/> runs inside the batch's
/// transaction and must not throw for expected outcomes (return them as its result); the caller's task
/// completes only after the transaction has committed.
/// </summary>
internal abstract class SqliteWrite
{
    public abstract void Apply(SqliteWriteContext context);

    public abstract void Complete();

    public abstract void Fail(Exception error);
}

internal abstract class SqliteWrite<TResult> : SqliteWrite
{
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<TResult> Completion => _completion.Task;

    /// <summary>The result <see cref="Apply"/> produced; reported only once the transaction has committed.</summary>
    protected TResult Result { get; set; } = default!;

    public override void Complete() => _completion.TrySetResult(Result);

    public override void Fail(Exception error) => _completion.TrySetException(error);
}

/// <summary>The writer's connection and transaction, with prepared statements reused across batches.</summary>
internal sealed class SqliteWriteContext(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UsageSample> _latestByJob = new(StringComparer.Ordinal);
    private readonly SqliteSampleInserter _samples = new(connection);

    public SqliteConnection Connection { get; } = connection;

    public SqliteTransaction? Transaction { get; set; }

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

    /// <summary>
    /// Queues a sample for the batch's multi-row insert and remembers the newest sample per job, so
    /// the jobs row is updated once per batch.
    /// </summary>
    public void AddSample(string jobId, byte[] jobIdUtf8, UsageSample sample)
    {
        _samples.Add(jobIdUtf8, sample);
        ref var latest = ref CollectionsMarshal.GetValueRefOrAddDefault(_latestByJob, jobId, out _);
        latest = LatestUsage.Merge(latest, sample);
    }

    /// <summary>Inserts the queued samples; any other write calls this first, so writes apply in queue order.</summary>
    public void FlushSamples()
    {
        if (_samples.PendingCount > 0)
        {
            _samples.Flush();
        }
    }

    /// <summary>Ends the batch's sample work: queued samples inserted, then each touched jobs row updated once.</summary>
    public void FlushLatest()
    {
        FlushSamples();
        if (_latestByJob.Count == 0)
        {
            return;
        }

        var update = Command(
            """
            UPDATE jobs SET cpu_usage = $cpu, memory_usage_mb = $mem,
                            gpu_usage = COALESCE($gpu, gpu_usage), last_sample_time = $ts
            WHERE id = $id AND (last_sample_time IS NULL OR last_sample_time <= $ts)
            """,
            "$cpu", "$mem", "$gpu", "$ts", "$id");
        foreach (var (jobId, sample) in _latestByJob)
        {
            update.Parameters[0].Value = sample.CpuUsage;
            update.Parameters[1].Value = sample.MemoryUsageMb;
            update.Parameters[2].Value = (object?)sample.GpuUsage ?? DBNull.Value;
            update.Parameters[3].Value = MicrosecondTime.ToUnixMicroseconds(sample.Timestamp);
            update.Parameters[4].Value = jobId;
            update.ExecuteNonQuery();
        }

        _latestByJob.Clear();
    }

    public void DiscardBatchState()
    {
        _samples.Discard();
        _latestByJob.Clear();
    }

    public void Dispose()
    {
        _samples.Dispose();
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }
    }
}

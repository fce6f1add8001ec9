using System.Threading.Channels;
using HpcJobs.Bench.Limits;
using HpcJobs.Grains;
using Npgsql;
using NpgsqlTypes;

namespace HpcJobs.Bench.Baseline;

/// <summary>
/// The service's PostgreSQL group commit reduced to its floor, for <c>HOP=grain-postgres</c>: one
/// writer takes whatever has queued (at most 4,096 writes, the service's batch), and in one
/// transaction copies the samples into the service's own schema (sql/postgres 010 onwards: the
/// day-partitioned samples table with its unique key and ts index) by binary COPY and sets the
/// touched jobs rows' latest usage from arrays. Pipelined as the service's writer is: the writer
/// commits without waiting for the WAL flush (its session's <c>synchronous_commit = off</c>) and
/// goes on with the next group, while a second connection waits for the flush (a durable commit of
/// its own, <c>SELECT pg_current_xact_id()</c>, which returns once the WAL is flushed past every
/// commit before it) and then completes the writes of every group committed before that sync
/// began. What it leaves out of the service's writer: the admission and stage, the node keys, the
/// footprints and the per-transaction <c>SET LOCAL</c>.
/// </summary>
internal sealed class PostgresSampleSink : ISampleSink, IAsyncDisposable
{
    private const int MaxBatchSize = 4096;

    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(
        new BoundedChannelOptions(100_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly Dictionary<string, int> _jobs;
    private readonly string[] _ids;
    private readonly long[] _keys;
    // Groups committed without the flush, for the sync loop to acknowledge.
    private readonly Channel<List<Pending>> _committed = Channel.CreateUnbounded<List<Pending>>(new UnboundedChannelOptions { SingleReader = true });

    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlConnection _sync;
    private readonly Task _writer;
    private readonly Task _syncer;

    private PostgresSampleSink(NpgsqlConnection connection, NpgsqlConnection sync, string[] ids, long[] keys)
    {
        (_connection, _sync, _ids, _keys) = (connection, sync, ids, keys);
        _jobs = ids.Select((id, job) => (id, job)).ToDictionary(x => x.id, x => x.job, StringComparer.Ordinal);
        _writer = Task.Run(RunAsync);
        _syncer = Task.Run(SyncAsync);
    }

    /// <summary>Applies the schema to an empty database, seeds running jobs bench-0 .. bench-(jobs-1) and today's partitions.</summary>
    public static PostgresSampleSink Create(string connectionString, string schemaDirectory, int jobs)
    {
        var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        var (ids, keys) = PostgresBenchJobs.Create(connection, schemaDirectory, "bench-", jobs);
        Execute(connection, "SELECT samples_create_partitions(ARRAY[current_date - 1, current_date, current_date + 1])");
        Execute(connection, "SET synchronous_commit = off");
        var sync = new NpgsqlConnection(connectionString);
        sync.Open();
        return new PostgresSampleSink(connection, sync, ids, keys);
    }

    public int JobOf(string jobId) =>
        _jobs.TryGetValue(jobId, out var job) ? job : throw new InvalidOperationException($"{jobId} is none of the seeded jobs (JOBS)");

    public ValueTask WriteAsync(int job, IReadOnlyList<UsageSample> samples)
    {
        var pending = new Pending(job, samples, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        return _queue.Writer.TryWrite(pending) ? new ValueTask(pending.Done.Task) : EnqueueAsync(pending);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        try
        {
            await _writer.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        finally
        {
            _committed.Writer.TryComplete();
        }

        await _syncer.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        await _sync.DisposeAsync().ConfigureAwait(false);
    }

    private static void Execute(NpgsqlConnection connection, string sql) => PostgresBenchJobs.Execute(connection, sql);

    private async ValueTask EnqueueAsync(Pending pending)
    {
        await _queue.Writer.WriteAsync(pending).ConfigureAwait(false);
        await pending.Done.Task.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        var latest = new Dictionary<int, UsageSample>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var batch = new List<Pending>();
            while (batch.Count < MaxBatchSize && reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            try
            {
                await CommitAsync(batch, latest).ConfigureAwait(false);
                _committed.Writer.TryWrite(batch);
            }
            catch (Exception error)
            {
                Fail(batch, error);
            }

            latest.Clear();
        }
    }

    /// <summary>One durable commit at a time; each acknowledges every group committed before it began.</summary>
    private async Task SyncAsync()
    {
        var reader = _committed.Reader;
        var groups = new List<List<Pending>>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var group))
            {
                groups.Add(group);
            }

            try
            {
                await using var command = new NpgsqlCommand("SELECT pg_current_xact_id()", _sync);
                await command.ExecuteScalarAsync().ConfigureAwait(false);
                foreach (var group in groups)
                {
                    foreach (var pending in group)
                    {
                        pending.Done.TrySetResult();
                    }
                }
            }
            catch (Exception error)
            {
                groups.ForEach(group => Fail(group, error));
            }

            groups.Clear();
        }
    }

    private static void Fail(List<Pending> group, Exception error)
    {
        foreach (var pending in group)
        {
            pending.Done.TrySetException(error);
        }
    }

    private async Task CommitAsync(List<Pending> batch, Dictionary<int, UsageSample> latest)
    {
        await using var transaction = await _connection.BeginTransactionAsync().ConfigureAwait(false);
        await using (var importer = await _connection.BeginBinaryImportAsync(
            "COPY samples (job_key, ts, node_key, cpu_usage, memory_usage_mb, gpu_usage, gpu_memory_mb, memory_peak_mb, oom_kills) FROM STDIN (FORMAT BINARY)")
            .ConfigureAwait(false))
        {
            foreach (var pending in batch)
            {
                foreach (var sample in pending.Samples)
                {
                    await importer.StartRowAsync().ConfigureAwait(false);
                    await importer.WriteAsync(_keys[pending.Job], NpgsqlDbType.Bigint).ConfigureAwait(false);
                    await importer.WriteAsync(sample.Timestamp, NpgsqlDbType.TimestampTz).ConfigureAwait(false);
                    await importer.WriteAsync(0, NpgsqlDbType.Integer).ConfigureAwait(false);
                    await importer.WriteAsync(sample.CpuUsage, NpgsqlDbType.Double).ConfigureAwait(false);
                    await importer.WriteAsync(sample.MemoryUsageMb, NpgsqlDbType.Bigint).ConfigureAwait(false);
                    if (sample.GpuUsage is { } gpu)
                    {
                        await importer.WriteAsync(gpu, NpgsqlDbType.Double).ConfigureAwait(false);
                    }
                    else
                    {
                        await importer.WriteNullAsync().ConfigureAwait(false);
                    }

                    await importer.WriteNullAsync().ConfigureAwait(false);
                    await importer.WriteNullAsync().ConfigureAwait(false);
                    await importer.WriteNullAsync().ConfigureAwait(false);
                    latest[pending.Job] = sample;
                }
            }

            await importer.CompleteAsync().ConfigureAwait(false);
        }

        await using (var update = new NpgsqlCommand(
            """
            UPDATE jobs AS j
            SET cpu_usage = u.cpu, memory_usage_mb = u.mem, gpu_usage = u.gpu, last_sample_time = u.ts
            FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::int8[], $5::float8[]) AS u(id, ts, cpu, mem, gpu)
            WHERE j.id = u.id
            """,
            _connection,
            transaction))
        {
            update.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. latest.Keys.Select(j => _ids[j])] });
            update.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. latest.Values.Select(s => s.Timestamp)] });
            update.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = [.. latest.Values.Select(s => s.CpuUsage)] });
            update.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. latest.Values.Select(s => s.MemoryUsageMb)] });
            update.Parameters.Add(new NpgsqlParameter<double?[]> { TypedValue = [.. latest.Values.Select(s => s.GpuUsage)] });
            await update.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        await transaction.CommitAsync().ConfigureAwait(false);
    }

    private sealed record Pending(int Job, IReadOnlyList<UsageSample> Samples, TaskCompletionSource Done);
}

using System.Runtime.InteropServices;
using System.Threading.Channels;
using HpcJobs.Bench.Limits;
using HpcJobs.Grains;

namespace HpcJobs.Bench.Baseline;

/// <summary>Where the hop grain's samples go.</summary>
internal interface ISampleSink
{
    /// <summary>The job number of a job id (the integer key the keyed samples table stores).</summary>
    int JobOf(string jobId);

    /// <summary>Completes once the samples are durable (at once for a sink that keeps nothing).</summary>
    ValueTask WriteAsync(int job, IReadOnlyList<UsageSample> samples);
}

internal sealed class NoSampleSink : ISampleSink
{
    public int JobOf(string jobId) => 0;

    public ValueTask WriteAsync(int job, IReadOnlyList<UsageSample> samples) => ValueTask.CompletedTask;
}

/// <summary>
/// The service's group commit reduced to its floor: one writer thread takes whatever has queued
/// (at most 4,096 writes, the service's SQLITE max batch), commits it as one transaction with
/// <see cref="SampleWriter"/> (keyed samples table, one jobs row update per job), then completes
/// the writes it held.
/// </summary>
internal sealed class SqliteSampleSink : ISampleSink, IDisposable
{
    private const int MaxBatchSize = 4096;

    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(
        new BoundedChannelOptions(100_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly Dictionary<string, int> _jobs;
    private readonly Microsoft.Data.Sqlite.SqliteConnection _connection;
    private readonly SampleWriter _writer;
    private readonly Thread _thread;

    public SqliteSampleSink(string path, int jobs)
    {
        var ids = Enumerable.Range(0, jobs).Select(i => $"bench-{i}").ToArray();
        _jobs = ids.Select((id, job) => (id, job)).ToDictionary(x => x.id, x => x.job, StringComparer.Ordinal);
        _connection = SampleFile.Create(path, SampleSchema.Keyed, synchronousFull: true, jobs, "bench-");
        _writer = new SampleWriter(_connection, SampleSchema.Keyed, ids, updateJobs: true);
        _thread = new Thread(Run) { Name = "sqlite-writer", IsBackground = true };
        _thread.Start();
    }

    public int JobOf(string jobId) =>
        _jobs.TryGetValue(jobId, out var job) ? job : throw new InvalidOperationException($"{jobId} is none of the seeded jobs (JOBS)");

    public ValueTask WriteAsync(int job, IReadOnlyList<UsageSample> samples)
    {
        var pending = new Pending(job, samples, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        return _queue.Writer.TryWrite(pending) ? new ValueTask(pending.Done.Task) : EnqueueAsync(pending);
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _thread.Join(TimeSpan.FromSeconds(10));
        _writer.Dispose();
        _connection.Dispose();
    }

    private async ValueTask EnqueueAsync(Pending pending)
    {
        await _queue.Writer.WriteAsync(pending);
        await pending.Done.Task;
    }

    private void Run()
    {
        var reader = _queue.Reader;
        var batch = new List<Pending>(MaxBatchSize);
        var rows = new List<SampleRow>(MaxBatchSize);
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (batch.Count < MaxBatchSize && reader.TryRead(out var pending))
            {
                batch.Add(pending);
                foreach (var sample in pending.Samples)
                {
                    rows.Add(new SampleRow(
                        pending.Job,
                        (sample.Timestamp.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10,
                        sample.CpuUsage,
                        sample.MemoryUsageMb,
                        sample.GpuUsage));
                }
            }

            try
            {
                _writer.Write(CollectionsMarshal.AsSpan(rows));
                foreach (var pending in batch)
                {
                    pending.Done.TrySetResult();
                }
            }
            catch (Exception error)
            {
                foreach (var pending in batch)
                {
                    pending.Done.TrySetException(error);
                }
            }

            batch.Clear();
            rows.Clear();
        }
    }

    private sealed record Pending(int Job, IReadOnlyList<UsageSample> Samples, TaskCompletionSource Done);
}

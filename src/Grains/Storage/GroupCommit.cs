using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace HpcJobs.Grains.Storage;

/// <summary>A queued write, told its outcome only once the transaction that held it has ended.</summary>
internal interface IGroupWrite
{
    void Complete();

    void Fail(Exception error);
}

/// <summary>A queued write whose caller awaits <see cref="Completion"/>.</summary>
internal abstract class GroupWrite<TResult> : IGroupWrite
{
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<TResult> Completion => _completion.Task;

    /// <summary>What the write produced in the transaction; reported only once it has committed.</summary>
    protected TResult Result { get; set; } = default!;

    public virtual void Complete() => _completion.TrySetResult(Result);

    public void Fail(Exception error) => _completion.TrySetException(error);
}

/// <summary>A backend's "commit this batch" step.</summary>
internal interface IBatchCommitter<in TWrite>
{
    /// <summary>
    /// One transaction for the batch, its JobUsage stages committed with it; on a throw, nothing is
    /// committed or staged. Returns once the next batch may be applied, with a task that completes
    /// when this one is durable: already complete for a commit that waited for the disk, or the
    /// <see cref="SyncPipeline"/>'s next sync for a commit that did not.
    /// </summary>
    ValueTask<Task> CommitAsync(IReadOnlyList<TWrite> batch);

    /// <summary>Whether one write may have spoiled the batch, so that each is worth committing alone.</summary>
    bool RetriesAlone(Exception error);
}

/// <summary>
/// The group-commit loop of both backends: it takes what has queued (at most <c>maxBatchSize</c>),
/// has the committer commit it as one transaction, and completes each write only once that
/// transaction is durable. It is pipelined: while one batch syncs (<see cref="SyncPipeline"/>), the
/// loop already takes and applies the next, so callers that arrive during a sync wait for one more
/// sync, not for a whole commit cycle behind it. A failed batch is committed again one write at a
/// time (when the committer allows), so only the writes that truly fail report failure. Disposal
/// stops taking writes and commits what is queued.
/// </summary>
internal sealed partial class GroupCommit<TWrite> : IAsyncDisposable
    where TWrite : IGroupWrite
{
    private readonly Channel<TWrite> _queue = Channel.CreateBounded<TWrite>(
        new BoundedChannelOptions(100_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly string _backend;
    private readonly int _maxBatchSize;
    private readonly IBatchCommitter<TWrite> _committer;
    private readonly WriterMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Task _loop;
    private DateTimeOffset _lastFailureLog;

    /// <param name="writerThread">
    /// For a synchronous committer (SQLite's one writer), a dedicated thread of this name that the loop
    /// blocks while it waits, so that it never leaves it; null runs on the thread pool. The loop
    /// disposes the committer when it ends.
    /// </param>
    public GroupCommit(
        string backend, int maxBatchSize, IBatchCommitter<TWrite> committer, WriterMetrics metrics, ILogger logger, string? writerThread = null)
    {
        _backend = backend;
        _maxBatchSize = maxBatchSize;
        _committer = committer;
        _metrics = metrics;
        _logger = logger;
        _loop = writerThread is null
            ? Task.Run(() => RunAsync(blocking: false))
            : Task.Factory.StartNew(() => RunOn(writerThread), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>The loop no longer takes writes (the database is shutting down).</summary>
    public bool IsStopped => _queue.Reader.Completion.IsCompleted;

    /// <summary>Queues a write; the write's own completion tells its outcome.</summary>
    public async ValueTask EnqueueAsync(TWrite write)
    {
        try
        {
            await _queue.Writer.WriteAsync(write).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new StorageUnavailableException("the database is shutting down", e);
        }
    }

    /// <summary>Stops taking writes and waits (10 s at most) until what is queued has committed.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (await Task.WhenAny(_loop, Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false) != _loop)
        {
            LogWriterDidNotStop(_logger, _backend);
        }
    }

    private void RunOn(string thread)
    {
        Thread.CurrentThread.Name = thread;
        RunAsync(blocking: true).GetAwaiter().GetResult();
    }

    private async Task RunAsync(bool blocking)
    {
        var batch = new List<TWrite>(_maxBatchSize);
        var reader = _queue.Reader;
        try
        {
            while (blocking ? reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult() : await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (batch.Count < _maxBatchSize && reader.TryRead(out var write))
                {
                    batch.Add(write);
                }

                await CommitAsync(batch).ConfigureAwait(false);
                batch.Clear();
            }
        }
        finally
        {
            (_committer as IDisposable)?.Dispose();
        }
    }

    private async ValueTask CommitAsync(List<TWrite> batch)
    {
        var started = Stopwatch.GetTimestamp();
        Task durable;
        try
        {
            durable = await _committer.CommitAsync(batch).ConfigureAwait(false);
        }
        catch (Exception error) when (batch.Count > 1 && _committer.RetriesAlone(error))
        {
            LogBatchRetried(_logger, _backend, batch.Count, error.GetBaseException().Message);
            foreach (var write in batch)
            {
                await CommitAsync([write]).ConfigureAwait(false);
            }

            return;
        }
        catch (Exception error)
        {
            Fail(batch, error);
            return;
        }

        if (durable.IsCompletedSuccessfully)
        {
            Complete(batch, started);
        }
        else
        {
            _ = CompleteWhenDurableAsync([.. batch], durable, started);
        }
    }

    /// <summary>The batch is on disk: its writes are told, and the commit is measured (apply, commit and sync).</summary>
    private void Complete(IReadOnlyList<TWrite> batch, long started)
    {
        _metrics.RecordCommit(batch.Count, Stopwatch.GetElapsedTime(started));
        foreach (var write in batch)
        {
            write.Complete();
        }
    }

    /// <summary>
    /// Completes a batch once its sync ends, while the loop goes on. A failed sync fails the batch as
    /// unavailable (503): it may be stored, and since samples are idempotent a retry is harmless.
    /// </summary>
    private async Task CompleteWhenDurableAsync(TWrite[] batch, Task durable, long started)
    {
        try
        {
            await durable.ConfigureAwait(false);
        }
        catch (Exception error)
        {
            Fail(batch, error);
            return;
        }

        Complete(batch, started);
    }

    /// <summary>An outage fails every batch: logged at most once a minute; transient is 503, anything else a bug (500).</summary>
    private void Fail(IReadOnlyList<TWrite> batch, Exception error)
    {
        var now = DateTimeOffset.UtcNow;
        _metrics.RecordWriteFailure(now);
        if (now - _lastFailureLog > TimeSpan.FromMinutes(1))
        {
            _lastFailureLog = now;
            LogCommitFailed(_logger, _backend, batch.Count, error.GetBaseException().Message);
        }

        var failure = StorageErrors.IsTransient(error)
            ? new StorageUnavailableException($"{_backend} refused the write: {error.Message}", error)
            : error;
        foreach (var write in batch)
        {
            write.Fail(failure);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Backend} batch of {Count} writes failed ({Reason}); retrying each write alone")]
    private static partial void LogBatchRetried(ILogger logger, string backend, int count, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Backend} write failed ({Count} writes refused): {Reason}")]
    private static partial void LogCommitFailed(ILogger logger, string backend, int count, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Backend} writer did not finish its queue within 10 s")]
    private static partial void LogWriterDidNotStop(ILogger logger, string backend);
}

using Microsoft.Extensions.Logging;

namespace HpcJobs.Grains.Storage;

/// <summary>
/// The durability half of a pipelined group commit. The writer commits a group without waiting for
/// the disk (SQLite <c>synchronous = NORMAL</c>, PostgreSQL <c>synchronous_commit = off</c>), asks
/// for <see cref="AfterNextSync"/>, and goes on to the next group at once; this loop runs the
/// backend's sync (an <c>fdatasync</c> of the WAL file, a synchronously committed transaction that
/// waits for PostgreSQL's WAL flush) back to back on its own, and completes the groups that committed
/// before each sync started when it ends. Every sync makes durable all that committed before it (one
/// log, written in order), so a group's writes are acknowledged only once they are on disk — the
/// promise of <c>synchronous = FULL</c> — while the next group is already being applied.
/// </summary>
internal sealed partial class SyncPipeline : IAsyncDisposable
{
    private readonly Func<CancellationToken, ValueTask> _sync;
    private readonly ILogger _logger;
    private readonly WriterMetrics _metrics;
    private readonly string _backend;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private List<TaskCompletionSource> _waiting = [];
    private List<TaskCompletionSource> _syncing = [];
    private bool _stopped;

    /// <param name="sync">Makes durable everything committed before it was called; throws if it cannot say so.</param>
    public SyncPipeline(string backend, Func<CancellationToken, ValueTask> sync, WriterMetrics metrics, ILogger logger)
    {
        _backend = backend;
        _sync = sync;
        _metrics = metrics;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Syncs run so far (a test and the metrics read it: one sync serves many groups).</summary>
    public long Syncs { get; private set; }

    /// <summary>
    /// A task that completes when a sync that started after this call has ended (it fails if the sync
    /// failed). Its continuations run on the sync loop, so they must be short: completing writes.
    /// </summary>
    public Task AfterNextSync()
    {
        // Not RunContinuationsAsynchronously: the group commit's continuation only completes its writes
        // (whose own continuations are asynchronous), so running it inline saves a thread-pool hop.
        var durable = new TaskCompletionSource();
        lock (_gate)
        {
            if (_stopped)
            {
                throw new StorageUnavailableException($"the {_backend} database is shutting down");
            }

            _waiting.Add(durable);
        }

        _signal.Release();
        return durable.Task;
    }

    /// <summary>Runs a last sync for the groups still waiting, then stops; a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
        }

        _signal.Release();
        if (await Task.WhenAny(_loop, Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false) != _loop)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        _signal.Dispose();
        _stopping.Dispose();
    }

    private async Task RunAsync()
    {
        while (true)
        {
            await _signal.WaitAsync().ConfigureAwait(false);
            bool stopping;
            lock (_gate)
            {
                (_waiting, _syncing) = (_syncing, _waiting);
                stopping = _stopped;
            }

            // Once stopped, nothing more is added (AfterNextSync refuses under the same lock), so what
            // was swapped out is the last.
            if (_syncing.Count > 0)
            {
                await SyncAsync().ConfigureAwait(false);
            }

            if (stopping)
            {
                return;
            }
        }
    }

    private async Task SyncAsync()
    {
        try
        {
            await _sync(_stopping.Token).ConfigureAwait(false);
            Syncs++;
            _metrics.RecordSync();
            foreach (var durable in _syncing)
            {
                durable.TrySetResult();
            }
        }
        catch (Exception error)
        {
            LogSyncFailed(_logger, _backend, error.GetBaseException().Message, _syncing.Count);
            var failure = new StorageUnavailableException($"{_backend} could not make the write durable: {error.Message}", error);
            foreach (var durable in _syncing)
            {
                durable.TrySetException(failure);
            }
        }

        _syncing.Clear();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Backend} sync failed ({Reason}); {Count} committed groups are reported failed (a retry of theirs is a duplicate)")]
    private static partial void LogSyncFailed(ILogger logger, string backend, string reason, int count);
}

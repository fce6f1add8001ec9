using HpcJobs.Grains.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace HpcJobs.Grains.Tests;

/// <summary>
/// The pipelined group commit: the loop applies the next batch while the current one syncs, and a
/// write is told it is stored only after a sync that started after its batch committed.
/// </summary>
public sealed class SyncPipelineTests
{
    private readonly WriterMetrics _metrics = new();

    [Fact]
    public async Task GroupCommit_AppliesTheNextBatchWhileTheCurrentOneSyncs_AndCompletesEachOnlyAfterItsOwnSync()
    {
        var disk = new HeldDisk();
        await using var pipeline = new SyncPipeline("fake", disk.SyncAsync, _metrics, NullLogger.Instance);
        var committer = new PipelinedCommitter(pipeline);
        await using var loop = new GroupCommit<Write>("fake", 10, committer, _metrics, NullLogger.Instance);

        var first = new Write(0);
        await loop.EnqueueAsync(first);
        await disk.Started(1);
        var second = new Write(1);
        await loop.EnqueueAsync(second);
        await committer.Committed(2);

        // Batch 1 committed while batch 0's sync is still on the disk; neither is acknowledged yet.
        Assert.Equal("0|1", committer.Seen);
        Assert.False(first.Completion.IsCompleted);
        Assert.False(second.Completion.IsCompleted);

        disk.Finish(1);
        await first.Completion;

        // Batch 1 committed after sync 1 had started: only sync 2 makes it durable.
        await disk.Started(2);
        Assert.False(second.Completion.IsCompleted);
        disk.Finish(2);
        await second.Completion;
        Assert.Equal(2, pipeline.Syncs);
    }

    [Fact]
    public async Task OneSync_ServesEveryBatchThatCommittedBeforeItStarted()
    {
        var disk = new HeldDisk();
        await using var pipeline = new SyncPipeline("fake", disk.SyncAsync, _metrics, NullLogger.Instance);
        var committer = new PipelinedCommitter(pipeline);
        await using var loop = new GroupCommit<Write>("fake", 1, committer, _metrics, NullLogger.Instance);
        var writes = Enumerable.Range(0, 6).Select(i => new Write(i)).ToArray();
        await loop.EnqueueAsync(writes[0]);
        await disk.Started(1);
        foreach (var write in writes[1..])
        {
            await loop.EnqueueAsync(write);
        }

        await committer.Committed(6);
        disk.Finish(1);
        await disk.Started(2);
        disk.Finish(2);
        await Task.WhenAll(writes.Select(w => w.Completion));
        Assert.Equal(2, pipeline.Syncs);
    }

    [Fact]
    public async Task AFailedSync_FailsItsBatchesAsUnavailable_AndTheNextSyncServesTheNextOnes()
    {
        var disk = new HeldDisk { FailSync = 1 };
        await using var pipeline = new SyncPipeline("fake", disk.SyncAsync, _metrics, NullLogger.Instance);
        var committer = new PipelinedCommitter(pipeline);
        await using var loop = new GroupCommit<Write>("fake", 10, committer, _metrics, NullLogger.Instance);
        var lost = new Write(0);
        await loop.EnqueueAsync(lost);
        await disk.Started(1);
        disk.Finish(1);
        await Assert.ThrowsAsync<StorageUnavailableException>(() => lost.Completion);
        Assert.NotNull(_metrics.LastWriteFailure);

        var next = new Write(1);
        await loop.EnqueueAsync(next);
        await disk.Started(2);
        disk.Finish(2);
        await next.Completion;
    }

    [Fact]
    public async Task Disposal_RunsALastSyncForWhatCommitted_ThenRefusesMore()
    {
        var disk = new HeldDisk { Hold = false };
        var pipeline = new SyncPipeline("fake", disk.SyncAsync, _metrics, NullLogger.Instance);
        var committer = new PipelinedCommitter(pipeline);
        var loop = new GroupCommit<Write>("fake", 4, committer, _metrics, NullLogger.Instance);
        var writes = Enumerable.Range(0, 50).Select(i => new Write(i)).ToArray();
        foreach (var write in writes)
        {
            await loop.EnqueueAsync(write);
        }

        await loop.DisposeAsync();
        await pipeline.DisposeAsync();
        Assert.All(writes, w => Assert.True(w.Completion.IsCompletedSuccessfully));
        Assert.Throws<StorageUnavailableException>(() => { _ = pipeline.AfterNextSync(); });
    }

    private sealed class Write(int id) : GroupWrite<bool>
    {
        public int Id => id;
    }

    /// <summary>Commits at once and hands durability to the pipeline, as both backends do.</summary>
    private sealed class PipelinedCommitter(SyncPipeline pipeline) : IBatchCommitter<Write>
    {
        private readonly List<string> _batches = [];
        private readonly SemaphoreSlim _committed = new(0);

        public string Seen
        {
            get
            {
                lock (_batches)
                {
                    return string.Join('|', _batches);
                }
            }
        }

        public async Task Committed(int batches)
        {
            for (var i = 0; i < batches; i++)
            {
                Assert.True(await _committed.WaitAsync(TimeSpan.FromSeconds(10)), "the loop did not commit the next batch while a sync was held");
            }
        }

        public ValueTask<Task> CommitAsync(IReadOnlyList<Write> batch)
        {
            lock (_batches)
            {
                _batches.Add(string.Join(',', batch.Select(w => w.Id)));
            }

            var durable = pipeline.AfterNextSync();
            _committed.Release();
            return ValueTask.FromResult(durable);
        }

        public bool RetriesAlone(Exception error) => false;
    }

    /// <summary>A disk whose n-th sync (1-based) is held until <see cref="Finish"/>; sync <see cref="FailSync"/> throws.</summary>
    private sealed class HeldDisk
    {
        private readonly Dictionary<int, (TaskCompletionSource Started, TaskCompletionSource Finish)> _syncs = [];
        private int _count;

        public bool Hold { get; init; } = true;

        public int FailSync { get; init; }

        public async ValueTask SyncAsync(CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _count);
            var sync = Get(n);
            sync.Started.TrySetResult();
            if (Hold)
            {
                await sync.Finish.Task.WaitAsync(cancellationToken);
            }

            if (n == FailSync)
            {
                throw new IOException("EIO");
            }
        }

        public Task Started(int n) => Get(n).Started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        public void Finish(int n) => Get(n).Finish.TrySetResult();

        private (TaskCompletionSource Started, TaskCompletionSource Finish) Get(int n)
        {
            lock (_syncs)
            {
                if (!_syncs.TryGetValue(n, out var sync))
                {
                    sync = (new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously));
                    _syncs[n] = sync;
                }

                return sync;
            }
        }
    }
}

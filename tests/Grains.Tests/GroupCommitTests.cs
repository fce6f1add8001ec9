using HpcJobs.Grains.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace HpcJobs.Grains.Tests;

/// <summary>The shared group-commit loop, with a committer that records batches and refuses poisoned writes.</summary>
public sealed class GroupCommitTests
{
    private readonly WriterMetrics _metrics = new();

    [Fact]
    public async Task GroupCommit_TakesWhatQueuedUpToTheMaximum_AndCompletesOnlyAfterTheCommit()
    {
        var committer = new FakeCommitter();
        await using var loop = new GroupCommit<FakeWrite>("fake", 3, committer, _metrics, NullLogger.Instance);
        var writes = await QueueBehindFirstAsync(loop, committer, 5);

        Assert.All(writes, w => Assert.False(w.Completion.IsCompleted));
        committer.Release();
        await Task.WhenAll(writes.Select(w => w.Completion));
        Assert.Equal("0|1,2,3|4,5", committer.Seen);
    }

    [Fact]
    public async Task GroupCommit_RetriesEachWriteAlone_WhenOneSpoilsTheBatch()
    {
        var committer = new FakeCommitter();
        await using var loop = new GroupCommit<FakeWrite>("fake", 10, committer, _metrics, NullLogger.Instance);
        var writes = await QueueBehindFirstAsync(loop, committer, 3, poisoned: 2);
        committer.Release();

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => writes[2].Completion);
        Assert.Same(committer.Refusal, refused);
        await Task.WhenAll(writes.Where(w => w.Id != 2).Select(w => w.Completion));
        Assert.Equal("0|1,2,3|1|2|3", committer.Seen);
        Assert.NotNull(_metrics.LastWriteFailure);
    }

    [Fact]
    public async Task GroupCommit_FailsTheWholeBatchAs503_WhenTheCommitterDoesNotRetry()
    {
        var committer = new FakeCommitter { Refusal = new TimeoutException("database unreachable") };
        await using var loop = new GroupCommit<FakeWrite>("fake", 10, committer, _metrics, NullLogger.Instance);
        var writes = await QueueBehindFirstAsync(loop, committer, 3, poisoned: 2);
        committer.Release();

        foreach (var write in writes[1..])
        {
            await Assert.ThrowsAsync<StorageUnavailableException>(() => write.Completion);
        }

        Assert.Equal("0|1,2,3", committer.Seen);
    }

    [Fact]
    public async Task GroupCommit_CommitsWhatIsQueued_WhenDisposed_OnItsDedicatedThread()
    {
        var committer = new FakeCommitter { HoldFirst = false };
        var loop = new GroupCommit<FakeWrite>("fake", 8, committer, _metrics, NullLogger.Instance, writerThread: "fake-writer");
        var writes = Enumerable.Range(0, 100).Select(i => new FakeWrite(i)).ToArray();
        await EnqueueAllAsync(loop, writes);
        await loop.DisposeAsync();

        Assert.All(writes, w => Assert.True(w.Completion.IsCompletedSuccessfully));
        Assert.True(loop.IsStopped);
        Assert.Equal("fake-writer", Assert.Single(committer.Threads));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => loop.EnqueueAsync(new FakeWrite(100)).AsTask());
    }

    /// <summary>Write 0 is queued and its commit held (until <see cref="FakeCommitter.Release"/>); writes 1..count queue behind it.</summary>
    private static async Task<FakeWrite[]> QueueBehindFirstAsync(GroupCommit<FakeWrite> loop, FakeCommitter committer, int count, int poisoned = -1)
    {
        var writes = Enumerable.Range(0, count + 1).Select(i => new FakeWrite(i, i == poisoned)).ToArray();
        await loop.EnqueueAsync(writes[0]);
        await committer.FirstStarted;
        await EnqueueAllAsync(loop, writes[1..]);
        return writes;
    }

    private static async Task EnqueueAllAsync(GroupCommit<FakeWrite> loop, IEnumerable<FakeWrite> writes)
    {
        foreach (var write in writes)
        {
            await loop.EnqueueAsync(write);
        }
    }

    private sealed class FakeWrite(int id, bool poisoned = false) : GroupWrite<bool>
    {
        public int Id => id;

        public bool Poisoned => poisoned;
    }

    private sealed class FakeCommitter : IBatchCommitter<FakeWrite>
    {
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<string> _batches = [];

        public bool HoldFirst { get; init; } = true;

        public Exception Refusal { get; init; } = new InvalidOperationException("poisoned write");

        public Task FirstStarted => _started.Task;

        public string Seen => string.Join('|', _batches);

        public HashSet<string?> Threads { get; } = [];

        public void Release() => _release.TrySetResult();

        public async ValueTask<Task> CommitAsync(IReadOnlyList<FakeWrite> batch)
        {
            _batches.Add(string.Join(',', batch.Select(w => w.Id)));
            Threads.Add(Thread.CurrentThread.Name);
            if (HoldFirst && _started.TrySetResult())
            {
                await _release.Task;
            }

            if (batch.Any(w => w.Poisoned))
            {
                throw Refusal;
            }

            return Task.CompletedTask;
        }

        public bool RetriesAlone(Exception error) => !StorageErrors.IsTransient(error);
    }
}

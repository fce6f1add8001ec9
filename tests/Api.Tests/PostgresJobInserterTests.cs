using HpcJobs.Api.Tests.Infrastructure;
using HpcJobs.Grains;
using HpcJobs.Grains.Storage;
using Orleans.Storage;
using static HpcJobs.Api.Tests.Infrastructure.PostgresStorage;

namespace HpcJobs.Api.Tests;

/// <summary>
/// New jobs rows on PostgreSQL are group-committed (PostgresJobInserter): creates that arrive
/// together share one statement, and each still gets exactly its row, node entries, one count and
/// its audit entry — or, when it fails, none of them.
/// </summary>
public sealed class PostgresJobInserterTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [SkippableFact]
    public async Task ConcurrentCreates_CommitInSharedTransactions_EachWithItsNodesOneCountAndOneAuditEntry()
    {
        await using var storage = await PostgresStorage.OpenAsync(await NewDatabaseAsync());
        var rows = storage.JobRows();
        var ids = Enumerable.Range(0, 64).Select(i => $"array_{i}").ToArray();

        var states = await Task.WhenAll(ids.Select(async id => await CreateAsync(rows, id)));

        Assert.Equal(ids.Length, states.Select(s => s.State!.Key).Distinct().Count());
        Assert.All(states, s => Assert.Equal("1", s.ETag));
        Assert.Equal(ids.Length, await storage.ScalarAsync("SELECT COUNT(*) FROM jobs"));
        Assert.Equal(ids.Length * 2, await storage.ScalarAsync("SELECT COUNT(*) FROM job_nodes"));
        Assert.Equal(ids.Length, await storage.ScalarAsync("SELECT COUNT(DISTINCT job_id) FROM job_audit WHERE change = 'created'"));
        Assert.Equal(ids.Length, await storage.ScalarAsync("SELECT COUNT(*) FROM job_audit"));
        Assert.Equal(ids.Length, await storage.ScalarAsync("SELECT SUM(value) FROM service_counters WHERE name = 'jobs_created'"));
        Assert.Equal(ids.Length, await storage.ScalarAsync("SELECT SUM(jobs) FROM job_counts WHERE state = 'running'"));

        // Rows inserted by one statement share its transaction id: fewer transactions than creates.
        var transactions = await storage.ScalarAsync("SELECT COUNT(DISTINCT xmin::text) FROM jobs");
        Assert.True(transactions < ids.Length / 2, $"{transactions} transactions for {ids.Length} concurrent creates");
    }

    [SkippableFact]
    public async Task SameIdCreatedTwiceAtOnce_IsWrittenOnce_AndTheOtherCreateIsRefused()
    {
        await using var storage = await PostgresStorage.OpenAsync(await NewDatabaseAsync());
        var rows = storage.JobRows();

        var results = await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ =>
        {
            try
            {
                await CreateAsync(rows, "twice");
                return true;
            }
            catch (InconsistentStateException)
            {
                return false;
            }
        }));

        Assert.Single(results, written => written);
        Assert.Equal(1, await storage.ScalarAsync("SELECT COUNT(*) FROM job_audit WHERE job_id = 'twice'"));
        Assert.Equal(1, await storage.ScalarAsync("SELECT SUM(value) FROM service_counters WHERE name = 'jobs_created'"));
        Assert.Equal(1, await storage.ScalarAsync("SELECT SUM(jobs) FROM job_counts WHERE state = 'running'"));
    }

    [SkippableFact]
    public async Task CreateThatPostgresRefuses_FailsAlone_LeavingNoRowAndNoAuditEntry_WhileItsBatchCommits()
    {
        await using var storage = await PostgresStorage.OpenAsync(await NewDatabaseAsync());
        var rows = storage.JobRows();
        var ids = Enumerable.Range(0, 32).Select(i => $"ok_{i}").ToArray();

        // Details that are not JSON fail the statement (not a transient error): the batch is tried one create at a time.
        var bad = CreateAsync(rows, "bad", details: "{not json");
        var good = ids.Select(id => CreateAsync(rows, id)).ToArray();

        await Assert.ThrowsAnyAsync<Exception>(() => bad);
        await Task.WhenAll(good);
        Assert.Equal(0, await storage.ScalarAsync("SELECT COUNT(*) FROM jobs WHERE id = 'bad'"));
        Assert.Equal(0, await storage.ScalarAsync("SELECT COUNT(*) FROM job_audit WHERE job_id = 'bad'"));
        Assert.Equal(0, await storage.ScalarAsync("SELECT COUNT(*) FROM job_nodes WHERE job_id = 'bad'"));
        Assert.Equal(ids.Length, await storage.ScalarAsync("SELECT COUNT(*) FROM job_audit"));
        Assert.Equal(ids.Length, await storage.ScalarAsync("SELECT SUM(value) FROM service_counters WHERE name = 'jobs_created'"));
        Assert.Equal(ids.Length, await storage.ScalarAsync("SELECT SUM(jobs) FROM job_counts"));
    }

    private static async Task<GrainState<JobRecord>> CreateAsync(IGrainStorage rows, string jobId, string? details = null)
    {
        var state = new GrainState<JobRecord>(new JobRecord
        {
            User = "u",
            Nodes = ["n1", "n2"],
            State = JobState.Running,
            StartTime = At,
            Allocation = new JobAllocation(64, 128_000, 0, null, null, null),
            Cluster = "c",
            PendingAudit = new AuditEntry(At, AuditChanges.Created, null, JobState.Running, "test", "prolog", null, details),
        });
        await rows.WriteStateAsync(StorageNames.JobState, GrainId.Create("job", JobKey.ToGrainKey(jobId)), state);
        return state;
    }
}

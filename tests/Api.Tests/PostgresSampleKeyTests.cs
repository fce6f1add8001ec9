using HpcJobs.Api.Tests.Infrastructure;
using HpcJobs.Grains;
using HpcJobs.Grains.Storage;
using HpcJobs.Grains.Storage.Postgres;
using Orleans.Storage;
using static HpcJobs.Api.Tests.Infrastructure.PostgresStorage;

namespace HpcJobs.Api.Tests;

/// <summary>
/// Samples on PostgreSQL are stored under integer keys (sql/postgres/050_sample_keys.sql): the job
/// row's job_key, given on insert, and a node key from sample_nodes, which the writer looks up and
/// caches. Reads still name the nodes and order them by name; a job's delete takes its samples by key.
/// </summary>
public sealed class PostgresSampleKeyTests
{
    private static readonly DateTimeOffset At = new(2020, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [SkippableFact]
    public async Task ReadRange_OrdersSamplesOfOneTimeByNodeName_NotByTheOrderTheirKeysWereGiven()
    {
        await using var storage = await OpenAsync(await NewDatabaseAsync());

        // n2 gets its key first, then N1 and n10 (a batch's new names in byte order: N1 < n10 < n2); the whole-job sample sorts first.
        await storage.AppendAsync("order", Sample(At, 1, "n2"));
        await storage.AppendAsync("order", Sample(At, 2, "n10"), Sample(At, 3, "N1"), Sample(At, 4));

        Assert.Equal(["n2", "N1", "n10"], await storage.ColumnAsync("SELECT name FROM sample_nodes WHERE node_key > 0 ORDER BY node_key"));
        var all = await storage.Log.ReadRecentAsync("order", 10);
        Assert.Equal([null, "N1", "n10", "n2"], all.Select(s => s.Node));
        Assert.Equal([4.0, 3, 2, 1], all.Select(s => s.CpuUsage));
        Assert.Equal(["n10", "n2"], (await storage.Log.ReadRangeAsync("order", At, At, 2, CancellationToken.None)).Select(s => s.Node));
    }

    [SkippableFact]
    public async Task Append_AfterABatchThatRolledBack_StoresItsNewNodeUnderACommittedKey()
    {
        await using var storage = await OpenAsync(await NewDatabaseAsync());
        await storage.ExecuteAsync(
            """
            CREATE FUNCTION refuse_negative() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.cpu_usage < 0 THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$;
            CREATE TRIGGER refuse_negative BEFORE INSERT ON samples FOR EACH ROW EXECUTE FUNCTION refuse_negative();
            """);

        // The batch meets a node never seen, then fails: its transaction rolls back.
        await Assert.ThrowsAsync<Npgsql.PostgresException>(() => storage.AppendAsync("rolled", Sample(At, -1, "fresh")));
        await storage.AppendAsync("rolled", Sample(At.AddSeconds(1), 1, "fresh"));

        Assert.Equal(["fresh"], (await storage.Log.ReadRecentAsync("rolled", 10)).Select(s => s.Node));
        Assert.Equal(1, await storage.ScalarAsync("SELECT COUNT(*) FROM sample_nodes WHERE name = 'fresh'"));
        Assert.Equal(0, await storage.ScalarAsync("SELECT COUNT(*) FROM samples s WHERE NOT EXISTS (SELECT 1 FROM sample_nodes n WHERE n.node_key = s.node_key)"));
    }

    [SkippableFact]
    public async Task Append_WithoutTheRowsKey_IsRefused_AndStoresNothing()
    {
        await using var storage = await OpenAsync(await NewDatabaseAsync());
        await storage.JobKeyAsync("keyless");

        await Assert.ThrowsAsync<ArgumentException>(() => storage.Log.AppendAsync("keyless", [Sample(At, 1)], new JobUsage("keyless", TimeSpan.FromMinutes(1))));

        Assert.Equal(0, await storage.ScalarAsync("SELECT COUNT(*) FROM samples"));
    }

    [SkippableFact]
    public async Task JobRow_GetsItsKeyOnInsert_ReadsItBack_AndItsDeleteTakesItsSamplesOnlyAtTheRightVersion()
    {
        await using var storage = await OpenAsync(await NewDatabaseAsync());
        var rows = storage.JobRows();
        var other = await storage.JobKeyAsync("other");
        await storage.AppendAsync("other", Sample(At, 9, "n1"));

        var created = await CreateAsync(rows, "gone");
        Assert.True(created.State!.Key > other, $"key {created.State!.Key} after {other}");
        Assert.Equal(created.State!.Key, (await ReadAsync(rows, "gone")).State!.Key);
        await storage.Log.AppendAsync("gone", [Sample(At, 1, "n1"), Sample(At, 2)], new JobUsage("gone", TimeSpan.FromMinutes(1)) { JobKey = created.State!.Key });

        // A stale version deletes neither the row nor its samples.
        var stale = await ReadAsync(rows, "gone");
        stale.ETag = "7";
        await Assert.ThrowsAsync<InconsistentStateException>(() => rows.ClearStateAsync(StorageNames.JobState, Grain("gone"), stale));
        Assert.Equal(2, (await storage.Log.ReadRecentAsync("gone", 10)).Count);

        await rows.ClearStateAsync(StorageNames.JobState, Grain("gone"), await ReadAsync(rows, "gone"));

        Assert.False((await ReadAsync(rows, "gone")).RecordExists);
        Assert.Equal(0, await storage.ScalarAsync($"SELECT COUNT(*) FROM samples WHERE job_key = {created.State!.Key}"));
        Assert.Single(await storage.Log.ReadRecentAsync("other", 10));

        // The id again is a new job: a new key, none of the old samples.
        var again = await CreateAsync(rows, "gone");
        Assert.NotEqual(created.State!.Key, again.State!.Key);
        Assert.Empty(await storage.Log.ReadRecentAsync("gone", 10));
    }

    private static GrainId Grain(string jobId) => GrainId.Create("job", JobKey.ToGrainKey(jobId));

    private static async Task<GrainState<JobRecord>> CreateAsync(IGrainStorage rows, string jobId)
    {
        var state = new GrainState<JobRecord>(new JobRecord { User = "u", Nodes = ["n1"], State = JobState.Running, StartTime = At.AddHours(-1) });
        await rows.WriteStateAsync(StorageNames.JobState, Grain(jobId), state);
        return state;
    }

    private static async Task<GrainState<JobRecord>> ReadAsync(IGrainStorage rows, string jobId)
    {
        var state = new GrainState<JobRecord>();
        await rows.ReadStateAsync(StorageNames.JobState, Grain(jobId), state);
        return state;
    }

    private static UsageSample Sample(DateTimeOffset at, double cpu, string? node = null) => new(at, cpu, (long)cpu * 10, null, node);
}

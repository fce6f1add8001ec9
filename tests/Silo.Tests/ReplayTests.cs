using static HpcJobs.Silo.Tests.SampleReplay;

namespace HpcJobs.Silo.Tests;

/// <summary>
/// Sample identity held by the database, not by a silo's memory: replays after a restart of the
/// real process on the same database are duplicates, on each backend.
/// </summary>
public abstract class RestartReplayTests<TBackend>
    where TBackend : IBackend, new()
{
    private readonly TBackend _backend = new();

    [SkippableFact]
    public async Task Replay_IsAllDuplicates_AfterARestartOnTheSameDatabase()
    {
        var settings = new Dictionary<string, string>(await _backend.CreateDatabaseAsync())
        {
            ["PORT"] = FreePort.Next().ToString(),
        };
        var job = "rr-" + Guid.NewGuid().ToString("N")[..8];
        var at = Now().AddMinutes(-5);
        string[] singles = [Sample(at, 10, 100), Sample(at.AddSeconds(1), 11, 110, node: "a"), Sample(at.AddSeconds(1), 12, 120, node: "b")];
        var batch = Batch(Enumerable.Range(2, 6).Select(i => Sample(at.AddSeconds(i), 20 + i, 200 + i, node: i % 2 == 0 ? "a" : null, jobId: job)));
        await using (var first = await ServiceProcess.StartAsync(settings))
        {
            await CreateJobAsync(first.Client, job, "a", "b");
            foreach (var sample in singles)
            {
                await PostSampleAsync(first.Client, job, sample);
            }

            Assert.Equal((6L, 0L), await PostBatchAsync(first.Client, batch));
            await first.TerminateAsync(TimeSpan.FromSeconds(30));
        }

        await using var second = await ServiceProcess.StartAsync(settings);
        var replayed = await PostSampleAsync(second.Client, job, Sample(at, 99, 999));
        foreach (var sample in singles.Skip(1))
        {
            await PostSampleAsync(second.Client, job, sample);
        }

        var (accepted, duplicates) = await PostBatchAsync(second.Client, batch);

        Assert.Equal(10, replayed.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(100, replayed.GetProperty("memory_usage_mb").GetInt64());
        Assert.Equal((0L, 6L), (accepted, duplicates));
        Assert.Equal(9, (await HistoryAsync(second.Client, job)).Length);
    }
}

public sealed class SqliteRestartReplayTests : RestartReplayTests<SqliteBackend>;

public sealed class PostgresRestartReplayTests : RestartReplayTests<PostgresBackend>;

/// <summary>Two real silos on one PostgreSQL database: a batch replayed to either or both at once is stored once.</summary>
public sealed class ClusterReplayTests
{
    [SkippableFact]
    public async Task Replay_ToTwoSilos_StoresEachSampleOnce_AndAcceptsEachOnceInTotal()
    {
        var settings = new Dictionary<string, string>(await new PostgresBackend().CreateDatabaseAsync())
        {
            ["CLUSTER_ID"] = "r" + Guid.NewGuid().ToString("N")[..8],
        };
        await using var a = await ServiceProcess.StartAsync(settings);
        await using var b = await ServiceProcess.StartAsync(settings);
        var jobs = Enumerable.Range(0, 4).Select(i => $"cr-{i}-{Guid.NewGuid():N}"[..16]).ToArray();
        foreach (var job in jobs)
        {
            await CreateJobAsync(a.Client, job, "n1", "n2");
        }

        var at = Now().AddMinutes(-5);
        string BatchFrom(int offset) => Batch(Enumerable.Range(0, 20).Select(i =>
            Sample(at.AddSeconds(offset + (i / 4)), i, i, node: i % 2 == 0 ? "n1" : "n2", jobId: jobs[i % 4])));
        var sequential = BatchFrom(0);
        var concurrent = BatchFrom(100);

        var answers = new List<(long Accepted, long Duplicates)>
        {
            await PostBatchAsync(a.Client, sequential),
            await PostBatchAsync(b.Client, sequential),
        };
        answers.AddRange(await Task.WhenAll(Enumerable.Range(0, 6).Select(i => PostBatchAsync(i % 2 == 0 ? a.Client : b.Client, concurrent))));

        Assert.Equal((20L, 0L), answers[0]);
        Assert.Equal((0L, 20L), answers[1]);
        Assert.All(answers, answer => Assert.Equal(20, answer.Accepted + answer.Duplicates));
        Assert.Equal(40, answers.Sum(answer => answer.Accepted));
        foreach (var job in jobs)
        {
            var fromA = await HistoryAsync(a.Client, job);
            Assert.Equal(10, fromA.Length);
            Assert.Equal(10, (await HistoryAsync(b.Client, job)).Length);
            Assert.Equal(10, fromA.Select(s => (s.GetProperty("timestamp").GetString(), s.GetProperty("node").GetString())).Distinct().Count());
        }
    }
}

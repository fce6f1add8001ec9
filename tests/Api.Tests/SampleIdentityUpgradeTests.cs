using System.Data.Common;
using System.Globalization;
using System.Net;
using HpcJobs.Api.Tests.Infrastructure;
using HpcJobs.Grains.Storage;
using HpcJobs.Grains.Storage.Postgres;
using Microsoft.Data.Sqlite;
using Npgsql;
using static HpcJobs.Api.Tests.Infrastructure.SampleCalls;

namespace HpcJobs.Api.Tests;

/// <summary>
/// A database made by the previous release (schema of commit 8c5df3c, kept verbatim under
/// Fixtures/previous-schema) holds duplicate samples, since nothing made (job, timestamp) unique.
/// The first start of this release must keep the first stored copy of each, build the unique key,
/// and then treat a replay as a duplicate. The previous release also kept each job grain's state
/// separately (SQLite table grain_state, PostgreSQL OrleansStorage); this release reads only the
/// jobs row (the row is the grain's storage, and rows of the older schema get version 1), so the
/// database is built from jobs, job_nodes and samples rows alone.
/// </summary>
public abstract class SampleIdentityUpgradeTests<TBackend>
    where TBackend : IBackend, new()
{
    [SkippableFact]
    public async Task Upgrade_KeepsTheFirstCopyOfEachDuplicateSample_AndTreatsReplaysAsDuplicates()
    {
        await using var backend = new TBackend();
        var database = await backend.CreateDatabaseAsync();
        var sqlite = database["DATABASE_TYPE"] == "sqlite";
        var start = Now().AddHours(-1);
        var end = start.AddMinutes(30);
        var t1 = Now().AddMinutes(-40);
        var t2 = t1.AddSeconds(30);
        var t3 = t2.AddSeconds(30);
        await using (var connection = Open(database))
        {
            foreach (var script in PreviousSchema(database["DATABASE_TYPE"]))
            {
                await ExecuteAsync(connection, script);
            }

            await InsertJobAsync(connection, sqlite, "up-run", "running", start, null, latestCpu: 31, t3);
            await InsertJobAsync(connection, sqlite, "up-done", "completed", start, end, latestCpu: 6, t1);
            foreach (var (jobId, at, cpu) in new[]
                     {
                         ("up-run", t1, 11.0), ("up-run", t1, 12.0), ("up-run", t2, 21.0), ("up-run", t1, 13.0),
                         ("up-run", t3, 31.0), ("up-run", t2, 22.0), ("up-done", t1, 5.0), ("up-done", t1, 6.0),
                     })
            {
                await ExecuteAsync(
                    connection,
                    sqlite
                        ? $"INSERT INTO samples (job_id, ts, cpu_usage, memory_usage_mb) VALUES ('{jobId}', {Micros(at)}, {Invariant(cpu)}, {(long)cpu * 10})"
                        : $"INSERT INTO samples (job_id, ts, cpu_usage, memory_usage_mb) VALUES ('{jobId}', '{Wire(at)}', {Invariant(cpu)}, {(long)cpu * 10})");
            }
        }

        await using var service = InProcessService.Start(database, "test");
        var client = service.Client;

        var running = await HistoryAsync(client, "up-run");
        Assert.Equal([11.0, 21.0, 31.0], running.Select(s => s.GetProperty("cpu_usage").GetDouble()));
        Assert.Equal([110L, 210L, 310L], running.Select(s => s.GetProperty("memory_usage_mb").GetInt64()));
        Assert.Equal([t1, t2, t3], running.Select(s => ParseTime(s.GetProperty("timestamp"))));
        Assert.Equal([5.0], (await HistoryAsync(client, "up-done")).Select(s => s.GetProperty("cpu_usage").GetDouble()));
        await using (var connection = Open(database))
        {
            Assert.Equal(1L, await ScalarAsync(
                connection,
                sqlite
                    ? "SELECT COUNT(*) FROM pragma_index_list('samples') WHERE origin = 'pk' AND \"unique\" = 1"
                    : "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'samples_identity_idx'"));
            Assert.Equal(4L, await ScalarAsync(connection, "SELECT COUNT(*) FROM samples"));
        }

        var replayed = await PostSampleAsync(client, "up-run", Sample(t1, 99, 990));
        var (accepted, duplicates, rejected) = await PostBatchAsync(client, Batch(Sample(t2, 98, 980, jobId: "up-run")));
        Assert.Equal(11, replayed.GetProperty("cpu_usage").GetDouble());
        Assert.Equal((0L, 1L), (accepted, duplicates));
        Assert.Empty(rejected);
        Assert.Equal(3, (await HistoryAsync(client, "up-run")).Length);

        var job = await GetJobAsync(client, "up-run");
        Assert.Equal("running", job.GetProperty("state").GetString());
        Assert.Equal("old-user", job.GetProperty("user").GetString());
        Assert.Equal(["n1", "n2"], job.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal(start, ParseTime(job.GetProperty("start_time")));
        Assert.Equal(31, job.GetProperty("cpu_usage").GetDouble());
        var done = await GetJobAsync(client, "up-done");
        Assert.Equal("completed", done.GetProperty("state").GetString());
        Assert.Equal(end, ParseTime(done.GetProperty("end_time")));

        // A row of the older schema (version 1) takes a lifecycle change and reads it back.
        using (var patch = await client.PatchJsonAsync("/v1/jobs/up-run", """{"state":"completed"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        }

        Assert.Equal("completed", (await GetJobAsync(client, "up-run")).GetProperty("state").GetString());
        using var listed = await client.GetAsync("/v1/jobs?user=old-user");
        Assert.Equal(2, (await listed.ReadJsonAsync()).GetProperty("total").GetInt64());
    }

    /// <summary>
    /// The previous release's scripts, in the order it ran them: Orleans' own scripts (unchanged
    /// since, so taken from this release) and the service's, from the snapshot.
    /// </summary>
    private static IEnumerable<string> PreviousSchema(string backend) =>
        SqlScripts.For(backend)
            .Where(script => script.Name.Contains("_orleans_", StringComparison.Ordinal))
            .Select(script => script.Text)
            .Concat(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "previous-schema", backend), "*.sql")
                .Order(StringComparer.Ordinal)
                .Select(File.ReadAllText));

    private static async Task InsertJobAsync(
        DbConnection connection, bool sqlite, string id, string state, DateTimeOffset start, DateTimeOffset? end, double latestCpu, DateTimeOffset lastSample)
    {
        var endSql = end is { } e ? (sqlite ? Micros(e).ToString(CultureInfo.InvariantCulture) : $"'{Wire(e)}'") : "NULL";
        await ExecuteAsync(
            connection,
            sqlite
                ? $"""
                   INSERT INTO jobs (id, user_name, state, start_time, end_time, nodes, cpu_usage, memory_usage_mb, last_sample_time)
                   VALUES ('{id}', 'old-user', '{state}', {Micros(start)}, {endSql},
                           '["n1","n2"]', {Invariant(latestCpu)}, {(long)latestCpu * 10}, {Micros(lastSample)})
                   """
                : $"""
                   INSERT INTO jobs (id, user_name, state, start_time, end_time, nodes, cpu_usage, memory_usage_mb, last_sample_time)
                   VALUES ('{id}', 'old-user', '{state}', '{Wire(start)}', {endSql},
                           ARRAY['n1','n2'], {Invariant(latestCpu)}, {(long)latestCpu * 10}, '{Wire(lastSample)}')
                   """);
        foreach (var node in new[] { "n1", "n2" })
        {
            await ExecuteAsync(connection, $"INSERT INTO job_nodes (node, job_id) VALUES ('{node}', '{id}')");
        }
    }

    private static long Micros(DateTimeOffset time) => (time - DateTimeOffset.UnixEpoch).Ticks / 10;

    private static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static DbConnection Open(IReadOnlyDictionary<string, string> database)
    {
        DbConnection connection = database["DATABASE_TYPE"] == "sqlite"
            ? new SqliteConnection($"Data Source={database["DATABASE_URL"]};Pooling=False")
            : new NpgsqlConnection(PostgresConnectionString.Parse(database["DATABASE_URL"]).ConnectionString + ";Pooling=false");
        connection.Open();
        return connection;
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}

public sealed class SqliteSampleIdentityUpgradeTests : SampleIdentityUpgradeTests<SqliteBackend>;

public sealed class PostgresSampleIdentityUpgradeTests : SampleIdentityUpgradeTests<PostgresBackend>;

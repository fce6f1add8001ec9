using System.Globalization;
using System.Net;
using HpcJobs.Api.Tests.Infrastructure;
using HpcJobs.Grains.Storage;
using Microsoft.Data.Sqlite;
using static HpcJobs.Api.Tests.Infrastructure.SampleCalls;

namespace HpcJobs.Api.Tests;

/// <summary>
/// A file made before the integer sample key (scripts of commit a5ae767 under
/// Fixtures/text-keyed-schema, plus that release's unique index) holds samples keyed by the job id
/// text, of whole jobs and of named nodes. The first start of this release must move every sample
/// into the (job_key, ts, node_key) table unchanged as the history route reads it, drop the old
/// table, and then ingest, deduplicate and delete by the new keys.
/// </summary>
public sealed class SqliteSampleKeyUpgradeTests
{
    [Fact]
    public async Task Upgrade_MovesEverySampleUnderTheIntegerKeys_AndIngestGoesOn()
    {
        await using var backend = new SqliteBackend();
        var database = await backend.CreateDatabaseAsync();
        var file = database["DATABASE_URL"];
        var start = Now().AddHours(-2);
        var t = Enumerable.Range(0, 4).Select(i => Now().AddMinutes(-60 + i)).ToArray();
        using (var connection = Open(file))
        {
            foreach (var script in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "text-keyed-schema", "sqlite"), "*.sql").Order(StringComparer.Ordinal))
            {
                Execute(connection, File.ReadAllText(script));
            }

            Execute(connection, "CREATE UNIQUE INDEX samples_identity ON samples (job_id, ts, node)");
            foreach (var id in new[] { "key-a", "key-b", "key-gone" })
            {
                Execute(connection, $"""
                    INSERT INTO jobs (id, user_name, state, start_time, nodes, cpu_usage, memory_usage_mb, last_sample_time)
                    VALUES ('{id}', 'old-user', 'running', {Micros(start)}, '["n1","n2"]', 4, 40, {Micros(t[3])})
                    """);
            }

            // key-a: two nodes at each time, inserted n2 first at t0; key-b: whole-job samples; key-gone: deleted below.
            var rows = new List<(string Job, DateTimeOffset At, string Node, double Cpu)>
            {
                ("key-a", t[0], "n2", 2), ("key-a", t[0], "n1", 1), ("key-a", t[1], "n1", 11), ("key-a", t[1], "n2", 12),
                ("key-b", t[0], "", 5), ("key-b", t[2], "", 6), ("key-gone", t[0], "n1", 9), ("no-row", t[0], "", 7),
            };
            foreach (var (job, at, node, cpu) in rows)
            {
                Execute(connection, $"""
                    INSERT INTO samples (job_id, ts, cpu_usage, memory_usage_mb, gpu_usage, node, gpu_memory_mb)
                    VALUES ('{job}', {Micros(at)}, {cpu.ToString(CultureInfo.InvariantCulture)}, {(long)cpu * 10}, {(node == "" ? "NULL" : "50.5")}, '{node}', {(node == "" ? "NULL" : "700")})
                    """);
            }

            Execute(connection, "DELETE FROM jobs WHERE id = 'key-gone'");
        }

        await using (var service = InProcessService.Start(database, "test"))
        {
            var client = service.Client;
            var a = await HistoryAsync(client, "key-a");
            Assert.Equal([1.0, 2.0, 11.0, 12.0], a.Select(s => s.GetProperty("cpu_usage").GetDouble()));
            Assert.Equal(["n1", "n2", "n1", "n2"], a.Select(s => s.GetProperty("node").GetString()));
            Assert.Equal([t[0], t[0], t[1], t[1]], a.Select(s => ParseTime(s.GetProperty("timestamp"))));
            Assert.All(a, s => Assert.Equal(50.5, s.GetProperty("gpu_usage").GetDouble()));
            Assert.All(a, s => Assert.Equal(700, s.GetProperty("gpu_memory_mb").GetInt64()));
            var b = await HistoryAsync(client, "key-b");
            Assert.Equal([5.0, 6.0], b.Select(s => s.GetProperty("cpu_usage").GetDouble()));
            Assert.All(b, s => Assert.False(s.TryGetProperty("node", out var node) && node.ValueKind != System.Text.Json.JsonValueKind.Null));

            // A replay of a moved sample is a duplicate, a new one is stored; a new node gets a key.
            var (accepted, duplicates, _) = await PostBatchAsync(client, Batch(
                Sample(t[0], 99, 990, node: "n1", jobId: "key-a"), Sample(t[2], 21, 210, node: "n2", jobId: "key-a")));
            Assert.Equal((1L, 1L), (accepted, duplicates));
            Assert.Equal([1.0, 2.0, 11.0, 12.0, 21.0], (await HistoryAsync(client, "key-a")).Select(s => s.GetProperty("cpu_usage").GetDouble()));
            var fresh = await CreateJobAsync(client, nodes: ["n9"], start: start);
            await PostSampleAsync(client, fresh, Sample(t[3], 3, 30, node: "n9"));
            Assert.Equal("n9", Assert.Single(await HistoryAsync(client, fresh)).GetProperty("node").GetString());

            using var deleted = await client.DeleteAsync("/v1/jobs/key-b");
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        using (var connection = Open(file))
        {
            Assert.Equal(0L, Scalar(connection, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('samples_by_job_id', 'samples_identity')"));
            Assert.Equal(0L, Scalar(connection, "SELECT COUNT(*) FROM pragma_table_info('samples') WHERE name IN ('job_id', 'node')"));
            Assert.Equal(1L, Scalar(connection, "SELECT COUNT(*) FROM pragma_index_list('samples') WHERE origin = 'pk'"));
            Assert.Equal(1L, Scalar(connection, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'samples_by_time'"));

            // key-a's five samples and the new job's are left: key-b's went with its row, key-gone's and no-row's were not carried over.
            Assert.Equal(6L, Scalar(connection, "SELECT COUNT(*) FROM samples"));
            Assert.Equal(["n1", "n2", "n9"], Strings(connection, "SELECT name FROM sample_nodes ORDER BY node_key"));
            Assert.Equal(0L, Scalar(connection, "SELECT COUNT(*) FROM jobs WHERE job_key IS NULL"));
        }
    }

    private static long Micros(DateTimeOffset time) => (time - DateTimeOffset.UnixEpoch).Ticks / 10;

    private static SqliteConnection Open(string file)
    {
        var connection = new SqliteConnection($"Data Source={file};Pooling=False");
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static List<string> Strings(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }
}

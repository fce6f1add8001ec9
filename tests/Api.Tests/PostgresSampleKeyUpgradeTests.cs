using System.Globalization;
using System.Text.Json;
using HpcJobs.Api.Tests.Infrastructure;
using HpcJobs.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using static HpcJobs.Api.Tests.Infrastructure.PostgresStorage;
using static HpcJobs.Api.Tests.Infrastructure.SampleCalls;

namespace HpcJobs.Api.Tests;

/// <summary>
/// A database made by the release before the integer sample keys (every script of commit a5ae767,
/// kept verbatim under Fixtures/text-keyed-schema/postgres) keys its day partitions by
/// (job_id, ts, node) texts. The first start of this release (050_sample_keys.sql) must move every
/// sample under (job_key, ts, node_key) so that the history route reads each one back as before,
/// keep every partition's name and day, end up in the shape of a fresh database, change nothing on
/// a second run; and ingest, duplicates and retention must work on the keys afterwards.
/// </summary>
public sealed class PostgresSampleKeyUpgradeTests
{
    /// <summary>When each job's samples were taken, from now: an expired day, both sides of the 7-day cutoff, and days kept.</summary>
    private static readonly TimeSpan[] Ages =
    [
        TimeSpan.FromDays(9), TimeSpan.FromDays(7) + TimeSpan.FromHours(2), TimeSpan.FromDays(7) - TimeSpan.FromHours(2),
        TimeSpan.FromDays(3), TimeSpan.FromDays(1), TimeSpan.FromHours(1), TimeSpan.FromMinutes(30),
    ];

    /// <summary>Jobs and the node of each of their samples at every age ('' is a whole-job sample); no-row has samples but no jobs row.</summary>
    private static readonly (string Job, string[] Nodes)[] Jobs =
    [
        ("key-a", ["n2", "n10", "N1"]),
        ("key-b", [""]),
        ("key-c", ["", "c1"]),
        ("no-row", ["", "n2"]),
    ];

    private const string Partitions =
        """
        SELECT c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid)
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'samples'::regclass ORDER BY 1
        """;

    [SkippableFact]
    public async Task Upgrade_MovesEverySampleUnderTheIntegerKeys_ReadsThemBackAsBefore_AndIngestAndRetentionGoOn()
    {
        await using var backend = new PostgresBackend();
        var database = await backend.CreateDatabaseAsync();
        var url = database["DATABASE_URL"];
        var now = Now();
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var kept = "samples_kept_" + today.AddDays(-3).ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        await using (var connection = Connect(url))
        {
            foreach (var script in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "text-keyed-schema", "postgres"), "*.sql").Order(StringComparer.Ordinal))
            {
                await ExecuteAsync(connection, await File.ReadAllTextAsync(script));
            }

            await ExecuteAsync(connection, BuildOldDatabase(now, today, kept));
        }

        List<string> partitionsBefore;
        Dictionary<string, List<string>> before;
        await using (var old = await OpenAsync(url, applySchema: false))
        {
            Assert.Equal(["job_id"], await old.ColumnAsync("SELECT attname FROM pg_attribute WHERE attrelid = 'samples'::regclass AND attname = 'job_id'"));
            partitionsBefore = await old.ColumnAsync(Partitions);
            Assert.Contains(partitionsBefore, p => p.StartsWith(kept + " ", StringComparison.Ordinal));
            Assert.Contains(partitionsBefore, p => p.StartsWith(PartitionOf(today.AddDays(5)) + " ", StringComparison.Ordinal));
            before = Rows(await old.ColumnAsync(
                """
                SELECT concat_ws('|', job_id, (extract(epoch FROM ts) * 1000000)::bigint, cpu_usage, memory_usage_mb, COALESCE(gpu_usage::text, '-'),
                                 CASE WHEN node = '' THEN '-' ELSE node END, COALESCE(gpu_memory_mb::text, '-'), COALESCE(memory_peak_mb::text, '-'),
                                 COALESCE(oom_kills::text, '-'))
                FROM samples ORDER BY job_id, ts, node
                """));
        }

        Assert.Equal(Jobs.Sum(j => j.Nodes.Length) * Ages.Length, before.Values.Sum(rows => rows.Count));

        // The first start upgrades; no retention yet (the cutoff is a century back), so every sample is there to read.
        await using (var service = InProcessService.Start(database, "test", new Dictionary<string, string> { ["METRICS_RETENTION_DAYS"] = "36500" }))
        {
            var client = service.Client;
            foreach (var (job, _) in Jobs.Where(j => j.Job != "no-row"))
            {
                Assert.Equal(before[job], Rows(job, await HistoryAsync(client, job)));
            }

            await using var upgraded = await OpenAsync(url, applySchema: false);
            Assert.Empty(await upgraded.ColumnAsync("SELECT attname FROM pg_attribute WHERE attrelid = 'samples'::regclass AND attname IN ('job_id', 'node')"));
            Assert.Empty(await upgraded.ColumnAsync("SELECT relname FROM pg_class WHERE relname LIKE 'samples_by_id%'"));
            Assert.Equal(before.Where(j => j.Key != "no-row").Sum(j => j.Value.Count), await upgraded.ScalarAsync("SELECT COUNT(*) FROM samples"));
            Assert.Equal(["", "N1", "c1", "n10", "n2"], await upgraded.ColumnAsync("SELECT name FROM sample_nodes ORDER BY node_key"));
            var partitionsAfter = await upgraded.ColumnAsync(Partitions);
            Assert.Subset(partitionsAfter.ToHashSet(), partitionsBefore.ToHashSet());
            Assert.Subset(
                Enumerable.Range(0, 4).Select(d => PartitionOf(today.AddDays(d))).ToHashSet(),
                partitionsAfter.Except(partitionsBefore).Select(p => p.Split(' ')[0]).ToHashSet());
            Assert.Equal(0, await upgraded.ScalarAsync(
                $"SELECT COUNT(*) FROM samples WHERE tableoid::regclass::text NOT IN ('samples_p' || to_char(ts AT TIME ZONE 'UTC', 'YYYYMMDD'), '{kept}')"));
            await using (var fresh = await OpenAsync((await backend.CreateDatabaseAsync())["DATABASE_URL"]))
            {
                Assert.Equal(
                    [.. await fresh.ColumnAsync(SampleShape), $"table {kept}"],
                    (await upgraded.ColumnAsync(SampleShape)).OrderBy(x => x == $"table {kept}"));
            }

            Assert.Equal(
                ["samples_identity_idx"],
                await upgraded.ColumnAsync($"SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid IN (SELECT indexrelid FROM pg_index WHERE indrelid = '{kept}'::regclass) ORDER BY 1"));

            // A second run of the scripts changes nothing.
            var shape = await upgraded.ColumnAsync(SampleShape);
            var stored = await upgraded.ColumnAsync("SELECT concat_ws('|', job_key, ts, node_key, cpu_usage, memory_usage_mb) FROM samples ORDER BY 1");
            await upgraded.Database.ApplySchemaAsync(CancellationToken.None);
            Assert.Equal(shape, await upgraded.ColumnAsync(SampleShape));
            Assert.Equal(stored, await upgraded.ColumnAsync("SELECT concat_ws('|', job_key, ts, node_key, cpu_usage, memory_usage_mb) FROM samples ORDER BY 1"));

            // Ingest on the keys: a replay of a moved sample answers the stored copy, new ones are stored,
            // a node no sample had before gets its key.
            var moved = now - Ages[^1];
            var replay = await PostSampleAsync(client, "key-a", Sample(moved, 99, 990, node: "n10"));
            Assert.Equal(before["key-a"].Single(r => r.StartsWith(Micros(moved) + "|", StringComparison.Ordinal) && r.Contains("|n10|", StringComparison.Ordinal)),
                Row(replay));
            var (accepted, duplicates, rejected) = await PostBatchAsync(client, Batch(
                Sample(moved, 98, 980, jobId: "key-b"),
                Sample(now.AddSeconds(-10), 7, 70, node: "c2", jobId: "key-c"),
                Sample(now.AddSeconds(-10), 8, 80, node: "n2", jobId: "key-a")));
            Assert.Empty(rejected);
            Assert.Equal((2L, 1L), (accepted, duplicates));
            before["key-a"].Add($"{Micros(now.AddSeconds(-10))}|8|80|-|n2|-|-|-");
            before["key-c"].Add($"{Micros(now.AddSeconds(-10))}|7|70|-|c2|-|-|-");
            foreach (var job in new[] { "key-a", "key-b", "key-c" })
            {
                Assert.Equal(before[job], Rows(job, await HistoryAsync(client, job)));
            }
        }

        // Retention on the keys: the expired day goes whole, the day across the cutoff is trimmed by time.
        await using (var service = InProcessService.Start(database, "test"))
        {
            await service.Services.GetRequiredService<IGrainFactory>().GetGrain<IRetentionGrain>(0).RunOnceAsync();
            var client = service.Client;
            var cutoff = Micros(now - TimeSpan.FromDays(7));
            foreach (var job in new[] { "key-a", "key-b", "key-c" })
            {
                var left = Rows(job, await HistoryAsync(client, job));
                Assert.Equal([.. before[job].Where(r => long.Parse(r.Split('|')[0], CultureInfo.InvariantCulture) >= cutoff)], left);
                Assert.True(left.Count < before[job].Count, $"{job} lost no sample");
            }

            await using var storage = await OpenAsync(url, applySchema: false);
            Assert.Empty(await storage.ColumnAsync($"SELECT relname FROM pg_class WHERE relname = '{PartitionOf(DateOnly.FromDateTime((now - Ages[0]).UtcDateTime))}'"));
            Assert.Equal(0, await storage.ScalarAsync($"SELECT COUNT(*) FROM samples WHERE ts < '{Wire(now - TimeSpan.FromDays(7))}'"));
        }
    }

    /// <summary>
    /// The old database's rows: the jobs (but no-row), partitions for the samples' days and one five
    /// days ahead, the samples in time order with every optional field set on some and not others,
    /// and the partition of three days ago renamed as an operator keeps one from retention.
    /// </summary>
    private static string BuildOldDatabase(DateTimeOffset now, DateOnly today, string kept)
    {
        var sql = new System.Text.StringBuilder();
        foreach (var (job, nodes) in Jobs.Where(j => j.Job != "no-row"))
        {
            var listed = string.Join(", ", nodes.Where(n => n != "").Append("c2").Select(n => $"'{n}'"));
            sql.AppendLine(CultureInfo.InvariantCulture, $"""
                INSERT INTO jobs (id, user_name, state, start_time, nodes) VALUES ('{job}', 'old-user', 'running', '{Wire(now.AddDays(-10))}', ARRAY[{listed}]);
                """);
        }

        var days = Ages.Select(age => DateOnly.FromDateTime((now - age).UtcDateTime)).Append(today.AddDays(5)).Distinct();
        sql.AppendLine(CultureInfo.InvariantCulture, $"SELECT samples_create_partitions(ARRAY[{string.Join(", ", days.Select(d => $"date '{d:yyyy-MM-dd}'"))}]);");
        var i = 0;
        foreach (var age in Ages)
        {
            foreach (var (job, nodes) in Jobs)
            {
                foreach (var node in nodes)
                {
                    i++;
                    string Maybe(bool present, object value) => present ? Convert.ToString(value, CultureInfo.InvariantCulture)! : "NULL";
                    sql.AppendLine(CultureInfo.InvariantCulture, $"""
                        INSERT INTO samples (job_id, ts, cpu_usage, memory_usage_mb, gpu_usage, node, gpu_memory_mb, memory_peak_mb, oom_kills)
                        VALUES ('{job}', '{Wire(now - age)}', {i}.25, {100 + i}, {Maybe(i % 3 != 0, i / 2.0)}, '{node}',
                                {Maybe(i % 2 == 0, 1000 + i)}, {Maybe(i % 4 != 1, 2000 + i)}, {Maybe(i % 5 == 0, i % 3)});
                        """);
                }
            }
        }

        sql.AppendLine(CultureInfo.InvariantCulture, $"ALTER TABLE {PartitionOf(today.AddDays(-3))} RENAME TO {kept};");
        return sql.ToString();
    }

    /// <summary>Each row "job|rest" of <paramref name="rows"/> under its job, as "rest", in order.</summary>
    private static Dictionary<string, List<string>> Rows(List<string> rows) =>
        rows.GroupBy(r => r[..r.IndexOf('|', StringComparison.Ordinal)], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(r => r[(r.IndexOf('|', StringComparison.Ordinal) + 1)..]).ToList(), StringComparer.Ordinal);

    private static List<string> Rows(string job, JsonElement[] history)
    {
        Assert.All(history, s => Assert.Equal(job, s.GetProperty("job_id").GetString()));
        return [.. history.Select(Row)];
    }

    /// <summary>A sample of the API as the old table's row reads: micros|cpu|memory|gpu|node|gpu memory|peak|oom kills, '-' for absent.</summary>
    private static string Row(JsonElement sample)
    {
        string Field(string name) => sample.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText()
            : "-";
        return string.Join('|', Micros(ParseTime(sample.GetProperty("timestamp"))), Field("cpu_usage"), Field("memory_usage_mb"),
            Field("gpu_usage"), Field("node"), Field("gpu_memory_mb"), Field("memory_peak_mb"), Field("oom_kills"));
    }

    private static long Micros(DateTimeOffset time) => (time - DateTimeOffset.UnixEpoch).Ticks / 10;

    private static async Task ExecuteAsync(Npgsql.NpgsqlConnection connection, string sql)
    {
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

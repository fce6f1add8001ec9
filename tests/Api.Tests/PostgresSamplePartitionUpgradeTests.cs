using HpcJobs.Api.Tests.Infrastructure;
using HpcJobs.Grains;
using HpcJobs.Grains.Storage;
using static HpcJobs.Api.Tests.Infrastructure.PostgresStorage;

namespace HpcJobs.Api.Tests;

/// <summary>
/// A database of the release before the day partitions (its 010_service.sql, kept verbatim from
/// commit 09b706c under Fixtures/unpartitioned-schema) holds samples in one unpartitioned table with
/// an id column. The first start of this release moves them into day partitions (040, then keyed by
/// 050): every sample kept as it was, the identity key still making replays duplicates, the same
/// shape as a fresh database; and a second start changes nothing.
/// </summary>
public sealed class PostgresSamplePartitionUpgradeTests
{
    /// <summary>3,000 samples 97 s apart from 3 days before today (UTC) on: five jobs, whole-job and per-node, optional fields mixed.</summary>
    private const string OldSamples =
        """
        INSERT INTO jobs (id, user_name, state, start_time, nodes)
        SELECT 'up-' || g, 'old-user', 'running', now() - interval '4 days', ARRAY['n0', 'n1'] FROM generate_series(0, 4) AS g;
        INSERT INTO samples (job_id, ts, cpu_usage, memory_usage_mb, gpu_usage, node, gpu_memory_mb, memory_peak_mb, oom_kills)
        SELECT 'up-' || (g % 5), date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '3 days' + g * interval '97 seconds',
               g % 100, g, CASE WHEN g % 3 = 0 THEN g / 8.0 END, CASE WHEN g % 4 = 0 THEN '' ELSE 'n' || (g % 2) END,
               CASE WHEN g % 3 = 0 THEN g END, g + 1, g % 2
        FROM generate_series(0, 2999) AS g
        """;

    private const string Contents =
        """
        SELECT string_agg(concat_ws('|', job_id, extract(epoch FROM ts), cpu_usage, memory_usage_mb, gpu_usage, node, gpu_memory_mb, memory_peak_mb, oom_kills),
                          E'\n' ORDER BY job_id, ts, node)
        FROM samples
        """;

    /// <summary><see cref="Contents"/> of the keyed table (050_sample_keys.sql): the same texts, through the keys.</summary>
    private const string KeyedContents =
        """
        SELECT string_agg(concat_ws('|', j.id, extract(epoch FROM s.ts), s.cpu_usage, s.memory_usage_mb, s.gpu_usage, n.name, s.gpu_memory_mb, s.memory_peak_mb, s.oom_kills),
                          E'\n' ORDER BY j.id, s.ts, n.name)
        FROM samples s JOIN jobs j USING (job_key) JOIN sample_nodes n USING (node_key)
        """;

    [SkippableFact]
    public async Task Upgrade_FromTheUnpartitionedTable_MovesEverySampleIntoItsDay_AndASecondRunChangesNothing()
    {
        var url = await NewDatabaseAsync();
        await using (var connection = Connect(url))
        {
            foreach (var script in UnpartitionedSchema())
            {
                await using var command = new Npgsql.NpgsqlCommand(script, connection);
                await command.ExecuteNonQueryAsync();
            }

            await using var insert = new Npgsql.NpgsqlCommand(OldSamples, connection);
            await insert.ExecuteNonQueryAsync();
        }

        await using var old = await OpenAsync(url, applySchema: false);
        Assert.Equal(["r"], await old.ColumnAsync("SELECT relkind::text FROM pg_class WHERE oid = 'samples'::regclass"));
        Assert.Equal(["id"], await old.ColumnAsync("SELECT attname FROM pg_attribute WHERE attrelid = 'samples'::regclass AND attname = 'id'"));
        var before = (await old.ColumnAsync(Contents))[0];
        var days = await old.ColumnAsync("SELECT DISTINCT 'samples_p' || to_char(ts AT TIME ZONE 'UTC', 'YYYYMMDD') FROM samples ORDER BY 1");
        Assert.True(days.Count >= 4, string.Join(", ", days));

        await using var upgraded = await OpenAsync(url);

        Assert.Equal(before, (await upgraded.ColumnAsync(KeyedContents))[0]);
        var partitions = await upgraded.PartitionsAsync();
        Assert.Subset(partitions.ToHashSet(), days.ToHashSet());
        Assert.True(partitions.Count <= days.Count + 2, string.Join(", ", partitions));
        Assert.Equal(0, await upgraded.ScalarAsync(
            "SELECT COUNT(*) FROM samples WHERE tableoid::regclass::text <> 'samples_p' || to_char(ts AT TIME ZONE 'UTC', 'YYYYMMDD')"));
        await using (var fresh = await OpenAsync(await NewDatabaseAsync()))
        {
            Assert.Equal(await fresh.ColumnAsync(SampleShape), await upgraded.ColumnAsync(SampleShape));
        }

        // The identity key still turns a replay into a duplicate, through the writer and in SQL.
        var micros = await upgraded.ScalarAsync(
            "SELECT (extract(epoch FROM s.ts) * 1000000)::bigint FROM samples s JOIN jobs j USING (job_key) WHERE j.id = 'up-0' AND s.memory_usage_mb = 5");
        var at = MicrosecondTime.FromUnixMicroseconds(micros);
        var replay = await upgraded.AppendAsync("up-0", new UsageSample(at, 99, 990, null, "n1"), new UsageSample(at.AddSeconds(1), 98, 980, null, "n1"));
        Assert.Equal(1, replay.Duplicates);
        Assert.Equal(new UsageSample(at, 5, 5, null, "n1", null, 6, 1), replay.StoredDuplicate(0));
        Assert.Equal(0, await upgraded.ScalarAsync(
            """
            WITH i AS (INSERT INTO samples (job_key, ts, cpu_usage, memory_usage_mb, node_key)
                       SELECT job_key, ts, 1, 1, node_key FROM samples WHERE memory_usage_mb IN (7, 8) ON CONFLICT DO NOTHING RETURNING 1)
            SELECT COUNT(*) FROM i
            """));
        Assert.Equal(3001, await upgraded.ScalarAsync("SELECT COUNT(*) FROM samples"));

        var afterFirst = (await upgraded.ColumnAsync(KeyedContents))[0];
        var shape = await upgraded.ColumnAsync(SampleShape);
        await upgraded.Database.ApplySchemaAsync(CancellationToken.None);

        Assert.Equal(afterFirst, (await upgraded.ColumnAsync(KeyedContents))[0]);
        Assert.Equal(partitions, await upgraded.PartitionsAsync());
        Assert.Equal(shape, await upgraded.ColumnAsync(SampleShape));
    }

    /// <summary>The scripts that came with or after the partitions (060 only sets a storage parameter, and runs on either).</summary>
    private static readonly string[] LaterThanThatRelease = ["/040_samples_partitions.sql", "/050_sample_keys.sql", "/070_job_footprints.sql", "/080_samples_ts_index.sql"];

    /// <summary>The scripts as the release before the partitions ran them: its 010, and Orleans', 020 and 030 (unchanged since; 050 and 070 had not come either).</summary>
    private static IEnumerable<string> UnpartitionedSchema()
    {
        var fixture = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "unpartitioned-schema", "postgres", "010_service.sql"));
        foreach (var (name, text) in SqlScripts.For("postgres"))
        {
            if (name.EndsWith("/010_service.sql", StringComparison.Ordinal))
            {
                yield return fixture;
            }
            else if (!LaterThanThatRelease.Any(later => name.EndsWith(later, StringComparison.Ordinal)))
            {
                yield return text;
            }
        }
    }
}

using HpcJobs.Api.Tests.Infrastructure;
using HpcJobs.Grains;
using HpcJobs.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using static HpcJobs.Api.Tests.Infrastructure.PostgresStorage;

namespace HpcJobs.Api.Tests;

/// <summary>
/// samples on PostgreSQL is partitioned by UTC day with no default partition
/// (sql/postgres/040_samples_partitions.sql): partitions are made ahead by retention and on demand
/// by the writer, and retention drops whole expired days. The days here are in 2020, before any
/// partition the schema makes for the real today, so the tests do not depend on the clock.
/// </summary>
public sealed class PostgresSamplePartitionTests
{
    private static readonly DateOnly Day = new(2020, 3, 1);

    [SkippableFact]
    public async Task Schema_PartitionsSamplesByDay_WithTodayAndTomorrowReady_AndNoDefaultPartition()
    {
        await using var storage = await OpenAsync(await NewDatabaseAsync());

        Assert.Equal(["p"], await storage.ColumnAsync("SELECT relkind::text FROM pg_class WHERE oid = 'samples'::regclass"));
        Assert.Equal(["RANGE (ts)"], await storage.ColumnAsync("SELECT pg_get_partkeydef('samples'::regclass)"));
        Assert.Empty(await storage.ColumnAsync("SELECT attname FROM pg_attribute WHERE attrelid = 'samples'::regclass AND attname = 'id'"));
        Assert.Equal(0, await storage.ScalarAsync("SELECT COUNT(*) FROM pg_partitioned_table WHERE partdefid <> 0"));
        var today = DateOnly.Parse((await storage.ColumnAsync("SELECT (now() AT TIME ZONE 'UTC')::date::text"))[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal([PartitionOf(today), PartitionOf(today.AddDays(1))], await storage.PartitionsAsync());
        Assert.Equal("FOR VALUES FROM ('2020-03-01 00:00:00+00') TO ('2020-03-02 00:00:00+00')", await BoundsAsync(storage, Day));
    }

    [SkippableFact]
    public async Task MaintainPartitions_MakesEachDayOfTheRangeReady_OnceAcrossPasses()
    {
        await using var storage = await OpenAsync(await NewDatabaseAsync());
        var before = await storage.PartitionsAsync();

        var first = await storage.Log.MaintainPartitionsAsync(At(Day, 0), At(Day, 13.5), At(Day.AddDays(3), 1), CancellationToken.None);
        var second = await storage.Log.MaintainPartitionsAsync(At(Day, 0), At(Day, 20), At(Day.AddDays(3), 23), CancellationToken.None);

        Assert.Equal(new PartitionUpkeep(4, 0, 0), first);
        Assert.Equal(PartitionUpkeep.None, second);
        Assert.Equal(
            [.. Enumerable.Range(0, 4).Select(i => PartitionOf(Day.AddDays(i))), .. before],
            await storage.PartitionsAsync());

        // A sample at the last microsecond of a day and one at the first of the next land in their days.
        await storage.AppendAsync("edge", Sample(At(Day, 24).AddTicks(-10), 1), Sample(At(Day.AddDays(1), 0), 2));
        Assert.Equal(new Dictionary<string, long> { [PartitionOf(Day)] = 1, [PartitionOf(Day.AddDays(1))] = 1 }, await storage.CountsAsync());
    }

    [SkippableFact]
    public async Task Append_ForDaysWithoutPartition_MakesThemAndStoresEverySample()
    {
        await using var storage = await OpenAsync(await NewDatabaseAsync());
        var before = await storage.PartitionsAsync();

        var result = await storage.AppendAsync(
            "late",
            Sample(At(Day, 10), 1, "n1"),
            Sample(At(Day, 10), 2, "n2"),
            Sample(At(Day.AddDays(2), 23.99), 3, "n1"));
        var replay = await storage.AppendAsync("late", Sample(At(Day, 10), 9, "n1"), Sample(At(Day.AddDays(5), 1), 4, "n1"));

        Assert.Equal(0, result.Duplicates);
        Assert.Equal(1, replay.Duplicates);
        Assert.Equal(1, replay.StoredDuplicate(0)!.CpuUsage);
        Assert.Equal([1.0, 2, 3, 4], (await storage.Log.ReadRecentAsync("late", 10)).Select(s => s.CpuUsage));
        Assert.Equal(
            [PartitionOf(Day), PartitionOf(Day.AddDays(2)), PartitionOf(Day.AddDays(5)), .. before],
            await storage.PartitionsAsync());
    }

    [SkippableFact]
    public async Task Append_FromSeveralSilosAtOnce_ToDaysWithoutPartition_MakesEachDayOnce()
    {
        var url = await NewDatabaseAsync();
        await using var first = await OpenAsync(url);
        var before = await first.PartitionsAsync();
        var silos = new List<PostgresStorage> { first };
        for (var i = 1; i < 4; i++)
        {
            silos.Add(await OpenAsync(url, applySchema: false));
        }

        try
        {
            // Every silo's batch meets the same three days without partitions; one sample is in all batches.
            var days = new[] { Day.AddDays(10), Day.AddDays(11), Day.AddDays(12) };
            using var start = new Barrier(silos.Count);
            var appends = silos.Select((silo, i) => Task.Run(() =>
            {
                start.SignalAndWait();
                return silo.AppendAsync(
                    "race",
                    [.. days.Select((day, d) => Sample(At(day, 12), i, "n" + i)), Sample(At(days[0], 1), 100 + i, "shared")]);
            })).ToList();
            var results = await Task.WhenAll(appends);

            Assert.Equal(silos.Count - 1, results.Sum(r => r.Duplicates));
            Assert.Equal([.. days.Select(PartitionOf), .. before], await first.PartitionsAsync());
            Assert.Equal(
                new Dictionary<string, long> { [PartitionOf(days[0])] = silos.Count + 1, [PartitionOf(days[1])] = silos.Count, [PartitionOf(days[2])] = silos.Count },
                await first.CountsAsync());
        }
        finally
        {
            foreach (var silo in silos.Skip(1))
            {
                await silo.DisposeAsync();
            }
        }
    }

    [SkippableFact]
    public async Task CreatePartitions_CalledFromManyConnectionsAtOnce_AttachesEachDayOnce()
    {
        var url = await NewDatabaseAsync();
        await using (await OpenAsync(url))
        {
        }

        var connections = Enumerable.Range(0, 8).Select(_ => Connect(url)).ToList();
        try
        {
            using var start = new Barrier(connections.Count);
            var calls = connections.Select(connection => Task.Run(async () =>
            {
                await using var command = new Npgsql.NpgsqlCommand(
                    "SELECT samples_create_partitions(ARRAY(SELECT d::date FROM generate_series(date '2020-05-01', date '2020-05-05', interval '1 day') AS d))",
                    connection);
                start.SignalAndWait();
                return (int)(await command.ExecuteScalarAsync())!;
            })).ToList();

            Assert.Equal(5, (await Task.WhenAll(calls)).Sum());
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    [SkippableFact]
    public async Task Retention_DropsWhollyExpiredDays_TrimsTheDayAcrossTheCutoff_AndKeepsNewerDays()
    {
        await using var storage = await OpenAsync(await NewDatabaseAsync());
        var before = await storage.PartitionsAsync();

        // Days 0-4 of March 2020, 24 samples each (one an hour, two nodes for 12 of them). The cutoff is day 3, 12:00.
        for (var d = 0; d < 5; d++)
        {
            await storage.AppendAsync(
                "ret",
                [.. Enumerable.Range(0, 12).SelectMany(h => new[] { Sample(At(Day.AddDays(d), h * 2), d, "n1"), Sample(At(Day.AddDays(d), h * 2), d, "n2") })]);
        }

        // A partition detached by an earlier pass that stopped before its drop is dropped too.
        await storage.ExecuteAsync($"ALTER TABLE samples DETACH PARTITION {PartitionOf(Day.AddDays(1))}");
        var cutoff = At(Day.AddDays(3), 12);

        var upkeep = await storage.Log.MaintainPartitionsAsync(cutoff, At(Day.AddDays(5), 0), At(Day.AddDays(6), 0), CancellationToken.None);
        var deleted = new List<int>();
        do
        {
            deleted.Add(await storage.Log.DeleteOlderThanAsync(cutoff, 5, CancellationToken.None));
        }
        while (deleted[^1] == 5);

        Assert.Equal(new PartitionUpkeep(2, 3, 72), upkeep);
        Assert.Equal([5, 5, 2], deleted);
        Assert.Equal(
            [PartitionOf(Day.AddDays(3)), PartitionOf(Day.AddDays(4)), PartitionOf(Day.AddDays(5)), PartitionOf(Day.AddDays(6)), .. before],
            await storage.PartitionsAsync());
        Assert.Empty(await storage.ColumnAsync("SELECT relname FROM pg_class WHERE relname IN ('samples_p20200301', 'samples_p20200302', 'samples_p20200303')"));
        Assert.Equal(new Dictionary<string, long> { [PartitionOf(Day.AddDays(3))] = 12, [PartitionOf(Day.AddDays(4))] = 24 }, await storage.CountsAsync());
        Assert.Equal(0, await storage.ScalarAsync($"SELECT COUNT(*) FROM samples WHERE ts < '{cutoff:O}'"));
        Assert.Equal(36, (await storage.Log.ReadRecentAsync("ret", 1000)).Count);
    }

    [SkippableFact]
    public async Task Schema_IndexesSamplesByTheirKeyOnly_NoTsIndexIsWrittenAtIngest()
    {
        await using var storage = await OpenAsync(await NewDatabaseAsync());
        await storage.ExecuteAsync($"SELECT samples_create_partitions(ARRAY[date '{Day:yyyy-MM-dd}'])");

        Assert.Equal(
            ["CREATE UNIQUE INDEX samples_identity_idx ON ONLY public.samples USING btree (job_key, ts, node_key)"],
            await storage.ColumnAsync("SELECT indexdef FROM pg_indexes WHERE tablename = 'samples' ORDER BY 1"));
        Assert.Equal(["samples_p20200301_job_key_ts_node_key_idx"], await storage.ColumnAsync("SELECT indexname FROM pg_indexes WHERE tablename = 'samples_p20200301'"));
    }

    [SkippableFact]
    public async Task Retention_BuildsTheTsIndexOfTheDayAcrossTheCutoffOnly_AndRebuildsOneLeftInvalid()
    {
        await using var storage = await OpenAsync(await NewDatabaseAsync());
        for (var d = 0; d < 3; d++)
        {
            await storage.AppendAsync("idx", [.. Enumerable.Range(0, 6).Select(h => Sample(At(Day.AddDays(d), h * 4), 7))]);
        }

        // An index build of that name that failed (here: a unique one over equal values) is left invalid.
        var straddling = PartitionOf(Day.AddDays(1));
        await Assert.ThrowsAsync<Npgsql.PostgresException>(
            () => storage.ExecuteAsync($"CREATE UNIQUE INDEX CONCURRENTLY {straddling}_ts_idx ON {straddling} (cpu_usage)"));
        Assert.Equal(["false"], await storage.ColumnAsync($"SELECT indisvalid::text FROM pg_index WHERE indexrelid = '{straddling}_ts_idx'::regclass"));

        var cutoff = At(Day.AddDays(1), 10);
        await storage.Log.MaintainPartitionsAsync(cutoff, At(Day.AddDays(2), 0), At(Day.AddDays(2), 0), CancellationToken.None);
        await storage.Log.MaintainPartitionsAsync(cutoff, At(Day.AddDays(2), 0), At(Day.AddDays(2), 0), CancellationToken.None);

        Assert.Equal(
            [$"{straddling}_ts_idx t CREATE INDEX {straddling}_ts_idx ON public.{straddling} USING btree (ts)"],
            await storage.ColumnAsync(
                $"""
                SELECT concat_ws(' ', c.relname, i.indisvalid, pg_get_indexdef(i.indexrelid))
                FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                WHERE i.indrelid IN ('{PartitionOf(Day.AddDays(1))}'::regclass, '{PartitionOf(Day.AddDays(2))}'::regclass)
                  AND c.relname NOT LIKE '%job_key%'
                """));
        Assert.Equal(3, await storage.Log.DeleteOlderThanAsync(cutoff, 10, CancellationToken.None));
        Assert.Equal(9, (await storage.Log.ReadRecentAsync("idx", 100)).Count);

        // The scripts run at every start: they make no ts index of samples, and leave the day's alone.
        await storage.Database.ApplySchemaAsync(CancellationToken.None);
        Assert.Equal(
            [$"{straddling}_ts_idx"],
            await storage.ColumnAsync($"SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%(ts)' AND tablename IN ('samples', '{straddling}')"));
    }

    [SkippableFact]
    public async Task Retention_FinishesADetachThatWasInterrupted_AndDropsThePartition()
    {
        var url = await NewDatabaseAsync();
        await using var storage = await OpenAsync(url);
        await storage.AppendAsync("pending", Sample(At(Day, 1), 1), Sample(At(Day, 2), 2), Sample(At(Day.AddDays(1), 1), 3));

        // A concurrent detach waits for the transactions using samples; stopped while it waits, it
        // leaves the partition "detach pending", invisible to queries and still attached.
        await using (var reader = Connect(url))
        await using (var detacher = Connect(url))
        {
            await using var transaction = await reader.BeginTransactionAsync();
            await using (var read = new Npgsql.NpgsqlCommand("SELECT COUNT(*) FROM samples", reader, transaction))
            {
                await read.ExecuteScalarAsync();
            }

            await using (var timeout = new Npgsql.NpgsqlCommand("SET statement_timeout = '500ms'", detacher))
            {
                await timeout.ExecuteNonQueryAsync();
            }

            await using var detach = new Npgsql.NpgsqlCommand($"ALTER TABLE samples DETACH PARTITION {PartitionOf(Day)} CONCURRENTLY", detacher);
            var stopped = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => detach.ExecuteNonQueryAsync());
            Assert.Equal(Npgsql.PostgresErrorCodes.QueryCanceled, stopped.SqlState);
            await transaction.CommitAsync();
        }

        Assert.Equal([PartitionOf(Day)], await storage.ColumnAsync("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhdetachpending"));

        var upkeep = await storage.Log.MaintainPartitionsAsync(At(Day.AddDays(1), 12), At(Day, 0), At(Day, 0), CancellationToken.None);

        Assert.Equal(new PartitionUpkeep(0, 1, 2), upkeep);
        Assert.Empty(await storage.ColumnAsync($"SELECT relname FROM pg_class WHERE relname = '{PartitionOf(Day)}'"));
        Assert.Equal([3.0], (await storage.Log.ReadRecentAsync("pending", 10)).Select(s => s.CpuUsage));
    }

    [SkippableFact]
    public async Task RetentionPass_OnPostgres_DropsExpiredDays_AndMakesTheNextDaysReady()
    {
        await using var backend = new PostgresBackend();
        var database = await backend.CreateDatabaseAsync();
        await using var service = InProcessService.Start(database, "test");
        var log = service.Services.GetRequiredService<ISampleLog>();
        var now = DateTimeOffset.UtcNow;
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        await using var storage = await OpenAsync(database["DATABASE_URL"], applySchema: false);
        var usage = new JobUsage("pass", TimeSpan.FromMinutes(1)) { JobKey = await storage.JobKeyAsync("pass") };
        await log.AppendAsync(
            "pass",
            [Sample(now.AddDays(-30), 1), Sample(now.AddDays(-20), 2), Sample(now.AddDays(-7).AddMinutes(-1), 3), Sample(now.AddDays(-6), 4), Sample(now, 5)],
            usage);

        await service.Services.GetRequiredService<IGrainFactory>().GetGrain<IRetentionGrain>(0).RunOnceAsync();

        Assert.Equal([4.0, 5], (await log.ReadRecentAsync("pass", 10)).Select(s => s.CpuUsage));
        var expired = new[] { -30, -20 }.Select(d => PartitionOf(DateOnly.FromDateTime(now.AddDays(d).UtcDateTime))).ToList();
        Assert.Empty(await storage.ColumnAsync($"SELECT relname FROM pg_class WHERE relname IN ('{expired[0]}', '{expired[1]}')"));
        Assert.Subset((await storage.PartitionsAsync()).ToHashSet(), Enumerable.Range(0, 4).Select(i => PartitionOf(today.AddDays(i))).ToHashSet());
    }

    /// <summary>The bounds of <paramref name="day"/>'s partition (made here), as PostgreSQL shows them in UTC.</summary>
    private static async Task<string> BoundsAsync(PostgresStorage storage, DateOnly day)
    {
        await storage.ExecuteAsync($"SELECT samples_create_partitions(ARRAY[date '{day:yyyy-MM-dd}'])");
        await using var connection = Connect(storage.Url);
        await using var command = new Npgsql.NpgsqlCommand(
            $"SET TIME ZONE 'UTC'; SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = '{PartitionOf(day)}'", connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static DateTimeOffset At(DateOnly day, double hours) =>
        new DateTimeOffset(day, TimeOnly.MinValue, TimeSpan.Zero).AddHours(hours);

    private static UsageSample Sample(DateTimeOffset at, double cpu, string? node = null) =>
        new(MicrosecondTime.Truncate(at), cpu, (long)cpu * 10, null, node);
}

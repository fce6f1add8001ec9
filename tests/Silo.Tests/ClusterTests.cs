using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using HpcJobs.Grains.Storage.Postgres;
using Npgsql;
using Xunit.Abstractions;

namespace HpcJobs.Silo.Tests;

/// <summary>Several real silo processes forming one Orleans cluster on one PostgreSQL database.</summary>
public sealed partial class ClusterTests(ITestOutputHelper output)
{
    private static async Task<Dictionary<string, string>> NewClusterAsync()
    {
        var settings = new Dictionary<string, string>(await new PostgresBackend().CreateDatabaseAsync())
        {
            ["CLUSTER_ID"] = "c" + Guid.NewGuid().ToString("N")[..8],
        };
        return settings;
    }

    [SkippableFact]
    public async Task TwoSilos_ServeTheSameJobs_AndRejectDuplicateCreates()
    {
        var settings = await NewClusterAsync();
        await using var a = await ServiceProcess.StartAsync(settings);
        await using var b = await ServiceProcess.StartAsync(settings);

        await Ingest.CreateJobsAsync(a.Client, ["x-1"]);
        using var read = await b.Client.GetAsync("/v1/jobs/x-1");
        using var patch = await b.Client.PatchAsync("/v1/jobs/x-1", Ingest.Json("""{"cpu_usage":33,"memory_usage_mb":5}"""));
        using var duplicate = await b.Client.PostAsync("/v1/jobs", Ingest.Json("""{"id":"x-1","user":"u","nodes":["n"]}"""));
        using var readBack = await a.Client.GetAsync("/v1/jobs/x-1");

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        var job = JsonDocument.Parse(await readBack.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(33, job.GetProperty("cpu_usage").GetDouble());
    }

    [SkippableFact]
    public async Task KilledSilo_JobsServedBySurvivorWithin30s_WithoutLosingAcknowledgedSamples()
    {
        var settings = await NewClusterAsync();
        await using var a = await ServiceProcess.StartAsync(settings);
        await using var b = await ServiceProcess.StartAsync(settings);
        var jobs = Enumerable.Range(0, 40).Select(i => $"f-{i}").ToList();
        await Ingest.CreateJobsAsync(a.Client, jobs);
        var ingest = new Ingest();
        using (var stop = new CancellationTokenSource())
        {
            // One writer per job, half through each silo, so each job's last acknowledged sample is its latest.
            var load = ingest.RunAsync(w => w % 2 == 0 ? a.Client : b.Client, jobs, writers: jobs.Count, stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(StressSettings.Seconds(3, 30)));
            await a.KillAsync();
            stop.Cancel();
            await load;
        }

        var failover = Stopwatch.StartNew();
        var pending = new HashSet<string>(jobs);
        while (pending.Count > 0 && failover.Elapsed < TimeSpan.FromSeconds(30))
        {
            foreach (var id in pending.ToList())
            {
                using var response = await b.Client.GetAsync($"/v1/jobs/{id}");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    pending.Remove(id);
                }
            }

            await Task.Delay(200);
        }

        output.WriteLine($"all {jobs.Count} jobs served by the survivor {failover.Elapsed.TotalSeconds:F1} s after kill -9; {ingest.AcknowledgedCount} samples acknowledged");
        Assert.Empty(pending);
        await ingest.AssertAllStoredAsync(b.Client);
        foreach (var (job, last) in ingest.LastAcknowledged)
        {
            // The job's latest usage is at least as new as its last acknowledged sample.
            using var response = await b.Client.GetAsync($"/v1/jobs/{job}");
            var memory = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("memory_usage_mb").GetInt64();
            Assert.True(memory >= last, $"job {job}: latest memory {memory} older than acknowledged sample {last}");
        }
    }

    [SkippableFact]
    public async Task Membership_UsesItsOwnSmallPool_BesideTheServicePool()
    {
        var settings = await NewClusterAsync();
        settings["DATABASE_MEMBERSHIP_POOL_SIZE"] = "2";
        await using var a = await ServiceProcess.StartAsync(settings);
        await Ingest.CreateJobsAsync(a.Client, ["pool-1"]);

        // Orleans writes its liveness every few seconds: its connections show up under their own name.
        var deadline = Stopwatch.StartNew();
        Dictionary<string, long> pools;
        do
        {
            await Task.Delay(500);
            pools = await ConnectionsByApplicationAsync(settings);
        }
        while (!pools.ContainsKey("hpc-jobs-membership") && deadline.Elapsed < TimeSpan.FromSeconds(30));

        output.WriteLine(string.Join(", ", pools.Select(p => $"{p.Key}={p.Value}")));
        Assert.InRange(pools.GetValueOrDefault("hpc-jobs-membership"), 1, 2);
        Assert.InRange(pools.GetValueOrDefault("hpc-jobs"), 1, 10);
    }

    [SkippableFact]
    public async Task GracefulStop_LeavesTheSiloMarkedDeadInMembership()
    {
        var settings = await NewClusterAsync();
        await using var a = await ServiceProcess.StartAsync(settings);
        await using var b = await ServiceProcess.StartAsync(settings);

        var elapsed = await b.TerminateAsync(TimeSpan.FromSeconds(30));

        output.WriteLine($"SIGTERM to exit: {elapsed.TotalSeconds:F1} s");
        Assert.Equal(0, b.ExitCode);
        var statuses = await MembershipAsync(settings);
        Assert.Equal(2, statuses.Count);
        Assert.Contains(6, statuses.Values);
        Assert.Contains(3, statuses.Values);
    }

    [SkippableFact]
    public async Task Retention_WithTwoSilos_DeletesEachExpiredSampleOnce_AndNoFreshOne()
    {
        var settings = await NewClusterAsync();
        settings["Logging__LogLevel__HpcJobs.Grains.RetentionGrain"] = "Information";
        var connection = PostgresConnectionString.Parse(settings["DATABASE_URL"]).ConnectionString;
        await using var a = await ServiceProcess.StartAsync(settings);
        await InsertSamplesAsync(connection, expired: 12_000, fresh: 300);
        await using var b = await ServiceProcess.StartAsync(settings);

        var deadline = Stopwatch.StartNew();
        while (await CountAsync(connection, "ts < now() - interval '7 days'") > 0 && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(500);
        }

        Assert.Equal(0, await CountAsync(connection, "ts < now() - interval '7 days'"));
        Assert.Equal(300, await CountAsync(connection, "true"));

        // The pass logs its total after its last statement commits, so the rows can be gone a moment
        // before the line is written.
        List<long> Logged() => new[] { a.Output, b.Output }.Select(o => RetentionLine().Matches(o).Sum(m => long.Parse(m.Groups[1].Value))).ToList();
        var logged = Logged();
        while (logged.Sum() < 12_000 && deadline.Elapsed < TimeSpan.FromSeconds(70))
        {
            await Task.Delay(200);
            logged = Logged();
        }

        Assert.Equal(12_000, logged.Sum());
        Assert.Contains(0, logged);
    }

    private static async Task InsertSamplesAsync(string connectionString, int expired, int fresh)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        // Written past the service, so the days' partitions are made here (the writer would make
        // them); in one transaction, so that now() is the same in both statements.
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var partitions = new NpgsqlCommand(
                         """
                         SELECT samples_create_partitions(ARRAY(
                             SELECT DISTINCT ((now() - d * interval '1 day' + g * interval '1 second') AT TIME ZONE 'UTC')::date
                             FROM (VALUES (30, $1), (6, $2)) AS r (d, n), generate_series(1, n) AS g))
                         """,
                         connection,
                         transaction))
        {
            partitions.Parameters.AddWithValue(expired);
            partitions.Parameters.AddWithValue(fresh);
            await partitions.ExecuteNonQueryAsync();
        }

        await using var command = new NpgsqlCommand(
            """
            INSERT INTO samples (job_key, ts, cpu_usage, memory_usage_mb)
            SELECT 1 + g % 7, now() - interval '30 days' + g * interval '1 second', 1, 1 FROM generate_series(1, $1) AS g
            UNION ALL
            SELECT 1 + g % 7, now() - interval '6 days' + g * interval '1 second', 1, 1 FROM generate_series(1, $2) AS g
            """,
            connection,
            transaction);
        command.Parameters.AddWithValue(expired);
        command.Parameters.AddWithValue(fresh);
        await command.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
    }

    private static async Task<long> CountAsync(string connectionString, string where)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT COUNT(*) FROM samples WHERE {where}", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<Dictionary<string, long>> ConnectionsByApplicationAsync(IReadOnlyDictionary<string, string> settings)
    {
        var database = PostgresConnectionString.Parse(settings["DATABASE_URL"]);
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT application_name, COUNT(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() GROUP BY 1",
            connection);
        command.Parameters.AddWithValue(database.Database!);
        var result = new Dictionary<string, long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            result[reader.GetString(0)] = reader.GetInt64(1);
        }

        return result;
    }

    private static async Task<Dictionary<int, int>> MembershipAsync(IReadOnlyDictionary<string, string> settings)
    {
        await using var connection = new NpgsqlConnection(PostgresConnectionString.Parse(settings["DATABASE_URL"]).ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT port, status FROM orleansmembershiptable WHERE deploymentid = $1", connection);
        command.Parameters.AddWithValue(settings["CLUSTER_ID"]);
        var result = new Dictionary<int, int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            result[reader.GetInt32(0)] = reader.GetInt32(1);
        }

        return result;
    }

    [GeneratedRegex(@"Retention deleted (\d+) samples")]
    private static partial Regex RetentionLine();
}

using System.Globalization;
using System.Net;
using HpcJobs.Api.Tests.Infrastructure;
using static HpcJobs.Api.Tests.Infrastructure.SampleCalls;

namespace HpcJobs.Api.Tests;

/// <summary>
/// The footprints live in job_footprints, not in the jobs row the sample writer rewrites at every
/// commit. A database written with the old jobs.footprint column has its footprints moved on the
/// first start after, and the column dropped (SQLite) or emptied (PostgreSQL); a deleted job's
/// footprint goes with it.
/// </summary>
public abstract class JobFootprintsUpgradeTests<TBackend>
    where TBackend : IBackend, new()
{
    [SkippableFact]
    public async Task FootprintsInTheOldJobsColumn_AreMoved_AndTheListedSummaryKeepsEverySample()
    {
        await using var backend = new TBackend();
        var database = await backend.CreateDatabaseAsync();
        var id = "fp-" + Guid.NewGuid().ToString("N")[..8];
        var start = DateTimeOffset.Parse(Wire(DateTimeOffset.UtcNow.AddMinutes(-30)), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
        await using (var service = InProcessService.Start(database, "footprints"))
        {
            var client = service.Client;
            await PostEventAsync(client, "job-started", $$"""{"job_id":"{{id}}","user":"fp","node_list":"c1","timestamp":"{{Wire(start)}}","cpu_allocation":4}""");
            var samples = Enumerable.Range(0, 20).Select(i =>
                $$"""{"job_id":"{{id}}","node":"c1","timestamp":"{{Wire(start.AddSeconds(30 * i))}}","cpu_usage":25,"memory_usage_mb":100}""");
            await PostBatchAsync(client, Batch([.. samples]));
            await PostEventAsync(client, "job-finished", $$"""{"job_id":"{{id}}","timestamp":"{{Wire(start.AddMinutes(10))}}","exit_code":0}""");
        }

        // As a release before job_footprints left it: the footprint in a jobs column, no table.
        var sqlite = DirectDatabase.IsSqlite(database);
        await DirectDatabase.ExecuteAsync(database, sqlite
            ? "ALTER TABLE jobs ADD COLUMN footprint TEXT; UPDATE jobs SET footprint = (SELECT f.footprint FROM job_footprints f WHERE f.job_key = jobs.job_key); DROP TABLE job_footprints;"
            : "ALTER TABLE jobs ADD COLUMN footprint jsonb; UPDATE jobs j SET footprint = f.footprint FROM job_footprints f WHERE f.job_key = j.job_key; DROP TABLE job_footprints;");
        Assert.Equal(1, await DirectDatabase.ScalarAsync(database, "SELECT COUNT(*) FROM jobs WHERE footprint IS NOT NULL"));

        await using (var service = InProcessService.Start(database, "footprints"))
        {
            var client = service.Client;

            // The list reads the footprint from the database alone (the job is not activated for it).
            var listed = (await (await client.GetAsync("/v1/jobs?user=fp&limit=10")).ReadJsonAsync()).GetProperty("jobs").EnumerateArray().Single();
            Assert.Equal(20, listed.GetProperty("sample_count").GetInt64());
            Assert.Equal(25, listed.GetProperty("avg_cpu_usage").GetDouble(), 6);
            // SQLite (one silo per file) drops the column; PostgreSQL empties it and keeps it for the
            // previous release's silos during a rolling upgrade.
            Assert.Equal(0, await DirectDatabase.ScalarAsync(database, sqlite
                ? "SELECT COUNT(*) FROM pragma_table_xinfo('jobs') WHERE name = 'footprint'"
                : "SELECT COUNT(*) FROM jobs WHERE footprint IS NOT NULL"));
            Assert.Equal(1, await DirectDatabase.ScalarAsync(database, "SELECT COUNT(*) FROM job_footprints"));

            using var deleted = await client.DeleteAsync("/v1/jobs/" + id);
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
            Assert.Equal(0, await DirectDatabase.ScalarAsync(database, "SELECT COUNT(*) FROM job_footprints"));
        }
    }

    private static async Task PostEventAsync(HttpClient client, string route, string body)
    {
        using var response = await client.PostJsonAsync("/v1/events/" + route, body);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{route}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}

public sealed class SqliteJobFootprintsUpgradeTests : JobFootprintsUpgradeTests<SqliteBackend>;

public sealed class PostgresJobFootprintsUpgradeTests : JobFootprintsUpgradeTests<PostgresBackend>;

/// <summary>
/// SQLite gives a new job the largest key plus one, so a deleted job's key comes back (PostgreSQL's
/// keys are an identity, and its footprints reference them): a footprint left under it by a write
/// that raced the delete must not become the new job's.
/// </summary>
public sealed class SqliteJobKeyReuseTests
{
    [Fact]
    public async Task ANewJob_FindsNoFootprintUnderItsKey_WhenAnEarlierJobHadIt()
    {
        await using var backend = new SqliteBackend();
        var database = await backend.CreateDatabaseAsync();
        await using var service = InProcessService.Start(database, "footprints");
        var client = service.Client;
        await CreateJobAsync(client);

        // A footprint left under the next key, as a job deleted while its footprint was being written leaves it.
        var next = await DirectDatabase.ScalarAsync(database, "SELECT MAX(job_key) + 1 FROM jobs");
        await DirectDatabase.ExecuteAsync(database,
            $$"""INSERT INTO job_footprints (job_key, footprint) VALUES ({{next}}, '{"Attempt":1,"Nodes":[],"MaxMemoryMb":9999}')""");

        var id = await CreateJobAsync(client);

        Assert.Equal(next, await DirectDatabase.ScalarAsync(database, $"SELECT job_key FROM jobs WHERE id = '{id}'"));
        Assert.Equal(0, await DirectDatabase.ScalarAsync(database, $"SELECT COUNT(*) FROM job_footprints WHERE job_key = {next}"));
    }
}

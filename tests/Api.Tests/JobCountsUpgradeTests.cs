using System.Data.Common;
using System.Net;
using HpcJobs.Api.Tests.Infrastructure;
using HpcJobs.Grains.Storage;
using HpcJobs.Grains.Storage.Postgres;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace HpcJobs.Api.Tests;

/// <summary>
/// Totals of state-only and unfiltered lists come from per-state counts kept by triggers. A database
/// written before those existed must be counted once when the schema adds them, or its totals
/// would stay wrong for good.
/// </summary>
public abstract class JobCountsUpgradeTests<TBackend>
    where TBackend : IBackend, new()
{
    [SkippableFact]
    public async Task ListJobs_CountsJobsStoredBeforeTheCountsExisted_OnTheFirstStartAfter()
    {
        await using var backend = new TBackend();
        var database = await backend.CreateDatabaseAsync();
        await using (var connection = DirectDatabase.Open(database))
        {
            foreach (var (_, script) in SqlScripts.For(database["DATABASE_TYPE"]))
            {
                await DirectDatabase.ExecuteAsync(connection, script);
            }

            // As a previous version left it: jobs, and no counts.
            await DirectDatabase.ExecuteAsync(connection, "DROP TRIGGER jobs_count_insert" + OnJobs(database));
            await DirectDatabase.ExecuteAsync(connection, "DROP TRIGGER jobs_count_delete" + OnJobs(database));
            await DirectDatabase.ExecuteAsync(connection, "DROP TRIGGER jobs_count_state" + OnJobs(database));
            await DirectDatabase.ExecuteAsync(connection, "DROP TABLE job_counts");
            foreach (var (id, state) in new[] { ("u-1", "running"), ("u-2", "running"), ("u-3", "completed"), ("u-4", "pending") })
            {
                await DirectDatabase.ExecuteAsync(
                    connection,
                    database["DATABASE_TYPE"] == "sqlite"
                        ? $"INSERT INTO jobs (id, user_name, state, start_time, nodes) VALUES ('{id}', 'old', '{state}', 1000000, '[\"n1\"]')"
                        : $"INSERT INTO jobs (id, user_name, state, start_time, nodes) VALUES ('{id}', 'old', '{state}', now(), ARRAY['n1'])");
            }
        }

        await using var service = InProcessService.Start(database, "test");
        var client = service.Client;
        using (var created = await client.PostJsonAsync("/v1/jobs", """{"id":"u-5","user":"new","nodes":["n1"]}"""))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        Assert.Equal(5, await TotalAsync(client, "limit=1"));
        Assert.Equal(3, await TotalAsync(client, "state=running"));
        Assert.Equal(1, await TotalAsync(client, "state=completed"));
        Assert.Equal(1, await TotalAsync(client, "state=pending"));
        Assert.Equal(0, await TotalAsync(client, "state=failed"));
    }

    private static async Task<long> TotalAsync(HttpClient client, string query) =>
        (await (await client.GetAsync("/v1/jobs?" + query)).ReadJsonAsync()).GetProperty("total").GetInt64();

    private static string OnJobs(IReadOnlyDictionary<string, string> database) =>
        database["DATABASE_TYPE"] == "sqlite" ? string.Empty : " ON jobs";
}

public sealed class SqliteJobCountsUpgradeTests : JobCountsUpgradeTests<SqliteBackend>;

public sealed class PostgresJobCountsUpgradeTests : JobCountsUpgradeTests<PostgresBackend>;

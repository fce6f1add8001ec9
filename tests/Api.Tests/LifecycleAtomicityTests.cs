using System.Net;
using System.Text.Json;
using HpcJobs.Api.Tests.Infrastructure;

namespace HpcJobs.Api.Tests;

/// <summary>
/// A storage failure in the middle of a create, a transition or a delete: the database refuses the
/// write (a test-only trigger on the jobs row), and afterwards the job as GET, the list, /metrics
/// and a restarted silo read it must agree with the answer the client got — nothing changed — and a
/// retry once the database takes writes again completes the change, counting the create once.
/// On PostgreSQL the trigger raises disk_full (53100), a transient failure: 503. SQLite triggers can
/// only raise constraint-class errors, which the service treats as a bug: 500. Either way nothing
/// may have changed.
/// </summary>
public abstract class LifecycleAtomicityTests<TBackend>
    where TBackend : IBackend, new()
{
    [SkippableFact]
    public async Task FailedCreateTransitionAndDelete_ChangeNothing_AndRetriesCompleteThemOnce()
    {
        await using var backend = new TBackend();
        var database = await backend.CreateDatabaseAsync();
        var prefix = "fault-" + Guid.NewGuid().ToString("N")[..8];
        var (created, moved, deleted) = (prefix + "-c", prefix + "-t", prefix + "-d");
        var user = prefix + "-user";
        var expectedStatus = DirectDatabase.IsSqlite(database) ? HttpStatusCode.InternalServerError : HttpStatusCode.ServiceUnavailable;
        double createdBefore;

        await using (var service = InProcessService.Start(database, "atomic"))
        {
            var client = service.Client;
            foreach (var id in new[] { moved, deleted })
            {
                using var response = await client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{id}}","user":"{{user}}","nodes":["n1"]}""");
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            }

            createdBefore = await JobsCreatedAsync(client);
            await DirectDatabase.ExecuteAsync(database, FaultTriggers(database, prefix));

            using (var create = await client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{created}}","user":"{{user}}","nodes":["n1"]}"""))
            using (var transition = await client.PatchJsonAsync("/v1/jobs/" + moved, """{"state":"completed"}"""))
            using (var delete = await client.DeleteAsync("/v1/jobs/" + deleted))
            {
                Assert.Equal(expectedStatus, create.StatusCode);
                Assert.Equal(expectedStatus, transition.StatusCode);
                Assert.Equal(expectedStatus, delete.StatusCode);
                Assert.Equal("application/json", delete.Content.Headers.ContentType?.MediaType);
            }

            await AssertUnchangedAsync(client, created, moved, deleted, user, createdBefore);
            await DirectDatabase.ExecuteAsync(database, DropFaultTriggers(database));
        }

        // A new silo on the same database reads what was stored: still nothing changed.
        await using (var restarted = InProcessService.Start(database, "atomic"))
        {
            var client = restarted.Client;
            await AssertUnchangedAsync(client, created, moved, deleted, user, createdBefore);

            using (var create = await client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{created}}","user":"{{user}}","nodes":["n1"]}"""))
            using (var transition = await client.PatchJsonAsync("/v1/jobs/" + moved, """{"state":"completed"}"""))
            using (var delete = await client.DeleteAsync("/v1/jobs/" + deleted))
            {
                Assert.Equal(HttpStatusCode.Created, create.StatusCode);
                Assert.Equal(HttpStatusCode.OK, transition.StatusCode);
                Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
            }

            // The count reaches the metrics grain one-way after the commit: wait for it, then make sure it went up by exactly one.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (await JobsCreatedAsync(client) < createdBefore + 1 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            await Task.Delay(300);
            Assert.Equal(createdBefore + 1, await JobsCreatedAsync(client));
            var list = await (await client.GetAsync($"/v1/jobs?user={user}")).ReadJsonAsync();
            Assert.Equal(
                [(created, "running"), (moved, "completed")],
                list.GetProperty("jobs").EnumerateArray().Select(j => (j.GetProperty("id").GetString(), j.GetProperty("state").GetString())).Order());
        }
    }

    /// <summary>
    /// The audit entry is part of the change's transaction: when its insert fails, the create, the
    /// transition and the event it describes are not stored either, and their retries write one entry each.
    /// </summary>
    [SkippableFact]
    public async Task FailedAuditInsert_LeavesNeitherTheChangeNorTheEntry()
    {
        await using var backend = new TBackend();
        var database = await backend.CreateDatabaseAsync();
        var prefix = "audit-" + Guid.NewGuid().ToString("N")[..8];
        var (created, moved, started) = (prefix + "-c", prefix + "-t", prefix + "-e");
        var expectedStatus = DirectDatabase.IsSqlite(database) ? HttpStatusCode.InternalServerError : HttpStatusCode.ServiceUnavailable;

        await using var service = InProcessService.Start(database, "audit");
        var client = service.Client;
        using (var response = await client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{moved}}","user":"u","nodes":["n1"]}"""))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        await DirectDatabase.ExecuteAsync(database, AuditFaultTrigger(database, prefix));
        using (var create = await client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{created}}","user":"u","nodes":["n1"]}"""))
        using (var transition = await client.PatchJsonAsync("/v1/jobs/" + moved, """{"state":"failed"}"""))
        using (var started1 = await client.PostJsonAsync("/v1/events/job-started", $$"""{"job_id":"{{started}}","user":"u","node_list":"n[1-2]"}"""))
        using (var finished = await client.PostJsonAsync("/v1/events/job-finished", $$"""{"job_id":"{{moved}}","exit_code":0}"""))
        {
            Assert.Equal(expectedStatus, create.StatusCode);
            Assert.Equal(expectedStatus, transition.StatusCode);
            Assert.Equal(expectedStatus, started1.StatusCode);
            Assert.Equal(expectedStatus, finished.StatusCode);
        }

        foreach (var id in new[] { created, started })
        {
            using var missing = await client.GetAsync("/v1/jobs/" + id);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        Assert.Equal("running", (await GetJobAsync(client, moved)).GetProperty("state").GetString());
        Assert.Equal(["created"], await AuditChangesAsync(client, moved));
        Assert.Equal(0, await DirectDatabase.ScalarAsync(database, $"SELECT COUNT(*) FROM job_audit WHERE job_id LIKE '{prefix}%' AND job_id <> '{moved}'"));

        await DirectDatabase.ExecuteAsync(database, DropAuditFaultTrigger(database));
        using (var create = await client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{created}}","user":"u","nodes":["n1"]}"""))
        using (var started1 = await client.PostJsonAsync("/v1/events/job-started", $$"""{"job_id":"{{started}}","user":"u","node_list":"n[1-2]"}"""))
        using (var finished = await client.PostJsonAsync("/v1/events/job-finished", $$"""{"job_id":"{{moved}}","exit_code":0}"""))
        {
            Assert.Equal(HttpStatusCode.Created, create.StatusCode);
            Assert.Equal(HttpStatusCode.OK, started1.StatusCode);
            Assert.Equal(HttpStatusCode.OK, finished.StatusCode);
        }

        Assert.Equal(["created"], await AuditChangesAsync(client, created));
        Assert.Equal(["created"], await AuditChangesAsync(client, started));
        Assert.Equal(["created", "transition"], await AuditChangesAsync(client, moved));
        Assert.Equal("completed", (await GetJobAsync(client, moved)).GetProperty("state").GetString());
    }

    private static async Task<string[]> AuditChangesAsync(HttpClient client, string id)
    {
        using var response = await client.GetAsync($"/v1/jobs/{id}/audit");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await response.ReadJsonAsync()).GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("change").GetString()!)];
    }

    private static string AuditFaultTrigger(IReadOnlyDictionary<string, string> database, string prefix) =>
        DirectDatabase.IsSqlite(database)
            ? $"CREATE TRIGGER fault_audit BEFORE INSERT ON job_audit WHEN new.job_id LIKE '{prefix}%' BEGIN SELECT RAISE(ABORT, 'injected fault'); END;"
            : $"""
              CREATE FUNCTION inject_audit_fault() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN
                  IF NEW.job_id LIKE '{prefix}%' THEN RAISE EXCEPTION 'injected fault' USING ERRCODE = '53100'; END IF;
                  RETURN NEW;
              END $$;
              CREATE TRIGGER fault_audit BEFORE INSERT ON job_audit FOR EACH ROW EXECUTE FUNCTION inject_audit_fault();
              """;

    private static string DropAuditFaultTrigger(IReadOnlyDictionary<string, string> database) =>
        DirectDatabase.IsSqlite(database)
            ? "DROP TRIGGER fault_audit;"
            : "DROP TRIGGER fault_audit ON job_audit; DROP FUNCTION inject_audit_fault();";

    private static async Task AssertUnchangedAsync(
        HttpClient client, string created, string moved, string deleted, string user, double createdBefore)
    {
        using (var missing = await client.GetAsync("/v1/jobs/" + created))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        Assert.Equal("running", (await GetJobAsync(client, moved)).GetProperty("state").GetString());
        Assert.False((await GetJobAsync(client, moved)).TryGetProperty("end_time", out _));
        Assert.Equal("running", (await GetJobAsync(client, deleted)).GetProperty("state").GetString());

        var list = await (await client.GetAsync($"/v1/jobs?user={user}")).ReadJsonAsync();
        Assert.Equal(2, list.GetProperty("total").GetInt64());
        Assert.All(list.GetProperty("jobs").EnumerateArray(), j => Assert.Equal("running", j.GetProperty("state").GetString()));

        Assert.Equal(["created"], await AuditChangesAsync(client, moved));
        Assert.Equal(["created"], await AuditChangesAsync(client, deleted));

        var metrics = await ScrapeAsync(client);
        Assert.Equal(createdBefore, metrics.Single("hpc_job_total"));
        Assert.Single(metrics.ForJob("hpc_job_runtime_seconds", moved), s => s.Label("state") == "running");
        Assert.Single(metrics.ForJob("hpc_job_runtime_seconds", deleted));
        Assert.Empty(metrics.ForJob("hpc_job_runtime_seconds", created));
    }

    private static async Task<JsonElement> GetJobAsync(HttpClient client, string id)
    {
        using var response = await client.GetAsync("/v1/jobs/" + id);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    private static async Task<double> JobsCreatedAsync(HttpClient client) => (await ScrapeAsync(client)).Single("hpc_job_total") ?? 0;

    private static async Task<MetricsExposition> ScrapeAsync(HttpClient client) =>
        MetricsExposition.Parse(await client.GetStringAsync("/metrics"));

    private static string FaultTriggers(IReadOnlyDictionary<string, string> database, string prefix) =>
        DirectDatabase.IsSqlite(database)
            ? $"""
              CREATE TRIGGER fault_insert BEFORE INSERT ON jobs WHEN new.id LIKE '{prefix}%' BEGIN SELECT RAISE(ABORT, 'injected fault'); END;
              CREATE TRIGGER fault_update BEFORE UPDATE OF state ON jobs WHEN new.id LIKE '{prefix}%' BEGIN SELECT RAISE(ABORT, 'injected fault'); END;
              CREATE TRIGGER fault_delete BEFORE DELETE ON jobs WHEN old.id LIKE '{prefix}%' BEGIN SELECT RAISE(ABORT, 'injected fault'); END;
              """
            : $"""
              CREATE FUNCTION inject_fault() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN
                  IF TG_OP = 'DELETE' THEN
                      IF OLD.id NOT LIKE '{prefix}%' THEN RETURN OLD; END IF;
                  ELSIF NEW.id NOT LIKE '{prefix}%' OR (TG_OP = 'UPDATE' AND OLD.state IS NOT DISTINCT FROM NEW.state) THEN
                      RETURN NEW;
                  END IF;
                  RAISE EXCEPTION 'injected fault' USING ERRCODE = '53100';
              END $$;
              CREATE TRIGGER fault_jobs BEFORE INSERT OR UPDATE OR DELETE ON jobs FOR EACH ROW EXECUTE FUNCTION inject_fault();
              """;

    private static string DropFaultTriggers(IReadOnlyDictionary<string, string> database) =>
        DirectDatabase.IsSqlite(database)
            ? "DROP TRIGGER fault_insert; DROP TRIGGER fault_update; DROP TRIGGER fault_delete;"
            : "DROP TRIGGER fault_jobs ON jobs; DROP FUNCTION inject_fault();";
}

public sealed class SqliteLifecycleAtomicityTests : LifecycleAtomicityTests<SqliteBackend>;

public sealed class PostgresLifecycleAtomicityTests : LifecycleAtomicityTests<PostgresBackend>;

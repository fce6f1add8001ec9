using System.Net;
using System.Text.Json;
using HpcJobs.Api.Tests.Infrastructure;
using static HpcJobs.Api.Tests.Infrastructure.SampleCalls;

namespace HpcJobs.Api.Tests;

/// <summary>
/// <c>POST /v1/events/job-started</c> and <c>job-finished</c> as the contract says, on each backend:
/// created / updated / skipped, the end state from exit code, signal and Slurm state, requeue into a
/// new attempt, harmless replays (same answer, no audit entry), unknown jobs, bad input by field,
/// Slurm hostlists, the allocation fields and the account / partition / cluster filters.
/// </summary>
public abstract class LifecycleEventContractTests<TBackend>(ServiceFixture<TBackend> service) : IClassFixture<ServiceFixture<TBackend>>
    where TBackend : IBackend, new()
{
    private HttpClient Client => service.Client;

    private static string NewId() => "ev-" + Guid.NewGuid().ToString("N")[..12];

    private static string StartedBody(string id, string? extra = null, string nodeList = "\"gpu[01-02]\"") =>
        $$"""{"job_id":"{{id}}","user":"alice","node_list":{{nodeList}}{{(extra is null ? "" : "," + extra)}}}""";

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string route, string body, string? changedBy = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events/" + route)
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        if (changedBy is not null)
        {
            request.Headers.Add("X-Changed-By", changedBy);
            request.Headers.Add("X-Source", route == "job-started" ? "prolog" : "epilog");
            request.Headers.Add("X-Correlation-Id", "corr-" + changedBy);
        }

        using var response = await Client.SendAsync(request);
        return (response.StatusCode, await response.ReadJsonAsync());
    }

    private async Task<string> StatusAsync(string route, string body)
    {
        var (status, json) = await PostAsync(route, body);
        Assert.True(status == HttpStatusCode.OK, $"{route}: {(int)status} {json}");
        return json.GetProperty("status").GetString()!;
    }

    private async Task<JsonElement[]> AuditAsync(string id)
    {
        using var response = await Client.GetAsync($"/v1/jobs/{id}/audit");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await response.ReadJsonAsync();
        var entries = json.GetProperty("entries").EnumerateArray().ToArray();
        Assert.Equal(entries.Length, json.GetProperty("total").GetInt64());
        return entries;
    }

    [SkippableFact]
    public async Task JobStarted_CreatesARunningJob_WithItsAllocation_AndAReplayIsSkippedWithoutAnAuditEntry()
    {
        var id = NewId();
        var at = Now().AddMinutes(-3);
        var body = StartedBody(id, $$"""
            "timestamp":"{{Wire(at)}}","cpu_allocation":16,"memory_allocation_mb":64000,"gpu_allocation":2,"gpu_vendor":"nvidia",
            "gpu_devices":["GPU-aaaa",1],"cgroup_path":"/sys/fs/cgroup/system.slice/slurmstepd.scope/job_1","partition":"gpu",
            "account":"physics","qos":"high","cluster":"alps","time_limit_minutes":240,"restart_count":0
            """);

        var (status, created) = await PostAsync("job-started", body, "slurm-prolog");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("created", created.GetProperty("status").GetString());
        Assert.Equal(id, created.GetProperty("job_id").GetString());

        var job = await GetJobAsync(Client, id);
        Assert.Equal("running", job.GetProperty("state").GetString());
        Assert.Equal(at, ParseTime(job.GetProperty("start_time")));
        Assert.Equal(["gpu01", "gpu02"], job.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal(1, job.GetProperty("attempt").GetInt32());
        Assert.Equal(16, job.GetProperty("allocated_cpus").GetInt32());
        Assert.Equal(64000, job.GetProperty("allocated_memory_mb").GetInt64());
        Assert.Equal(2, job.GetProperty("allocated_gpus").GetInt32());
        Assert.Equal("nvidia", job.GetProperty("gpu_vendor").GetString());
        Assert.Equal(["GPU-aaaa", "1"], job.GetProperty("gpu_devices").EnumerateArray().Select(d => d.GetString()));
        Assert.Equal("/sys/fs/cgroup/system.slice/slurmstepd.scope/job_1", job.GetProperty("cgroup_path").GetString());
        Assert.Equal("alps", job.GetProperty("cluster").GetString());
        var scheduler = job.GetProperty("scheduler");
        Assert.Equal(("gpu", "physics", "high", 240),
            (scheduler.GetProperty("partition").GetString(), scheduler.GetProperty("account").GetString(),
             scheduler.GetProperty("qos").GetString(), scheduler.GetProperty("time_limit_minutes").GetInt32()));
        Assert.Empty(job.GetProperty("attempts").EnumerateArray());

        for (var replay = 0; replay < 3; replay++)
        {
            Assert.Equal("skipped", await StatusAsync("job-started", body));
        }

        var entry = Assert.Single(await AuditAsync(id));
        Assert.Equal(("created", "running", "slurm-prolog", "prolog", "corr-slurm-prolog"),
            (entry.GetProperty("change").GetString(), entry.GetProperty("to_state").GetString(), entry.GetProperty("changed_by").GetString(),
             entry.GetProperty("source").GetString(), entry.GetProperty("correlation_id").GetString()));
        static string[] WithoutRuntime(JsonElement job) =>
            [.. job.EnumerateObject().Where(p => p.Name is not ("runtime_seconds" or "summary")).Select(p => p.Name + "=" + p.Value.GetRawText())];
        Assert.Equal(WithoutRuntime(job), WithoutRuntime(await GetJobAsync(Client, id)));
    }

    /// <summary>
    /// Prolog and epilog of the same jobs racing from several clients (a retried prolog, an epilog
    /// overtaking it): one job is created once, ends at most once, and every answer matches what
    /// was stored — one audit entry per created / updated answer, none for the rest.
    /// </summary>
    [SkippableFact]
    public async Task StartedAndFinished_Racing_EndInOneConsistentState()
    {
        var ids = Enumerable.Range(0, 20).Select(_ => NewId()).ToArray();
        var calls = new List<(string Id, string Route, Task<(HttpStatusCode Status, JsonElement Body)> Call)>();
        var random = new Random(7);
        foreach (var id in ids)
        {
            foreach (var route in new[] { "job-started", "job-started", "job-started", "job-finished", "job-finished", "job-finished" }.OrderBy(_ => random.Next()))
            {
                var body = route == "job-started" ? StartedBody(id) : $$"""{"job_id":"{{id}}","exit_code":0}""";
                calls.Add((id, route, Task.Run(() => PostAsync(route, body))));
            }
        }

        await Task.WhenAll(calls.Select(c => c.Call));
        foreach (var id in ids)
        {
            var answers = calls.Where(c => c.Id == id).Select(c => (c.Route, Http: c.Call.Result.Status, Answer: c.Call.Result.Status == HttpStatusCode.OK
                ? c.Call.Result.Body.GetProperty("status").GetString() : null)).ToArray();
            Assert.All(answers, a => Assert.True(a.Http is HttpStatusCode.OK || (a.Route == "job-finished" && a.Http == HttpStatusCode.NotFound), a.ToString()));
            Assert.Single(answers, a => a.Route == "job-started" && a.Answer == "created");
            var ended = answers.Count(a => a.Route == "job-finished" && a.Answer == "updated");
            Assert.InRange(ended, 0, 1);

            var job = await GetJobAsync(Client, id);
            Assert.Equal(ended == 1 ? "completed" : "running", job.GetProperty("state").GetString());
            Assert.Equal(ended == 1, job.TryGetProperty("end_time", out _));
            var audit = await AuditAsync(id);
            Assert.Equal(ended == 1 ? ["created", "transition"] : ["created"], audit.Select(e => e.GetProperty("change").GetString()!));
        }
    }

    [SkippableFact]
    public async Task JobStarted_KnownJob_WithChangedFields_IsUpdated_AndPendingJobsStartRunning()
    {
        var id = NewId();
        Assert.Equal("created", await StatusAsync("job-started", StartedBody(id, "\"cpu_allocation\":4")));
        Assert.Equal("updated", await StatusAsync("job-started", StartedBody(id, "\"cpu_allocation\":8")));
        Assert.Equal("skipped", await StatusAsync("job-started", StartedBody(id, "\"cpu_allocation\":8")));
        Assert.Equal(8, (await GetJobAsync(Client, id)).GetProperty("allocated_cpus").GetInt32());
        var updated = (await AuditAsync(id))[1];
        Assert.Equal("updated", updated.GetProperty("change").GetString());
        Assert.Equal(["allocation"], updated.GetProperty("details").GetProperty("fields").EnumerateArray().Select(f => f.GetString()));

        var pending = NewId();
        using (var create = await Client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{pending}}","user":"alice","nodes":["gpu01"],"state":"pending"}"""))
        {
            Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        }

        Assert.Equal("updated", await StatusAsync("job-started", StartedBody(pending, nodeList: "[\"gpu01\"]")));
        Assert.Equal("running", (await GetJobAsync(Client, pending)).GetProperty("state").GetString());
    }

    public static TheoryData<string, string> EndStates => new()
    {
        { "\"exit_code\":0", "completed" },
        { "\"exit_code\":0,\"raw_state\":\"COMPLETED\"", "completed" },
        { "\"exit_code\":1,\"raw_state\":\"FAILED\"", "failed" },
        { "\"exit_code\":0,\"raw_state\":\"TIMEOUT\"", "failed" },
        { "\"exit_code\":0,\"raw_state\":\"OUT_OF_MEMORY\"", "failed" },
        { "\"exit_code\":0,\"signal\":9", "cancelled" },
        { "\"exit_code\":0,\"signal\":15", "cancelled" },
        { "\"raw_state\":\"CANCELLED\"", "cancelled" },
        { "\"exit_code\":0,\"final_state\":\"failed\"", "failed" },
        { "\"signal\":9,\"final_state\":\"completed\"", "completed" },
        { "\"exit_code\":2", "failed" },
        { "\"signal\":6", "failed" },
    };

    [SkippableTheory]
    [MemberData(nameof(EndStates))]
    public async Task JobFinished_EndsTheJobInTheMappedState_KeepsTheSchedulerWords_AndAReplayIsSkipped(string fields, string expected)
    {
        var id = NewId();
        var start = Now().AddMinutes(-20);
        Assert.Equal("created", await StatusAsync("job-started", StartedBody(id, $"\"timestamp\":\"{Wire(start)}\"")));
        var end = Now().AddMinutes(-1);
        var body = $$"""{"job_id":"{{id}}","timestamp":"{{Wire(end)}}",{{fields}}}""";

        Assert.Equal("updated", await StatusAsync("job-finished", body));
        Assert.Equal("skipped", await StatusAsync("job-finished", body));
        Assert.Equal("skipped", await StatusAsync("job-finished", $$"""{"job_id":"{{id}}","exit_code":0}"""));

        var job = await GetJobAsync(Client, id);
        Assert.Equal(expected, job.GetProperty("state").GetString());
        Assert.Equal(end, ParseTime(job.GetProperty("end_time")));
        Assert.Equal((end - start).TotalSeconds, job.GetProperty("runtime_seconds").GetDouble(), 3);
        using var given = JsonDocument.Parse("{" + fields + "}");
        foreach (var field in given.RootElement.EnumerateObject().Where(f => f.Name != "final_state"))
        {
            Assert.Equal(field.Value.GetRawText(), job.GetProperty("scheduler").GetProperty(field.Name).GetRawText());
        }

        var audit = await AuditAsync(id);
        Assert.Equal(["created", "transition"], audit.Select(e => e.GetProperty("change").GetString()));
        Assert.Equal(("running", expected), (audit[1].GetProperty("from_state").GetString(), audit[1].GetProperty("to_state").GetString()));
    }

    [SkippableFact]
    public async Task JobFinished_BeforeTheStart_EndsAtTheStart()
    {
        var id = NewId();
        var start = Now().AddMinutes(-5);
        Assert.Equal("created", await StatusAsync("job-started", StartedBody(id, $"\"timestamp\":\"{Wire(start)}\"")));
        Assert.Equal("updated", await StatusAsync("job-finished", $$"""{"job_id":"{{id}}","timestamp":"{{Wire(start.AddMinutes(-2))}}","exit_code":0}"""));

        var job = await GetJobAsync(Client, id);
        Assert.Equal(start, ParseTime(job.GetProperty("end_time")));
        Assert.Equal(0, job.GetProperty("runtime_seconds").GetDouble());
    }

    [SkippableFact]
    public async Task JobStarted_AfterTheEnd_WithAHigherRestartCount_StartsANewAttempt_KeepingTheEarlierOne()
    {
        var id = NewId();
        var first = Now().AddMinutes(-30);
        var firstEnd = Now().AddMinutes(-20);
        var second = Now().AddMinutes(-10);
        Assert.Equal("created", await StatusAsync("job-started", StartedBody(id, $"\"timestamp\":\"{Wire(first)}\",\"restart_count\":0")));
        Assert.Equal("updated", await StatusAsync("job-finished", $$"""{"job_id":"{{id}}","timestamp":"{{Wire(firstEnd)}}","exit_code":1,"raw_state":"NODE_FAIL","restart_count":0}"""));

        var requeue = StartedBody(id, $"\"timestamp\":\"{Wire(second)}\",\"restart_count\":1", "[\"gpu03\"]");
        Assert.Equal("updated", await StatusAsync("job-started", requeue));
        Assert.Equal("skipped", await StatusAsync("job-started", requeue));
        Assert.Equal("skipped", await StatusAsync("job-started", StartedBody(id, $"\"timestamp\":\"{Wire(first)}\",\"restart_count\":0")));

        // The first attempt's epilog, replayed late, does not end the second attempt.
        Assert.Equal("skipped", await StatusAsync("job-finished", $$"""{"job_id":"{{id}}","exit_code":1,"restart_count":0}"""));

        var job = await GetJobAsync(Client, id);
        Assert.Equal(("running", 2), (job.GetProperty("state").GetString(), job.GetProperty("attempt").GetInt32()));
        Assert.Equal(second, ParseTime(job.GetProperty("start_time")));
        Assert.False(job.TryGetProperty("end_time", out _));
        Assert.Equal(["gpu03"], job.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()));
        Assert.False(job.TryGetProperty("scheduler", out var scheduler) && scheduler.TryGetProperty("raw_state", out _));
        var earlier = Assert.Single(job.GetProperty("attempts").EnumerateArray());
        Assert.Equal((1, "failed", 1), (earlier.GetProperty("attempt").GetInt32(), earlier.GetProperty("state").GetString(), earlier.GetProperty("exit_code").GetInt32()));
        Assert.Equal((first, firstEnd), (ParseTime(earlier.GetProperty("start_time")), ParseTime(earlier.GetProperty("end_time"))));

        Assert.Equal("updated", await StatusAsync("job-finished", $$"""{"job_id":"{{id}}","exit_code":0,"restart_count":1}"""));
        Assert.Equal("completed", (await GetJobAsync(Client, id)).GetProperty("state").GetString());

        var audit = await AuditAsync(id);
        Assert.Equal(["created", "transition", "requeue", "transition"], audit.Select(e => e.GetProperty("change").GetString()));
        Assert.Equal(2, audit[2].GetProperty("details").GetProperty("attempt").GetInt32());

        // The list shows the current attempt only; attempts are on the job's own route.
        using var list = await Client.GetAsync($"/v1/jobs?user=alice&limit=1000");
        var listed = (await list.ReadJsonAsync()).GetProperty("jobs").EnumerateArray().Single(j => j.GetProperty("id").GetString() == id);
        Assert.False(listed.TryGetProperty("attempts", out _));
        Assert.Equal(2, listed.GetProperty("attempt").GetInt32());
    }

    [SkippableFact]
    public async Task JobFinished_ForAnAttemptThatHasNotStarted_IsAConflict_AndChangesNothing()
    {
        var id = NewId();
        Assert.Equal("created", await StatusAsync("job-started", StartedBody(id)));

        var (status, error) = await PostAsync("job-finished", $$"""{"job_id":"{{id}}","exit_code":0,"restart_count":1}""");

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("conflict", error.GetProperty("error").GetString());
        Assert.Equal("running", (await GetJobAsync(Client, id)).GetProperty("state").GetString());
        Assert.Single(await AuditAsync(id));
    }

    [SkippableFact]
    public async Task JobFinished_UnknownJob_Is404_AndCreatesNothing()
    {
        var id = NewId();
        var (status, error) = await PostAsync("job-finished", $$"""{"job_id":"{{id}}","exit_code":0}""");

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("not_found", error.GetProperty("error").GetString());
        using var job = await Client.GetAsync($"/v1/jobs/{id}");
        Assert.Equal(HttpStatusCode.NotFound, job.StatusCode);
        using var audit = await Client.GetAsync($"/v1/jobs/{id}/audit");
        Assert.Equal(HttpStatusCode.NotFound, audit.StatusCode);
    }

    public static TheoryData<string, string, string> BadEvents => new()
    {
        { "job-started", """{"user":"a","node_list":["n1"]}""", "job_id" },
        { "job-started", """{"job_id":"a/b","user":"a","node_list":["n1"]}""", "job_id" },
        { "job-started", """{"job_id":"x","node_list":["n1"]}""", "user" },
        { "job-started", """{"job_id":"x","user":"a"}""", "node_list" },
        { "job-started", """{"job_id":"x","user":"a","node_list":[]}""", "node_list" },
        { "job-started", """{"job_id":"x","user":"a","node_list":"gpu[01-"}""", "node_list" },
        { "job-started", """{"job_id":"x","user":"a","node_list":"gpu[5-3]"}""", "node_list" },
        { "job-started", """{"job_id":"x","user":"a","node_list":"n[0-999999999]"}""", "node_list" },
        { "job-started", """{"job_id":"x","user":"a","node_list":42}""", "node_list" },
        { "job-started", """{"job_id":"x","user":"a","node_list":["n1"],"cpu_allocation":-1}""", "cpu_allocation" },
        { "job-started", """{"job_id":"x","user":"a","node_list":["n1"],"memory_allocation_mb":"lots"}""", "memory_allocation_mb" },
        { "job-started", """{"job_id":"x","user":"a","node_list":["n1"],"gpu_allocation":1.5}""", "gpu_allocation" },
        { "job-started", """{"job_id":"x","user":"a","node_list":["n1"],"gpu_vendor":"intel"}""", "gpu_vendor" },
        { "job-started", """{"job_id":"x","user":"a","node_list":["n1"],"gpu_devices":"0,1"}""", "gpu_devices" },
        { "job-started", """{"job_id":"x","user":"a","node_list":["n1"],"restart_count":-1}""", "restart_count" },
        { "job-started", """{"job_id":"x","user":"a","node_list":["n1"],"time_limit_minutes":-5}""", "time_limit_minutes" },
        { "job-started", """{"job_id":"x","user":"a","node_list":["n1"],"timestamp":"yesterday"}""", "timestamp" },
        { "job-started", """{"job_id":"x","user":"a","node_list":["n1"],"timestamp":"2099-01-01T00:00:00Z"}""", "timestamp" },
        { "job-started", """{"job_id":"x","jobId":"y","user":"a","node_list":["n1"]}""", "job_id" },
        { "job-finished", """{"exit_code":0}""", "job_id" },
        { "job-finished", """{"job_id":"x","final_state":"running"}""", "final_state" },
        { "job-finished", """{"job_id":"x","exit_code":"0"}""", "exit_code" },
        { "job-finished", """{"job_id":"x","signal":999}""", "signal" },
        { "job-finished", """{"job_id":"x","raw_state":""}""", "raw_state" },
        { "job-finished", """{"job_id":"x","restart_count":"1"}""", "restart_count" },
    };

    [SkippableTheory]
    [MemberData(nameof(BadEvents))]
    public async Task Events_WithBadInput_Are400NamingTheField_AndChangeNothing(string route, string body, string field)
    {
        // A job "x" that exists, so that a bad job-finished could only have been refused for its input.
        await StatusAsync("job-started", StartedBody("x"));
        var before = (await GetJobAsync(Client, "x")).GetProperty("state").GetString();
        var auditBefore = (await AuditAsync("x")).Length;

        var (status, error) = await PostAsync(route, body);

        Assert.True(status == HttpStatusCode.BadRequest, $"{(int)status} {error}");
        Assert.Equal("validation_error", error.GetProperty("error").GetString());
        Assert.True(error.GetProperty("details").TryGetProperty(field, out _), error.ToString());
        Assert.Equal(before, (await GetJobAsync(Client, "x")).GetProperty("state").GetString());
        Assert.Equal(auditBefore, (await AuditAsync("x")).Length);
    }

    [SkippableFact]
    public async Task Events_MalformedJson_IsInvalidRequest()
    {
        var (status, error) = await PostAsync("job-started", "{\"job_id\":");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request", error.GetProperty("error").GetString());
    }

    [SkippableFact]
    public async Task JobStarted_HostlistExpression_IsExpandedKeepingZeroPadding()
    {
        var id = NewId();
        Assert.Equal("created", await StatusAsync("job-started", StartedBody(id, nodeList: "\"gpu[01-03,07],login[1-2]\"")));

        Assert.Equal(
            ["gpu01", "gpu02", "gpu03", "gpu07", "login1", "login2"],
            (await GetJobAsync(Client, id)).GetProperty("nodes").EnumerateArray().Select(n => n.GetString()));
        using var onNode = await Client.GetAsync("/v1/jobs?node=gpu07&limit=1000");
        Assert.Contains((await onNode.ReadJsonAsync()).GetProperty("jobs").EnumerateArray(), j => j.GetProperty("id").GetString() == id);
    }

    [SkippableFact]
    public async Task CreateJob_AcceptsTheAllocationFields_InBothSpellings()
    {
        var id = NewId();
        using var response = await Client.PostJsonAsync("/v1/jobs", $$"""
            {"id":"{{id}}","user":"alice","nodes":["n1"],"allocatedCpus":4,"allocated_memory_mb":8000,"allocated_gpus":1,
             "gpuVendor":"amd","gpu_devices":["0"],"cgroup_path":"/job_9","cluster":"c9",
             "scheduler":{"account":"a1","partition":"p1","qos":"low","time_limit_minutes":30,"signal":0}
            }
            """);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.ReadJsonAsync();

        Assert.Equal((4, 8000L, 1, "amd", "/job_9", "c9", 1),
            (created.GetProperty("allocated_cpus").GetInt32(), created.GetProperty("allocated_memory_mb").GetInt64(),
             created.GetProperty("allocated_gpus").GetInt32(), created.GetProperty("gpu_vendor").GetString(),
             created.GetProperty("cgroup_path").GetString(), created.GetProperty("cluster").GetString(), created.GetProperty("attempt").GetInt32()));
        Assert.Equal(30, created.GetProperty("scheduler").GetProperty("time_limit_minutes").GetInt32());
        var audit = Assert.Single(await AuditAsync(id));
        Assert.Equal(("created", "anonymous", "api"),
            (audit.GetProperty("change").GetString(), audit.GetProperty("changed_by").GetString(), audit.GetProperty("source").GetString()));
    }

    [SkippableFact]
    public async Task ListJobs_FiltersByAccountPartitionAndCluster_CombinedWithTheOthers_WithExactTotals()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var start = Now().AddHours(-2);
        var jobs = new List<(string Id, string Account, string Partition, string Cluster, string User)>();
        for (var i = 0; i < 12; i++)
        {
            var job = ($"{tag}-{i:D2}", $"acct-{tag}-{i % 2}", $"part-{tag}-{i % 3}", $"cl-{tag}-{i % 4}", i < 6 ? $"u-{tag}" : $"v-{tag}");
            jobs.Add(job);
            var body = $$"""
                {"job_id":"{{job.Item1}}","user":"{{job.Item5}}","node_list":["n{{i % 2}}"],"timestamp":"{{Wire(start.AddSeconds(i))}}",
                 "account":"{{job.Item2}}","partition":"{{job.Item3}}","cluster":"{{job.Item4}}"}
                """;
            Assert.Equal("created", await StatusAsync("job-started", body));
        }

        await StatusAsync("job-finished", $$"""{"job_id":"{{tag}}-00","exit_code":0}""");
        (string Query, Func<(string Id, string Account, string Partition, string Cluster, string User), bool> Match)[] cases =
        [
            ($"account=acct-{tag}-0", j => j.Account == $"acct-{tag}-0"),
            ($"partition=part-{tag}-1", j => j.Partition == $"part-{tag}-1"),
            ($"cluster=cl-{tag}-2", j => j.Cluster == $"cl-{tag}-2"),
            ($"account=acct-{tag}-0&partition=part-{tag}-0", j => j.Account == $"acct-{tag}-0" && j.Partition == $"part-{tag}-0"),
            ($"account=acct-{tag}-1&user=u-{tag}", j => j.Account == $"acct-{tag}-1" && j.User == $"u-{tag}"),
            ($"account=acct-{tag}-0&state=running", j => j.Account == $"acct-{tag}-0" && j.Id != $"{tag}-00"),
            ($"cluster=cl-{tag}-0&node=n0", j => j.Cluster == $"cl-{tag}-0"),
            ($"account=nobody-{tag}", _ => false),
        ];
        foreach (var (query, match) in cases)
        {
            var expected = jobs.Where(match).OrderByDescending(j => j.Id).Select(j => j.Id).ToArray();
            var seen = new List<string>();
            for (var offset = 0; ; offset += 2)
            {
                using var response = await Client.GetAsync($"/v1/jobs?{query}&limit=2&offset={offset}");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var page = await response.ReadJsonAsync();
                Assert.Equal(expected.Length, page.GetProperty("total").GetInt64());
                var ids = page.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetString()!).ToArray();
                if (ids.Length == 0)
                {
                    break;
                }

                seen.AddRange(ids);
            }

            Assert.Equal(expected, seen);
        }
    }

    [SkippableFact]
    public async Task Audit_PagesOldestFirst_AndValidatesItsQuery()
    {
        var id = NewId();
        await StatusAsync("job-started", StartedBody(id, "\"cpu_allocation\":1"));
        await StatusAsync("job-started", StartedBody(id, "\"cpu_allocation\":2"));
        await StatusAsync("job-finished", $$"""{"job_id":"{{id}}","exit_code":0}""");

        using var second = await Client.GetAsync($"/v1/jobs/{id}/audit?limit=1&offset=1");
        var page = await second.ReadJsonAsync();
        Assert.Equal((3, 1, 1), (page.GetProperty("total").GetInt32(), page.GetProperty("limit").GetInt32(), page.GetProperty("offset").GetInt32()));
        Assert.Equal("updated", Assert.Single(page.GetProperty("entries").EnumerateArray()).GetProperty("change").GetString());

        var entries = await AuditAsync(id);
        var times = entries.Select(e => ParseTime(e.GetProperty("at"))).ToArray();
        Assert.Equal(times.Order(), times);

        foreach (var bad in new[] { "limit=0", "limit=1001", "offset=-1", "limit=x" })
        {
            using var response = await Client.GetAsync($"/v1/jobs/{id}/audit?{bad}");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
    }

    [SkippableFact]
    public async Task Audit_RecordsPatchTransitions_WithTheWriteHeaders_AndDeleteRemovesIt()
    {
        var id = NewId();
        using (var create = await Client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{id}}","user":"alice","nodes":["n1"]}"""))
        {
            Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        }

        using (var patch = new HttpRequestMessage(HttpMethod.Patch, $"/v1/jobs/{id}") { Content = new StringContent("""{"state":"failed"}""", System.Text.Encoding.UTF8, "application/json") })
        {
            patch.Headers.Add("X-Changed-By", "operator bob");
            patch.Headers.Add("X-Source", "api");
            patch.Headers.Add("X-Correlation-Id", "ticket-7");
            using var response = await Client.SendAsync(patch);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The same state again is a no-op: no entry.
        using (var again = await Client.PatchJsonAsync($"/v1/jobs/{id}", """{"state":"failed"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        var audit = await AuditAsync(id);
        Assert.Equal(2, audit.Length);
        Assert.Equal(("transition", "running", "failed", "operator bob", "ticket-7"),
            (audit[1].GetProperty("change").GetString(), audit[1].GetProperty("from_state").GetString(), audit[1].GetProperty("to_state").GetString(),
             audit[1].GetProperty("changed_by").GetString(), audit[1].GetProperty("correlation_id").GetString()));

        using (var delete = await Client.DeleteAsync($"/v1/jobs/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        // A new job with the same id starts a fresh log.
        await StatusAsync("job-started", StartedBody(id));
        Assert.Single(await AuditAsync(id));
    }
}

public sealed class SqliteLifecycleEventContractTests(ServiceFixture<SqliteBackend> service)
    : LifecycleEventContractTests<SqliteBackend>(service);

public sealed class PostgresLifecycleEventContractTests(ServiceFixture<PostgresBackend> service)
    : LifecycleEventContractTests<PostgresBackend>(service);

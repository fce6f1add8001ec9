using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using HpcJobs.MockServer.Spec;

namespace HpcJobs.MockServer.Tests.RealServer;

/// <summary>
/// The real service against config/openapi.yaml: every operation, its successes and its error
/// cases, each response held to what the document says for that operation and status. An
/// undocumented status, media type, header or field fails here, which keeps the document and the
/// service from drifting apart.
/// </summary>
public sealed class RealServerConformanceTests(RealServiceFixture service) : IClassFixture<RealServiceFixture>
{
    /// <summary>Statuses no request can provoke here: a bug (500), storage down (503), and tokens (401, 403: off by default).</summary>
    private static readonly HashSet<string> Unprovokable = ["500", "503", "401", "403"];

    private readonly SpecConformance _conformance = new(Spec);
    private readonly List<string> _problems = [];
    private readonly HashSet<(string OperationId, string Status)> _seen = [];

    private static OpenApiSpec Spec => SpecFile.Spec;

    [Fact]
    public async Task RealServer_Responses_ValidateAgainstSpec()
    {
        // Before the job exists: the document's own not-found example, word for word.
        Expect(await CallAsync("getJob", 404, Get("/v1/jobs/12345")), "getJob", "404", "notFound");

        // Create with every request example of the document (ids 12345, 12345_7, 12345.0).
        foreach (var example in Examples("createJob"))
        {
            await CallAsync("createJob", 201, SpecRequests.Request(Spec.Operation("createJob"), example));
        }

        Expect(await CallAsync("createJob", 409, SpecRequests.Request(Spec.Operation("createJob"), "minimal")), "createJob", "409", "duplicate");
        Expect(await CallAsync("updateJob", 409, Patch("/v1/jobs/12345_7", """{"state":"completed"}""")), "updateJob", "409", "transition");

        await CallAsync("getHealth", 200, Get("/v1/health"));
        await CallAsync("getHealthLive", 200, Get("/v1/health/live"));
        await CallAsync("getHealthReady", 200, Get("/v1/health/ready"));
        await CallAsync("listJobs", 200, Get("/v1/jobs"));
        await CallAsync("listJobs", 200, Get("/v1/jobs/"));
        await CallAsync("getJob", 200, Get("/v1/jobs/12345/"));
        await CallAsync("listJobs", 200, Get("/v1/jobs?state=pending&user=bob&node=node-03&limit=10&offset=0"));
        await CallAsync("listJobs", 200, Get("/v1/jobs?user=nobody"));
        foreach (var id in new[] { "12345", "12345_7", "12345.0" })
        {
            await CallAsync("getJob", 200, Get("/v1/jobs/" + Uri.EscapeDataString(id)));
        }

        foreach (var example in Examples("recordJobMetrics"))
        {
            await CallAsync("recordJobMetrics", 201, SpecRequests.Request(Spec.Operation("recordJobMetrics"), example));
        }

        var now = DateTimeOffset.UtcNow;
        await CallAsync("recordJobMetrics", 201, Post("/v1/jobs/12345_7/metrics", $$"""{"cpuUsage":12.25,"memoryUsageMb":2048,"timestamp":"{{Time(now.AddSeconds(-1.2345678))}}"}"""));
        await CallAsync("getJobMetrics", 200, Get("/v1/jobs/12345/metrics"));
        await CallAsync("getJobMetrics", 200, Get("/v1/jobs/12345_7/metrics"));
        await CallAsync("getJobMetrics", 200, Get($"/v1/jobs/12345/metrics?start_time={Uri.EscapeDataString(Time(now.AddDays(-400)))}&end_time={Uri.EscapeDataString(Time(now.AddDays(1)))}&limit=2"));
        await CallAsync("getJobMetrics", 200, Get("/v1/jobs/12345.0/metrics?start_time=2026-01-15T10:00:00%2B02:00"));

        foreach (var example in Examples("updateJob").Where(e => e != "complete"))
        {
            await CallAsync("updateJob", 200, SpecRequests.Request(Spec.Operation("updateJob"), example));
        }

        await CallAsync("updateJob", 200, Patch("/v1/jobs/12345_7", """{"state":"pending"}"""));

        // The batch examples are reproducible word for word: both jobs exist and are active.
        Expect(await CallAsync("ingestMetricsBatch", 200, SpecRequests.Request(Spec.Operation("ingestMetricsBatch"), "nodeBatch")), "ingestMetricsBatch", "200", "allAccepted");
        Expect(
            await CallAsync("ingestMetricsBatch", 200, Post("/v1/metrics", """
                {"samples":[
                  {"job_id":"12345","cpu_usage":50,"memory_usage_mb":100},
                  {"job_id":"12345","cpu_usage":101,"memory_usage_mb":100},
                  {"job_id":"99999","cpu_usage":1,"memory_usage_mb":1}
                ]}
                """)),
            "ingestMetricsBatch", "200", "someRejected");

        await CallAsync("ingestMetricsBatch", 200, Post("/v1/metrics", """
            {"samples":[
              {"job_id":"12345","cpu_usage":50,"memory_usage_mb":100},
              {"job_id":"12345","cpu_usage":101,"memory_usage_mb":100},
              {"job_id":"99999","cpu_usage":1,"memory_usage_mb":1},
              {"jobId":"12345_7","cpuUsage":1,"memoryUsageMb":1,"gpuUsage":3.5},
              {"job_id":"a/b","cpu_usage":1,"memory_usage_mb":1},
              "not an object"
            ]}
            """));
        await CallAsync("getPrometheusMetrics", 200, Get("/metrics"));

        // Node agents: a heartbeat (a job listed twice counts once), an idle node, the list.
        await CallAsync("postNodeHeartbeat", 200, Post("/v1/nodes/node-01/heartbeat", """{"timestamp":"2026-01-15T10:05:30Z","jobs":["12345","12345_7","12345"]}"""));
        await CallAsync("postNodeHeartbeat", 200, Post("/v1/nodes/node-02/heartbeat", """{"jobs":[]}"""));
        await CallAsync("listNodes", 200, Get("/v1/nodes"));
        await CallAsync("listNodes", 200, Get("/v1/nodes/"));

        // Terminal: end_time appears, and the document's two "terminal" conflicts, word for word.
        await CallAsync("updateJob", 200, SpecRequests.Request(Spec.Operation("updateJob"), "complete"));
        await CallAsync("updateJob", 200, SpecRequests.Request(Spec.Operation("updateJob"), "complete"));
        await CallAsync("getJob", 200, Get("/v1/jobs/12345"));
        Expect(await CallAsync("updateJob", 409, Patch("/v1/jobs/12345", """{"cpu_usage":1}""")), "updateJob", "409", "terminal");
        Expect(await CallAsync("recordJobMetrics", 409, Post("/v1/jobs/12345/metrics", """{"cpu_usage":1,"memory_usage_mb":1}""")), "recordJobMetrics", "409", "terminal");
        await CallAsync("updateJob", 200, Patch("/v1/jobs/12345_7", """{"state":"cancelled"}"""));
        await CallAsync("listJobs", 200, Get("/v1/jobs?state=completed"));
        await CallAsync("getPrometheusMetrics", 200, Get("/metrics"));

        // Scheduler events on the ended jobs: replays of what the prolog and epilog said (skipped),
        // the end of an attempt that never started, and the audit of it all.
        foreach (var example in Examples("jobStarted"))
        {
            await CallAsync("jobStarted", 200, SpecRequests.Request(Spec.Operation("jobStarted"), example));
        }

        foreach (var example in Examples("jobFinished"))
        {
            await CallAsync("jobFinished", 200, SpecRequests.Request(Spec.Operation("jobFinished"), example));
        }

        Expect(await CallAsync("jobFinished", 409, Post("/v1/events/job-finished", """{"job_id":"12345","exit_code":0,"restart_count":1}""")), "jobFinished", "409", "laterAttempt");
        await CallAsync("jobFinished", 404, Post("/v1/events/job-finished", """{"job_id":"99999","exit_code":0}"""));
        await CallAsync("jobStarted", 200, Post("/v1/events/job-started", """{"job_id":"99998","user":"carol","node_list":"cn[01-03]"}"""));
        await CallAsync("jobFinished", 200, Post("/v1/events/job-finished", """{"job_id":"99998","exit_code":0}"""));
        await CallAsync("getJobAudit", 200, Get("/v1/jobs/12345/audit"));
        await CallAsync("getJobAudit", 200, Get("/v1/jobs/99998/audit?limit=1&offset=1"));
        await CallAsync("getJobAudit", 404, Get("/v1/jobs/99999/audit"));
        await CallAsync("getJobReport", 200, Get("/v1/jobs/12345/report"));
        await CallAsync("getJobReport", 200, Get("/v1/jobs/99998/report", "application/json"));
        await CallAsync("getJobReport", 200, Get("/v1/jobs/12345_7/report", "text/plain;q=0.2, application/json"));
        await CallAsync("getJobReport", 404, Get("/v1/jobs/99999/report"));
        await CallAsync("listJobs", 200, Get("/v1/jobs?account=physics&partition=gpu&cluster=alps"));

        // Unknown jobs.
        await CallAsync("updateJob", 404, Patch("/v1/jobs/99999", """{"state":"running"}"""));
        await CallAsync("recordJobMetrics", 404, Post("/v1/jobs/99999/metrics", """{"cpu_usage":1,"memory_usage_mb":1}"""));
        await CallAsync("getJobMetrics", 404, Get("/v1/jobs/99999/metrics"));
        await CallAsync("deleteJob", 404, new HttpRequestMessage(HttpMethod.Delete, "/v1/jobs/99999"));

        await CallAsync("deleteJob", 204, new HttpRequestMessage(HttpMethod.Delete, "/v1/jobs/12345.0"));
        await CallAsync("getJob", 404, Get("/v1/jobs/12345.0"));

        // Every request the validators refuse, answered with the document's example for it.
        foreach (var scenario in ErrorScenarios.All)
        {
            Expect(
                await CallAsync(scenario.OperationId, int.Parse(scenario.Status, CultureInfo.InvariantCulture), scenario.Request()),
                scenario.OperationId, scenario.Status, scenario.Example);
        }

        // Known paths with methods they do not serve, and a path that does not exist.
        foreach (var path in Spec.Paths)
        {
            foreach (var method in new[] { "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" }.Where(m => path.Operations.All(op => op.Method.Method != m)))
            {
                using var response = await service.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path.Template.Replace("{id}", "12345_7", StringComparison.Ordinal)));
                _problems.AddRange(_conformance.CheckMethodNotAllowed(path, method, await ObservedResponse.ReadAsync(response)));
            }
        }

        foreach (var url in new[] { "/v1/nothing", "/v1/jobs/12345/metrics/extra", "/v1/jobs/12345/report/extra", "/" })
        {
            using var response = await service.Client.GetAsync(url);
            _problems.AddRange(_conformance.CheckUnknownPath(url, await ObservedResponse.ReadAsync(response)));
        }

        // Every documented status that a request can provoke was provoked, so none is documented idly.
        var unexercised = Spec.Operations
            .SelectMany(op => op.Responses.Where(r => !Unprovokable.Contains(r.Status) && !_seen.Contains((op.OperationId, r.Status))).Select(r => $"{op} {r.Status}"))
            .ToList();
        Assert.True(unexercised.Count == 0, "documented but never exercised: " + string.Join(", ", unexercised));
        Assert.True(_problems.Count == 0, $"{_problems.Count} problems:\n" + string.Join("\n", _problems));
    }

    [Theory]
    [MemberData(nameof(ErrorScenarios.Keys), MemberType = typeof(ErrorScenarios))]
    public async Task RealServer_InvalidRequest_AnswersTheDocumentedErrorExample(string key)
    {
        var scenario = ErrorScenarios.Named(key);

        Expect(await CallAsync(scenario.OperationId, int.Parse(scenario.Status, CultureInfo.InvariantCulture), scenario.Request()), scenario.OperationId, scenario.Status, scenario.Example);

        Assert.True(_problems.Count == 0, string.Join("\n", _problems));
    }

    private async Task<ObservedResponse> CallAsync(string operationId, int expected, HttpRequestMessage request)
    {
        var operation = Spec.Operation(operationId);
        var what = $"{request.Method} {request.RequestUri}";
        using (request)
        {
            using var response = await service.Client.SendAsync(request);
            var observed = await ObservedResponse.ReadAsync(response);
            _seen.Add((operationId, observed.Status.ToString(CultureInfo.InvariantCulture)));
            if (observed.Status != expected)
            {
                _problems.Add($"{what}: expected {expected}, got {observed.Status}: {observed.Body}");
            }

            _problems.AddRange(_conformance.Check(operation, observed).Select(p => $"{what}: {p}"));
            return observed;
        }
    }

    /// <summary>The response is the document's example, word for word.</summary>
    private void Expect(ObservedResponse observed, string operationId, string status, string example)
    {
        var documented = Spec.Operation(operationId).Responses.FirstOrDefault(r => r.Status == status)
            ?.Content.SelectMany(m => m.Examples).FirstOrDefault(e => e.Name == example);
        if (documented is null)
        {
            _problems.Add($"{operationId} {status}: the document has no example '{example}' (the service answered {observed.Body})");
            return;
        }

        var normalized = JsonNode.Parse(documented.Value!.ToJsonString());
        JsonNode? actual;
        try
        {
            actual = JsonNode.Parse(observed.Body);
        }
        catch (System.Text.Json.JsonException)
        {
            actual = JsonValue.Create(observed.Body);
        }

        if (!JsonNode.DeepEquals(normalized, actual))
        {
            _problems.Add($"{operationId} {status} '{example}': the service answered {observed.Body}, the document's example is {normalized!.ToJsonString(SpecRequests.Readable)}");
        }
    }

    private static IEnumerable<string> Examples(string operationId) =>
        Spec.Operation(operationId).RequestContent[0].Examples.Select(e => e.Name);

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static HttpRequestMessage Get(string url, string? accept = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        return request;
    }

    private static HttpRequestMessage Post(string url, string json) => WithJson(new HttpRequestMessage(HttpMethod.Post, url), json);

    private static HttpRequestMessage Patch(string url, string json) => WithJson(new HttpRequestMessage(HttpMethod.Patch, url), json);

    private static HttpRequestMessage WithJson(HttpRequestMessage request, string json)
    {
        request.Content = new StringContent(json, Encoding.UTF8);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return request;
    }
}

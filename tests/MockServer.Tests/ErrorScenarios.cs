using System.Text;
using System.Text.Json.Nodes;

namespace HpcJobs.MockServer.Tests;

/// <summary>
/// A request that must be answered with one of the document's error examples, word for word.
/// Each is a rule the request validators apply before any state is read, so the mock (which
/// runs those validators) and the service must both produce the example exactly.
/// </summary>
public sealed record ErrorScenario(string OperationId, string Status, string Example, string Method, string Path, string? Body, string? ContentType = "application/json")
{
    public string Key => $"{OperationId}/{Status}/{Example}";

    public HttpRequestMessage Request()
    {
        var request = new HttpRequestMessage(new HttpMethod(Method), Path);
        if (Body is not null)
        {
            request.Content = new StringContent(Body, Encoding.UTF8);
            request.Content.Headers.ContentType = ContentType is null ? null : System.Net.Http.Headers.MediaTypeHeaderValue.Parse(ContentType);
        }

        return request;
    }

    /// <summary>The example this request must be answered with.</summary>
    public JsonNode? Expected() =>
        (SpecFile.Spec.Operation(OperationId).Responses.FirstOrDefault(r => r.Status == Status)
            ?.Content.SelectMany(m => m.Examples).FirstOrDefault(e => e.Name == Example)
            ?? throw new InvalidOperationException($"the document has no example '{Example}' for {OperationId} {Status}")).Value;

    public override string ToString() => Key;
}

public static class ErrorScenarios
{
    private const string Sample = """{"job_id":"12345","cpu_usage":1,"memory_usage_mb":1}""";

    public static IReadOnlyList<ErrorScenario> All { get; } =
    [
        new("listJobs", "400", "badLimit", "GET", "/v1/jobs?limit=0", null),
        new("listJobs", "400", "badState", "GET", "/v1/jobs?state=exploded", null),
        new("listJobs", "400", "repeated", "GET", "/v1/jobs?user=alice&user=bob", null),
        new("createJob", "400", "validation", "POST", "/v1/jobs", """{"id":"12345","user":"","nodes":[],"state":"completed"}"""),
        new("createJob", "400", "badId", "POST", "/v1/jobs", """{"id":"a/b","user":"alice","nodes":["node-01"]}"""),
        new("createJob", "400", "bothSpellings", "POST", "/v1/jobs",
            """{"id":"12345","user":"alice","nodes":["node-01"],"start_time":"2026-01-15T10:00:00Z","startTime":"2026-01-15T10:00:00Z"}"""),
        new("createJob", "400", "badScheduler", "POST", "/v1/jobs",
            """{"id":"12345","user":"alice","nodes":["node-01"],"scheduler":{"exit_code":3000000000}}"""),
        new("createJob", "400", "malformedJson", "POST", "/v1/jobs", """{"id": 12,"""),
        new("createJob", "400", "emptyBody", "POST", "/v1/jobs", ""),
        new("createJob", "413", "tooLarge", "POST", "/v1/jobs", Oversized()),
        new("createJob", "415", "notJson", "POST", "/v1/jobs", """{"id":"12345"}""", "text/plain"),
        new("getJob", "400", "blankId", "GET", "/v1/jobs/%20", null),
        new("getJob", "400", "tooLong", "GET", "/v1/jobs/" + new string('x', 256), null),
        new("updateJob", "400", "badState", "PATCH", "/v1/jobs/12345", """{"state":"exploded"}"""),
        new("updateJob", "400", "noField", "PATCH", "/v1/jobs/12345", "{}"),
        new("updateJob", "400", "bothSpellings", "PATCH", "/v1/jobs/12345", """{"cpu_usage":1,"cpuUsage":1}"""),
        new("updateJob", "400", "malformedJson", "PATCH", "/v1/jobs/12345", """{"state": nope}"""),
        new("updateJob", "413", "tooLarge", "PATCH", "/v1/jobs/12345", Oversized()),
        new("updateJob", "415", "notJson", "PATCH", "/v1/jobs/12345", """{"state":"completed"}""", "text/plain"),
        new("deleteJob", "400", "blankId", "DELETE", "/v1/jobs/%20", null),
        new("recordJobMetrics", "400", "outOfRange", "POST", "/v1/jobs/12345/metrics", """{"cpu_usage":101,"memory_usage_mb":1.5}"""),
        new("recordJobMetrics", "400", "missing", "POST", "/v1/jobs/12345/metrics", """{"cpu_usage":1}"""),
        new("recordJobMetrics", "400", "bothSpellings", "POST", "/v1/jobs/12345/metrics", """{"cpu_usage":1,"cpuUsage":1,"memory_usage_mb":1}"""),
        new("recordJobMetrics", "400", "emptyBody", "POST", "/v1/jobs/12345/metrics", ""),
        new("recordJobMetrics", "413", "tooLarge", "POST", "/v1/jobs/12345/metrics", Oversized()),
        new("recordJobMetrics", "415", "notJson", "POST", "/v1/jobs/12345/metrics", """{"cpu_usage":1,"memory_usage_mb":1}""", "text/plain"),
        new("getJobMetrics", "400", "badTime", "GET", "/v1/jobs/12345/metrics?start_time=yesterday", null),
        new("getJobMetrics", "400", "badLimit", "GET", "/v1/jobs/12345/metrics?limit=0", null),
        new("getJobMetrics", "400", "reversedRange", "GET",
            "/v1/jobs/12345/metrics?start_time=2026-01-15T12:00:00Z&end_time=2026-01-15T10:00:00Z", null),
        new("ingestMetricsBatch", "400", "noSamples", "POST", "/v1/metrics", """{"items":[]}"""),
        new("ingestMetricsBatch", "413", "tooMany", "POST", "/v1/metrics",
            """{"samples":[""" + string.Join(",", Enumerable.Repeat(Sample, 10_001)) + "]}"),
        new("getJobAudit", "400", "badLimit", "GET", "/v1/jobs/12345/audit?limit=0", null),
        new("getJobReport", "400", "blankId", "GET", "/v1/jobs/%20/report", null),
        new("jobStarted", "400", "badHostlist", "POST", "/v1/events/job-started", """{"job_id":"12345","user":"alice","node_list":"gpu[5-3]"}"""),
        new("jobStarted", "400", "missingJobId", "POST", "/v1/events/job-started", """{"user":"alice","node_list":["node-01"]}"""),
        new("jobStarted", "413", "tooLarge", "POST", "/v1/events/job-started", Oversized()),
        new("jobStarted", "415", "notJson", "POST", "/v1/events/job-started", """{"job_id":"12345"}""", "text/plain"),
        new("jobFinished", "400", "badFinalState", "POST", "/v1/events/job-finished", """{"job_id":"12345","final_state":"running"}"""),
        new("jobFinished", "400", "malformedJson", "POST", "/v1/events/job-finished", """{"job_id":"""),
        new("jobFinished", "413", "tooLarge", "POST", "/v1/events/job-finished", Oversized()),
        new("jobFinished", "415", "notJson", "POST", "/v1/events/job-finished", """{"job_id":"12345"}""", "text/plain"),
        new("ingestMetricsBatch", "415", "notJson", "POST", "/v1/metrics", """{"samples":[]}""", "text/plain"),
        new("postNodeHeartbeat", "400", "noJobs", "POST", "/v1/nodes/node-01/heartbeat", """{"timestamp":"2026-01-15T10:05:30Z"}"""),
        new("postNodeHeartbeat", "400", "badJobId", "POST", "/v1/nodes/node-01/heartbeat", """{"jobs":["12345","a/b"]}"""),
        new("postNodeHeartbeat", "400", "blankNode", "POST", "/v1/nodes/%20/heartbeat", """{"jobs":[]}"""),
        new("postNodeHeartbeat", "413", "tooLarge", "POST", "/v1/nodes/node-01/heartbeat", Oversized()),
        new("postNodeHeartbeat", "415", "notJson", "POST", "/v1/nodes/node-01/heartbeat", """{"jobs":[]}""", "text/plain"),
    ];

    public static ErrorScenario Named(string key) => All.Single(s => s.Key == key);

    public static TheoryData<string> Keys() => [.. All.Select(s => s.Key)];

    /// <summary>A well-formed body one byte over 1 MiB.</summary>
    private static string Oversized()
    {
        const int limit = 1024 * 1024;
        var prefix = """{"padding":" """.TrimEnd();
        return prefix + new string('x', limit - prefix.Length - 1) + "\"}";
    }
}

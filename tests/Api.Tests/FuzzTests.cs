using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using HpcJobs.Api.Tests.Infrastructure;
using Xunit.Abstractions;

namespace HpcJobs.Api.Tests;

/// <summary>
/// A seeded fuzz run against the whole service (shared/CONTRACT.md): thousands of valid, malformed,
/// mutated and hostile requests on every route and method (see <see cref="FuzzRequestGenerator"/>).
/// No request may be answered with a 5xx or break the connection; every error is the contract's
/// JSON error body; a rejected request changes nothing; and a job the fuzzer only sends requests
/// that must be refused is, afterwards, exactly as it was. STRESS_TEST=1 sends ten times as many.
/// </summary>
public abstract class FuzzTests<TBackend>(ServiceFixture<TBackend> service, ITestOutputHelper output)
    : IClassFixture<ServiceFixture<TBackend>>
    where TBackend : IBackend, new()
{
    public const int Seed = 20261129;

    /// <summary>The job only ever sent requests the contract obliges the service to reject (and reads).</summary>
    public const string ProtectedId = "fuzz-protected-job";

    private static readonly HashSet<string> _codes =
    [
        "invalid_request", "validation_error", "unauthorized", "not_found", "method_not_allowed", "conflict", "payload_too_large",
        "unsupported_media_type", "internal_error", "unavailable",
    ];

    private static readonly Dictionary<int, string[]> _codesByStatus = new()
    {
        [400] = ["invalid_request", "validation_error"],
        [401] = ["unauthorized"],
        [404] = ["not_found"],
        [405] = ["method_not_allowed"],
        [409] = ["conflict"],
        [413] = ["payload_too_large"],
        [415] = ["unsupported_media_type"],
    };

    [SkippableFact]
    public async Task SeededFuzz_NeverAnswers5xxOrDropsTheConnection_AnswersContractErrors_AndRejectedRequestsChangeNothing()
    {
        var client = service.Client;
        var count = StressSettings.Count(2_000, 20_000);
        var now = DateTimeOffset.UtcNow;
        now = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

        await CreateProtectedJobAsync(client, now);
        var before = await SnapshotAsync(client, ProtectedId, since: null);
        Assert.StartsWith("200 ", before.Job, StringComparison.Ordinal);
        Assert.Contains("\"total\":1", before.History, StringComparison.Ordinal);

        var generator = new FuzzRequestGenerator(new Random(Seed), ProtectedId, now);
        var run = new FuzzRun();
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            await SendAsync(client, generator.Next(i), run, now);
        }

        stopwatch.Stop();

        var after = await SnapshotAsync(client, ProtectedId, since: null);
        if (after != before)
        {
            run.Fail("protected job", $"changed by the run.\n  before: {before}\n  after:  {after}");
        }

        await ExpectStillServingAsync(client, run);
        foreach (var route in FuzzRun.Routes)
        {
            foreach (var method in FuzzRun.Methods.Where(m => run.Coverage.GetValueOrDefault((route, m)) == 0))
            {
                run.Fail("coverage", $"the seed sent no {method} {route}: widen the generator");
            }
        }

        Print(run, count, stopwatch.Elapsed);
        Assert.True(run.Failures.Count == 0, $"{run.Failures.Count} fuzz failures, the first:\n" + string.Join("\n", run.Failures.Take(15)));
    }

    private static async Task CreateProtectedJobAsync(HttpClient client, DateTimeOffset now)
    {
        var start = now.AddHours(-1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var sampled = now.AddMinutes(-30).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        var create = await client.PostJsonAsync("/v1/jobs", $$"""
            {"id":"{{ProtectedId}}","user":"fuzz-owner","nodes":["fuzz-node-1","fuzz-node-2"],"state":"running","start_time":"{{start}}",
             "scheduler":{"type":"slurm","external_job_id":"4242","partition":"gpu","priority":7,"extra":{"note":"protected"} } }
            """);
        Assert.True(create.StatusCode == HttpStatusCode.Created, $"creating the protected job: {(int)create.StatusCode} {await create.Content.ReadAsStringAsync()}");
        var sample = await client.PostJsonAsync($"/v1/jobs/{ProtectedId}/metrics",
            $$"""{"cpu_usage":42.5,"memory_usage_mb":2048,"gpu_usage":12.25,"timestamp":"{{sampled}}"}""");
        Assert.True(sample.StatusCode == HttpStatusCode.Created, $"its sample: {(int)sample.StatusCode} {await sample.Content.ReadAsStringAsync()}");
    }

    private static async Task SendAsync(HttpClient client, FuzzRequest request, FuzzRun run, DateTimeOffset now)
    {
        if (!Uri.TryCreate(client.BaseAddress, request.Target, out var uri))
        {
            run.Count("unsendable", request.Kind);
            return;
        }

        run.Cover(RouteOf(uri), request.Method);
        var watched = request.MustBeRejected ? ProtectedId : request.IsMutating ? request.WatchedId : null;

        // Samples older than retention may be pruned during the run; compare only what retention keeps.
        var since = now.AddDays(-6);
        var before = watched is null ? default : await SnapshotAsync(client, watched, since);

        using var message = new HttpRequestMessage(new HttpMethod(request.Method), uri);
        if (request.Body is not null || request.ContentType is not null)
        {
            var body = request.Body ?? [];
            message.Content = request.Unsized ? new FuzzUnsizedContent(body) : new ByteArrayContent(body);
            if (request.ContentType is not null)
            {
                message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
            }
        }

        int status;
        string? problem;
        string responseText;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            using var response = await client.SendAsync(message, timeout.Token);
            var bytes = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            status = (int)response.StatusCode;
            responseText = FuzzRequest.Printable(bytes, 300);
            problem = Check(request, response, bytes);
        }
        catch (InvalidOperationException e) when (e.StackTrace?.Contains("PathString.FromUriComponent", StringComparison.Ordinal) == true)
        {
            // The test host decodes the path before the service sees it and refuses a NUL ("%00"); a
            // real server (Kestrel) rejects such a request line itself. Nothing reached the service.
            run.Count("undeliverable", request.Kind);
            return;
        }
        catch (Exception e)
        {
            run.Count("exception", request.Kind);
            var frames = string.Join(" <- ", (e.StackTrace ?? string.Empty).Split('\n').Take(4).Select(f => f.Trim()));
            run.Fail(request.Describe(), $"the client threw (connection dropped?): {e.GetType().Name}: {e.Message} at {frames}");
            return;
        }

        run.Count(status.ToString(CultureInfo.InvariantCulture), request.Kind);
        if (problem is not null)
        {
            run.Fail(request.Describe(), $"{problem} (answered {status}: {responseText})");
        }

        if (watched is not null && status is >= 400 and < 500)
        {
            var after = await SnapshotAsync(client, watched, since);
            if (after != before)
            {
                run.Fail(request.Describe(), $"answered {status} {responseText} but changed job '{watched}'.\n  before: {before}\n  after:  {after}");
            }
        }
    }

    /// <summary>Which route (or none) a request aims at, by its path as sent.</summary>
    private static string RouteOf(Uri uri) => uri.AbsolutePath.Split('/') switch
    {
        ["", "v1", "health"] => "/v1/health",
        ["", "v1", "jobs"] => "/v1/jobs",
        ["", "v1", "jobs", { Length: > 0 }] => "/v1/jobs/{id}",
        ["", "v1", "jobs", { Length: > 0 }, "metrics"] => "/v1/jobs/{id}/metrics",
        ["", "v1", "metrics"] => "/v1/metrics",
        ["", "metrics"] => "/metrics",
        _ => "unknown",
    };

    /// <summary>What is wrong with the answer, or null.</summary>
    private static string? Check(FuzzRequest request, HttpResponseMessage response, byte[] body)
    {
        var status = (int)response.StatusCode;
        if (status >= 500)
        {
            return $"a {status}: no input may produce a 5xx";
        }

        if (request.MustBeRejected && status < 400)
        {
            return $"accepted ({status}) a request the contract rejects, aimed at the protected job";
        }

        if (request.Method == "HEAD")
        {
            return null;
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (status is >= 400 and < 500)
        {
            if (body.Length == 0)
            {
                return "a 4xx without the contract's error body";
            }

            if (mediaType != "application/json")
            {
                return $"a 4xx with Content-Type '{response.Content.Headers.ContentType}', not application/json";
            }

            return ErrorBodyProblem(status, body);
        }

        if (status is >= 200 and < 300 && status != 204 && request.Target.StartsWith("/v1", StringComparison.Ordinal))
        {
            if (mediaType != "application/json")
            {
                return $"a {status} with Content-Type '{response.Content.Headers.ContentType}', not application/json";
            }

            try
            {
                using var document = JsonDocument.Parse(body);
            }
            catch (JsonException e)
            {
                return $"a {status} whose body is not JSON: {e.Message}";
            }
        }

        return null;
    }

    private static string? ErrorBodyProblem(int status, byte[] body)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(body);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return $"the error body is not JSON: {e.Message}";
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return "the error body is not an object";
        }

        if (!root.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.String || !_codes.Contains(error.GetString()!))
        {
            return "the error body has no contract error code";
        }

        if (!root.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.String || message.GetString()!.Length == 0)
        {
            return "the error body has no message";
        }

        if (root.TryGetProperty("details", out var details) && details.ValueKind != JsonValueKind.Object)
        {
            return "the error body's details are not an object";
        }

        foreach (var property in root.EnumerateObject())
        {
            if (property.Name is not ("error" or "message" or "details"))
            {
                return $"the error body has an unexpected field '{property.Name}'";
            }
        }

        if (!_codesByStatus.TryGetValue(status, out var codes))
        {
            return $"status {status} is not one the contract uses";
        }

        return codes.Contains(error.GetString()) ? null : $"status {status} with error '{error.GetString()}'";
    }

    /// <summary>
    /// The job and its history as the API shows them, minus what moves with the clock alone: the
    /// runtime of a running job, and the summary figures, averages and flags judged against it
    /// (the sample count and maxima stay: a refused sample must not move them).
    /// </summary>
    private static async Task<Snapshot> SnapshotAsync(HttpClient client, string id, DateTimeOffset? since)
    {
        var path = "/v1/jobs/" + Uri.EscapeDataString(id);
        using var job = await client.GetAsync(path);
        var jobText = await job.Content.ReadAsStringAsync();
        if (job.StatusCode == HttpStatusCode.OK && JsonNode.Parse(jobText) is JsonObject node)
        {
            foreach (var clocked in new[] { "runtime_seconds", "summary", "avg_cpu_usage", "avg_gpu_usage", "flags" })
            {
                node.Remove(clocked);
            }

            jobText = node.ToJsonString();
        }

        var query = "?limit=10000" + (since is { } from
            ? "&start_time=" + Uri.EscapeDataString(from.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture))
            : string.Empty);
        using var history = await client.GetAsync(path + "/metrics" + query);
        var historyText = await history.Content.ReadAsStringAsync();
        return new Snapshot($"{(int)job.StatusCode} {jobText}", $"{(int)history.StatusCode} {historyText}");
    }

    private static async Task ExpectStillServingAsync(HttpClient client, FuzzRun run)
    {
        using var health = await client.GetAsync("/v1/health");
        if (health.StatusCode != HttpStatusCode.OK)
        {
            run.Fail("GET /v1/health after the run", $"answered {(int)health.StatusCode}: {await health.Content.ReadAsStringAsync()}");
        }

        using var metrics = await client.GetAsync("/metrics");
        var text = await metrics.Content.ReadAsStringAsync();
        if (metrics.StatusCode != HttpStatusCode.OK || !text.Contains($"job_id=\"{ProtectedId}\"", StringComparison.Ordinal))
        {
            run.Fail("GET /metrics after the run", $"answered {(int)metrics.StatusCode} without the protected job's series");
        }

        using var list = await client.GetAsync("/v1/jobs?user=fuzz-owner");
        var listText = await list.Content.ReadAsStringAsync();
        if (list.StatusCode != HttpStatusCode.OK || !listText.Contains("\"total\":1", StringComparison.Ordinal))
        {
            run.Fail("GET /v1/jobs?user=fuzz-owner after the run", $"answered {(int)list.StatusCode}: {listText}");
        }
    }

    private void Print(FuzzRun run, int count, TimeSpan elapsed)
    {
        output.WriteLine($"seed {Seed}, {count} requests in {elapsed.TotalSeconds:F1} s ({typeof(TBackend).Name})");
        output.WriteLine("requests per status code:");
        foreach (var (status, n) in run.ByStatus.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {status,-11} {n,6}");
        }

        output.WriteLine("requests per route and method:");
        output.WriteLine($"  {"",-22}" + string.Concat(FuzzRun.Methods.Select(m => $"{m,8}")));
        foreach (var route in FuzzRun.Routes)
        {
            output.WriteLine($"  {route,-22}" + string.Concat(FuzzRun.Methods.Select(m => $"{run.Coverage.GetValueOrDefault((route, m)),8}")));
        }

        output.WriteLine("by kind (status: count):");
        foreach (var (kind, statuses) in run.ByKind.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {kind,-28} " + string.Join(", ", statuses.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}: {s.Value}")));
        }

        output.WriteLine($"{run.Failures.Count} failures");
        foreach (var failure in run.Failures.Take(60))
        {
            output.WriteLine(failure);
        }
    }

    private readonly record struct Snapshot(string Job, string History)
    {
        public override string ToString() => $"{Job} | history {History}";
    }

    /// <summary>Tallies and failures of one run.</summary>
    private sealed class FuzzRun
    {
        public SortedDictionary<string, int> ByStatus { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, SortedDictionary<string, int>> ByKind { get; } = new(StringComparer.Ordinal);

        public static string[] Routes { get; } =
            ["/v1/health", "/v1/jobs", "/v1/jobs/{id}", "/v1/jobs/{id}/metrics", "/v1/metrics", "/metrics", "unknown"];

        public static string[] Methods { get; } = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

        public List<string> Failures { get; } = [];

        public Dictionary<(string Route, string Method), int> Coverage { get; } = [];

        public void Cover(string route, string method) => Coverage[(route, method)] = Coverage.GetValueOrDefault((route, method)) + 1;

        public void Count(string status, string kind)
        {
            ByStatus[status] = ByStatus.GetValueOrDefault(status) + 1;

            // "patch/malformed:truncate" is tallied as "patch/malformed".
            var group = kind.Split(':')[0];
            if (!ByKind.TryGetValue(group, out var statuses))
            {
                ByKind[group] = statuses = new SortedDictionary<string, int>(StringComparer.Ordinal);
            }

            statuses[status] = statuses.GetValueOrDefault(status) + 1;
        }

        public void Fail(string request, string problem) => Failures.Add($"- {request}\n    => {problem}");
    }
}

/// <summary>A body sent without a Content-Length, so the server only learns its size by reading it.</summary>
public sealed class FuzzUnsizedContent(byte[] bytes) : HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}

public sealed class SqliteFuzzTests(ServiceFixture<SqliteBackend> service, ITestOutputHelper output)
    : FuzzTests<SqliteBackend>(service, output);

public sealed class PostgresFuzzTests(ServiceFixture<PostgresBackend> service, ITestOutputHelper output)
    : FuzzTests<PostgresBackend>(service, output);

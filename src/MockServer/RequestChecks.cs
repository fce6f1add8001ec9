using System.Text.Json;
using HpcJobs.Api.Contracts;
using HpcJobs.Api.Events;
using HpcJobs.MockServer.Spec;

namespace HpcJobs.MockServer;

/// <summary>Says what is wrong with a request, or null when the real service would take it.</summary>
public delegate ValueTask<RequestError?> RequestCheck(HttpContext context);

/// <summary>
/// Each operation's request checks, in the real service's order and with its own parsers
/// (shared/STYLE.md: validation lives once, beside the request type). The mock therefore rejects
/// exactly what the service rejects, with the same error body.
/// </summary>
public static class RequestChecks
{
    /// <summary>The service's default <c>MAX_CLOCK_SKEW_SECONDS</c>.</summary>
    private static readonly TimeSpan DefaultClockSkew = TimeSpan.FromSeconds(300);

    private static readonly Dictionary<string, RequestCheck> Known = new(StringComparer.Ordinal)
    {
        ["getHealth"] = None,
        ["getHealthLive"] = None,
        ["getHealthReady"] = None,
        ["listJobs"] = Query(query => Outcome(JobListQuery.Parse(query, out var error), error)),
        ["createJob"] = Body(Limits.DefaultMaxBodyBytes, (root, _) => Outcome(CreateJobRequest.Parse(root, out var error), error)),
        ["getJob"] = Id,
        ["updateJob"] = All(Id, Body(Limits.DefaultMaxBodyBytes, (root, _) => Outcome(UpdateJobRequest.Parse(root, out var error), error))),
        ["deleteJob"] = Id,
        ["recordJobMetrics"] = All(Id, Body(Limits.DefaultMaxBodyBytes, (root, now) => Outcome(SampleRequest.Parse(root, now, out var error), error))),
        ["getJobMetrics"] = All(Id, Query(query => Outcome(SampleHistoryQuery.Parse(query, out var error), error))),
        ["ingestMetricsBatch"] = Body(Limits.DefaultMaxBatchBodyBytes, (root, now) => Outcome(BatchSampleRequest.Parse(root, now, out var error), error)),
        ["getJobAudit"] = All(Id, Query(query => Outcome(AuditQuery.Parse(query, out var error), error))),
        ["getJobReport"] = Id,
        ["jobStarted"] = Body(Limits.DefaultMaxBodyBytes, (root, now) => Outcome(JobStartedRequest.Parse(root, now, out var error), error)),
        ["jobFinished"] = Body(Limits.DefaultMaxBodyBytes, (root, now) => Outcome(JobFinishedRequest.Parse(root, now, out var error), error)),
        ["postNodeHeartbeat"] = All(Node, Body(Limits.DefaultMaxBodyBytes, (root, now) => Outcome(HeartbeatRequest.Parse(root, now, DefaultClockSkew, out var error), error))),
        ["listNodes"] = None,
        ["getPrometheusMetrics"] = None,
    };

    /// <summary>Operations checked with the service's own parsers; any other is checked generically.</summary>
    public static IReadOnlyCollection<string> KnownOperations => Known.Keys;

    /// <summary>
    /// The operation's checks. An operation this table does not know yet still gets the id rule
    /// for an <c>{id}</c> in its path and the body rules (media type, size, well-formed JSON).
    /// </summary>
    public static RequestCheck For(SpecOperation operation)
    {
        if (Known.TryGetValue(operation.OperationId, out var check))
        {
            return check;
        }

        var checks = new List<RequestCheck>();
        if (operation.Parameters.Any(p => p is { In: Microsoft.OpenApi.ParameterLocation.Path, Name: "id" }))
        {
            checks.Add(Id);
        }

        if (operation.RequestBody is not null)
        {
            checks.Add(Body(Limits.DefaultMaxBodyBytes, (_, _) => null));
        }

        return All([.. checks]);
    }

    private static ValueTask<RequestError?> None(HttpContext context) => ValueTask.FromResult<RequestError?>(null);

    private static ValueTask<RequestError?> Node(HttpContext context)
    {
        var node = context.Request.RouteValues["node"] as string;
        return ValueTask.FromResult(NodeName.Problem(node) is { } problem ? RequestError.Validation("node", problem) : null);
    }

    private static ValueTask<RequestError?> Id(HttpContext context)
    {
        var id = context.Request.RouteValues["id"] as string;
        return ValueTask.FromResult(JobId.Problem(id) is { } problem ? RequestError.Validation("id", problem) : null);
    }

    private static RequestCheck Query(Func<IQueryCollection, RequestError?> parse) =>
        context => ValueTask.FromResult(parse(context.Request.Query));

    private static RequestCheck Body(long maxBytes, Func<JsonElement, DateTimeOffset, RequestError?> parse) =>
        async context =>
        {
            var (document, error) = await RequestBody.ReadAsync(context.Request, maxBytes);
            using var body = document;
            return body is null ? error : parse(body.RootElement, TimeProvider.System.GetUtcNow());
        };

    private static RequestCheck All(params RequestCheck[] checks) =>
        async context =>
        {
            foreach (var check in checks)
            {
                if (await check(context) is { } error)
                {
                    return error;
                }
            }

            return null;
        };

    /// <summary>The parsers answer a value or an error; only the error matters here.</summary>
    private static RequestError? Outcome<T>(T parsed, RequestError? error) => parsed is null ? error : null;
}

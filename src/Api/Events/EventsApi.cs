using System.Text.Json;
using HpcJobs.Api.Contracts;
using HpcJobs.Api.Errors;
using HpcJobs.Api.Json;
using HpcJobs.Api.Security;
using HpcJobs.Grains;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace HpcJobs.Api.Events;

/// <summary>
/// <c>/v1/events</c>: the scheduler's prolog and epilog report a job's start and end. Each event
/// goes to the job's grain, which decides (LifecycleEvents) and stores the change with its audit
/// entry; a replay is answered <c>skipped</c> and changes nothing.
/// </summary>
public static class EventsApi
{
    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder app)
    {
        var events = app.MapGroup("/v1/events");
        // A node token (the node's prolog and epilog, the agent flushing their spool) may report the
        // jobs that run on its node; the grain checks the job's nodes.
        events.MapPost("/job-started", JobStartedEvent).RequireAuthorization(AccessPolicies.Ingest);
        events.MapPost("/job-finished", JobFinishedEvent).RequireAuthorization(AccessPolicies.Ingest);
        return app;
    }

    public static Task<Results<Ok<EventResponse>, JsonHttpResult<ErrorResponse>>> JobStartedEvent(
        HttpContext http, IGrainFactory grains, IOptions<ApiOptions> options, IOptions<Grains.SampleOptions> samples, TimeProvider time) =>
        HandleAsync(http, options, samples, time, JobStartedRequest.Parse, e => e.Timestamp,
            (id, e, context) => grains.GetJob(id).StartedAsync(e, context));

    public static Task<Results<Ok<EventResponse>, JsonHttpResult<ErrorResponse>>> JobFinishedEvent(
        HttpContext http, IGrainFactory grains, IOptions<ApiOptions> options, IOptions<Grains.SampleOptions> samples, TimeProvider time) =>
        HandleAsync(http, options, samples, time, JobFinishedRequest.Parse, e => e.Timestamp,
            (id, e, context) => grains.GetJob(id).FinishedAsync(e, context));

    private delegate (string JobId, T Event)? Parser<T>(JsonElement root, DateTimeOffset now, out RequestError? error);

    private static async Task<Results<Ok<EventResponse>, JsonHttpResult<ErrorResponse>>> HandleAsync<T>(
        HttpContext http,
        IOptions<ApiOptions> options,
        IOptions<Grains.SampleOptions> samples,
        TimeProvider time,
        Parser<T> parse,
        Func<T, DateTimeOffset> timestamp,
        Func<string, T, WriteContext, Task<EventOutcome>> send)
    {
        if (WriteHeaders.Read(http, out var error) is not { } context)
        {
            return ApiErrors.From(error!);
        }

        var (document, bodyError) = await RequestBody.ReadAsync(http.Request, options.Value.MaxBodyBytes);
        using var body = document;
        var now = time.GetUtcNow();
        if (body is null || parse(body.RootElement, now, out bodyError) is not { } parsed)
        {
            return ApiErrors.From(bodyError!);
        }

        // A clock far ahead would start the job in the future and refuse its samples until then.
        if (timestamp(parsed.Event) > now + samples.Value.MaxClockSkew)
        {
            return ApiErrors.From(new RequestError(400, ErrorCodes.ValidationError, "timestamp is in the future", new Dictionary<string, string>
            {
                ["timestamp"] = $"is more than {samples.Value.MaxClockSkew.TotalSeconds:0} s after the server's time",
                ["server_time"] = Rfc3339.Format(now),
            }));
        }

        var outcome = await send(parsed.JobId, parsed.Event, context);
        return outcome.Status switch
        {
            EventStatus.NotFound => ApiErrors.NotFound(outcome.Message!),
            EventStatus.Conflict => ApiErrors.Conflict(outcome.Message!),
            EventStatus.Forbidden => ApiErrors.Forbidden(outcome.Message!),
            _ => TypedResults.Ok(new EventResponse(Wire(outcome.Status), parsed.JobId, outcome.Message)),
        };
    }

    private static string Wire(EventStatus status) => status switch
    {
        EventStatus.Created => "created",
        EventStatus.Updated => "updated",
        _ => "skipped",
    };
}

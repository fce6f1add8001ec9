using HpcJobs.Api.Contracts;
using HpcJobs.Api.Errors;
using HpcJobs.Api.Ingest;
using HpcJobs.Api.Metrics;
using HpcJobs.Api.Security;
using HpcJobs.Grains;
using HpcJobs.Grains.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace HpcJobs.Api.Jobs;

/// <summary>The <c>/v1/jobs</c> routes: lifecycle through each job's grain, queries from the jobs table.</summary>
public static class JobsApi
{
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/v1/jobs");
        jobs.MapGet("/", ListJobs).RequireAuthorization(AccessPolicies.Read);
        jobs.MapPost("/", CreateJob).RequireAuthorization(AccessPolicies.Write);
        jobs.MapGet("/{id}", GetJob).RequireAuthorization(AccessPolicies.Read);
        jobs.MapPatch("/{id}", UpdateJob).RequireAuthorization(AccessPolicies.Write);
        jobs.MapDelete("/{id}", DeleteJob).RequireAuthorization(AccessPolicies.Write);
        jobs.MapPost("/{id}/metrics", RecordSample).RequireAuthorization(AccessPolicies.Ingest).RequireIngestAdmission(IngestRoute.Single);
        jobs.MapGet("/{id}/metrics", GetSamples).RequireAuthorization(AccessPolicies.Read);
        jobs.MapGet("/{id}/audit", GetAudit).RequireAuthorization(AccessPolicies.Read);
        return app;
    }

    public static async Task<Results<Ok<JobListResponse>, JsonHttpResult<ErrorResponse>>> ListJobs(
        HttpRequest request, IJobQueries index, TimeProvider time, CancellationToken cancellationToken)
    {
        if (JobListQuery.Parse(request.Query, out var error) is not { } query)
        {
            return ApiErrors.From(error!);
        }

        var page = await index.ListAsync(query, cancellationToken);
        var now = time.GetUtcNow();
        return TypedResults.Ok(new JobListResponse(
            [.. page.Jobs.Select(job => JobResponse.From(job, now))], page.Total, query.Limit, query.Offset));
    }

    public static async Task<Results<Created<JobResponse>, JsonHttpResult<ErrorResponse>>> CreateJob(
        HttpContext http, IGrainFactory grains, IOptions<ApiOptions> options, TimeProvider time)
    {
        if (WriteHeaders.Read(http, out var error) is not { } context)
        {
            return ApiErrors.From(error!);
        }

        var (document, bodyError) = await RequestBody.ReadAsync(http.Request, options.Value.MaxBodyBytes);
        using var body = document;
        if (body is null || CreateJobRequest.Parse(body.RootElement, out bodyError) is not { } parsed)
        {
            return ApiErrors.From(bodyError!);
        }

        var outcome = await grains.GetJob(parsed.Id).CreateAsync(parsed.Command, context);
        return outcome.Kind == OutcomeKind.Created
            ? TypedResults.Created(JobLocation(parsed.Id), JobResponse.From(outcome.Job!, time.GetUtcNow()))
            : ApiErrors.Conflict(outcome.Message!);
    }

    public static async Task<Results<Ok<JobResponse>, JsonHttpResult<ErrorResponse>>> GetJob(
        string id, IGrainFactory grains, TimeProvider time)
    {
        if (JobId.Problem(id) is { } problem)
        {
            return ApiErrors.From(RequestError.Validation("id", problem));
        }

        var outcome = await grains.GetJob(id).GetAsync();
        return ToResult(outcome, time, withAttempts: true);
    }

    public static async Task<Results<Ok<JobResponse>, JsonHttpResult<ErrorResponse>>> UpdateJob(
        string id, HttpContext http, IGrainFactory grains, IOptions<ApiOptions> options, TimeProvider time)
    {
        if (JobId.Problem(id) is { } problem)
        {
            return ApiErrors.From(RequestError.Validation("id", problem));
        }

        if (WriteHeaders.Read(http, out var error) is not { } context)
        {
            return ApiErrors.From(error!);
        }

        var (document, bodyError) = await RequestBody.ReadAsync(http.Request, options.Value.MaxBodyBytes);
        using var body = document;
        if (body is null || UpdateJobRequest.Parse(body.RootElement, out bodyError) is not { } update)
        {
            return ApiErrors.From(bodyError!);
        }

        var outcome = await grains.GetJob(id).UpdateAsync(update, context);
        return ToResult(outcome, time);
    }

    public static async Task<Results<NoContent, JsonHttpResult<ErrorResponse>>> DeleteJob(
        string id, HttpContext http, IGrainFactory grains)
    {
        if (JobId.Problem(id) is { } problem)
        {
            return ApiErrors.From(RequestError.Validation("id", problem));
        }

        if (WriteHeaders.Read(http, out var error) is not { } context)
        {
            return ApiErrors.From(error!);
        }

        return await grains.GetJob(id).DeleteAsync(context) == OutcomeKind.Ok
            ? TypedResults.NoContent()
            : ApiErrors.NotFound($"job '{id}' not found");
    }

    /// <summary>
    /// One sample. A replay of a stored sample (same node and timestamp) answers 201 with the stored
    /// copy, so an agent that retries after a timeout gets the answer it missed.
    /// </summary>
    public static async Task<Results<Created<SampleResponse>, JsonHttpResult<ErrorResponse>>> RecordSample(
        string id, HttpContext http, IGrainFactory grains, IOptions<ApiOptions> options, TimeProvider time)
    {
        if (JobId.Problem(id) is { } problem)
        {
            return ApiErrors.From(RequestError.Validation("id", problem));
        }

        if (WriteHeaders.Read(http, out var error) is not { } context)
        {
            return ApiErrors.From(error!);
        }

        var (document, bodyError) = await RequestBody.ReadAsync(http.Request, options.Value.MaxBodyBytes);
        using var body = document;
        if (body is null || SampleRequest.Parse(body.RootElement, time.GetUtcNow(), out bodyError) is not { } sample)
        {
            IngestMetrics.RecordRejected(bodyError!.Code);
            return ApiErrors.From(bodyError);
        }

        var outcome = await grains.GetJob(id).RecordSamplesAsync([sample], context);
        switch (outcome.Kind)
        {
            case OutcomeKind.Created when outcome.Rejected is [var rejection, ..]:
                var refused = SampleRejections.ToError(rejection, time.GetUtcNow());
                IngestMetrics.RecordRejected(refused.Code);
                return ApiErrors.From(refused);
            case OutcomeKind.Created:
                IngestMetrics.RecordAccepted(outcome.Accepted);
                IngestMetrics.RecordDuplicates(outcome.Duplicates);
                return TypedResults.Created("/v1/jobs/" + Uri.EscapeDataString(id) + "/metrics", SampleResponse.From(id, outcome.Sample!));
            case OutcomeKind.NotFound:
                IngestMetrics.RecordRejected(ErrorCodes.NotFound);
                return ApiErrors.NotFound(outcome.Message!);
            case OutcomeKind.Forbidden:
                IngestMetrics.RecordRejected(ErrorCodes.Forbidden);
                return ApiErrors.Forbidden(outcome.Message!);
            default:
                IngestMetrics.RecordRejected(ErrorCodes.Conflict);
                return ApiErrors.Conflict(outcome.Message!);
        }
    }

    public static async Task<Results<Ok<SampleHistoryResponse>, JsonHttpResult<ErrorResponse>>> GetSamples(
        string id, HttpRequest request, IJobQueries index, ISampleHistory samples, CancellationToken cancellationToken)
    {
        if (JobId.Problem(id) is { } problem)
        {
            return ApiErrors.From(RequestError.Validation("id", problem));
        }

        if (SampleHistoryQuery.Parse(request.Query, out var error) is not { } range)
        {
            return ApiErrors.From(error!);
        }

        if (!await index.ExistsAsync(id, cancellationToken))
        {
            return ApiErrors.NotFound($"job '{id}' not found");
        }

        var history = await samples.ReadRangeAsync(id, range.From, range.To, range.Limit, cancellationToken);
        return TypedResults.Ok(new SampleHistoryResponse(
            id, [.. history.Select(sample => SampleResponse.From(id, sample))], history.Count));
    }

    /// <summary>The job's audit log: every change, who asked for it, oldest first.</summary>
    public static async Task<Results<Ok<AuditResponse>, JsonHttpResult<ErrorResponse>>> GetAudit(
        string id, HttpRequest request, IJobQueries index, CancellationToken cancellationToken)
    {
        if (JobId.Problem(id) is { } problem)
        {
            return ApiErrors.From(RequestError.Validation("id", problem));
        }

        if (AuditQuery.Parse(request.Query, out var error) is not { } page)
        {
            return ApiErrors.From(error!);
        }

        if (!await index.ExistsAsync(id, cancellationToken))
        {
            return ApiErrors.NotFound($"job '{id}' not found");
        }

        var audit = await index.ReadAuditAsync(id, page.Limit, page.Offset, cancellationToken);
        return TypedResults.Ok(new AuditResponse(
            id, [.. audit.Entries.Select(AuditEntryResponse.From)], audit.Total, page.Limit, page.Offset));
    }

    private static Results<Ok<JobResponse>, JsonHttpResult<ErrorResponse>> ToResult(
        JobOutcome outcome, TimeProvider time, bool withAttempts = false) =>
        outcome.Kind switch
        {
            OutcomeKind.Ok => TypedResults.Ok(JobResponse.From(outcome.Job!, time.GetUtcNow(), withAttempts)),
            OutcomeKind.NotFound => ApiErrors.NotFound(outcome.Message!),
            _ => ApiErrors.Conflict(outcome.Message!),
        };

    private static string JobLocation(string id) => "/v1/jobs/" + Uri.EscapeDataString(id);
}

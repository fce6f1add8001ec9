using HpcJobs.Api.Contracts;
using HpcJobs.Api.Errors;
using HpcJobs.Api.Ingest;
using HpcJobs.Api.Metrics;
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
        jobs.MapGet("/", ListJobs);
        jobs.MapPost("/", CreateJob);
        jobs.MapGet("/{id}", GetJob);
        jobs.MapPatch("/{id}", UpdateJob);
        jobs.MapDelete("/{id}", DeleteJob);
        jobs.MapPost("/{id}/metrics", RecordSample).RequireIngestAdmission(IngestRoute.Single);
        jobs.MapGet("/{id}/metrics", GetSamples);
        return app;
    }

    public static async Task<Results<Ok<JobListResponse>, JsonHttpResult<ErrorResponse>>> ListJobs(
        HttpRequest request, IJobIndex index, TimeProvider time, CancellationToken cancellationToken)
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
        HttpRequest request, IGrainFactory grains, IOptions<ApiOptions> options, TimeProvider time)
    {
        var (document, error) = await RequestBody.ReadAsync(request, options.Value.MaxBodyBytes);
        using var body = document;
        if (body is null || CreateJobRequest.Parse(body.RootElement, out error) is not { } parsed)
        {
            return ApiErrors.From(error!);
        }

        var outcome = await grains.GetJob(parsed.Id).CreateAsync(parsed.Command);
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
        return ToResult(outcome, time);
    }

    public static async Task<Results<Ok<JobResponse>, JsonHttpResult<ErrorResponse>>> UpdateJob(
        string id, HttpRequest request, IGrainFactory grains, IOptions<ApiOptions> options, TimeProvider time)
    {
        if (JobId.Problem(id) is { } problem)
        {
            return ApiErrors.From(RequestError.Validation("id", problem));
        }

        var (document, error) = await RequestBody.ReadAsync(request, options.Value.MaxBodyBytes);
        using var body = document;
        if (body is null || UpdateJobRequest.Parse(body.RootElement, out error) is not { } update)
        {
            return ApiErrors.From(error!);
        }

        var outcome = await grains.GetJob(id).UpdateAsync(update);
        return ToResult(outcome, time);
    }

    public static async Task<Results<NoContent, JsonHttpResult<ErrorResponse>>> DeleteJob(string id, IGrainFactory grains)
    {
        if (JobId.Problem(id) is { } problem)
        {
            return ApiErrors.From(RequestError.Validation("id", problem));
        }

        return await grains.GetJob(id).DeleteAsync() == OutcomeKind.Ok
            ? TypedResults.NoContent()
            : ApiErrors.NotFound($"job '{id}' not found");
    }

    public static async Task<Results<Created<SampleResponse>, JsonHttpResult<ErrorResponse>>> RecordSample(
        string id, HttpRequest request, IGrainFactory grains, IOptions<ApiOptions> options, TimeProvider time)
    {
        if (JobId.Problem(id) is { } problem)
        {
            return ApiErrors.From(RequestError.Validation("id", problem));
        }

        var (document, error) = await RequestBody.ReadAsync(request, options.Value.MaxBodyBytes);
        using var body = document;
        if (body is null || SampleRequest.Parse(body.RootElement, time.GetUtcNow(), out error) is not { } sample)
        {
            IngestMetrics.RecordRejected(error!.Code);
            return ApiErrors.From(error);
        }

        var outcome = await grains.GetJob(id).RecordSampleAsync(sample);
        switch (outcome.Kind)
        {
            case OutcomeKind.Created:
                IngestMetrics.RecordAccepted();
                return TypedResults.Created(JobLocation(id) + "/metrics", SampleResponse.From(id, outcome.Sample!));
            case OutcomeKind.NotFound:
                IngestMetrics.RecordRejected(ErrorCodes.NotFound);
                return ApiErrors.NotFound(outcome.Message!);
            default:
                IngestMetrics.RecordRejected(ErrorCodes.Conflict);
                return ApiErrors.Conflict(outcome.Message!);
        }
    }

    public static async Task<Results<Ok<SampleHistoryResponse>, JsonHttpResult<ErrorResponse>>> GetSamples(
        string id, HttpRequest request, IJobIndex index, ISampleLog samples, CancellationToken cancellationToken)
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

    private static Results<Ok<JobResponse>, JsonHttpResult<ErrorResponse>> ToResult(JobOutcome outcome, TimeProvider time) =>
        outcome.Kind switch
        {
            OutcomeKind.Ok => TypedResults.Ok(JobResponse.From(outcome.Job!, time.GetUtcNow())),
            OutcomeKind.NotFound => ApiErrors.NotFound(outcome.Message!),
            _ => ApiErrors.Conflict(outcome.Message!),
        };

    private static string JobLocation(string id) => "/v1/jobs/" + Uri.EscapeDataString(id);
}

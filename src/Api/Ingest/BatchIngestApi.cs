using HpcJobs.Api.Contracts;
using HpcJobs.Api.Errors;
using HpcJobs.Api.Metrics;
using HpcJobs.Api.Security;
using HpcJobs.Grains;
using HpcJobs.Grains.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace HpcJobs.Api.Ingest;

/// <summary>
/// <c>POST /v1/metrics</c>: a node agent's samples for many jobs in one request. Samples are
/// grouped by job and each job's grain appends its group in order; the answer comes after every
/// accepted sample has been committed.
/// </summary>
public static class BatchIngestApi
{
    public static IEndpointRouteBuilder MapBatchIngestApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/metrics", IngestBatch).RequireAuthorization(AccessPolicies.Ingest).RequireIngestAdmission(IngestRoute.Batch);
        return app;
    }

    public static async Task<Results<Ok<BatchIngestResponse>, JsonHttpResult<ErrorResponse>>> IngestBatch(
        HttpContext http, IGrainFactory grains, IOptions<ApiOptions> options, ITransientFailures transient, TimeProvider time)
    {
        if (WriteHeaders.Read(http, out var error) is not { } context)
        {
            return ApiErrors.From(error!);
        }

        var (document, bodyError) = await RequestBody.ReadAsync(http.Request, options.Value.MaxBatchBodyBytes);
        using var body = document;
        if (body is null || BatchSampleRequest.Parse(body.RootElement, time.GetUtcNow(), out bodyError) is not { } batch)
        {
            return ApiErrors.From(bodyError!);
        }

        var groups = batch.Jobs;
        var outcomes = new Task<SampleOutcome>[groups.Count];
        for (var i = 0; i < groups.Count; i++)
        {
            outcomes[i] = AppendAsync(grains, groups[i], context, transient);
        }

        await Task.WhenAll(outcomes);

        var now = time.GetUtcNow();
        var rejected = batch.Rejected;
        long accepted = 0, duplicates = 0;
        for (var i = 0; i < groups.Count; i++)
        {
            var (group, outcome) = (groups[i], outcomes[i].Result);
            if (outcome.Kind == OutcomeKind.Created)
            {
                accepted += outcome.Accepted;
                duplicates += outcome.Duplicates;
                foreach (var refused in outcome.Rejected ?? [])
                {
                    rejected.Add(SampleRejections.ToBatch(group.Indexes[refused.Index], refused, now));
                }

                continue;
            }

            var code = outcome.Kind switch
            {
                OutcomeKind.NotFound => ErrorCodes.NotFound,
                OutcomeKind.Conflict => ErrorCodes.Conflict,
                OutcomeKind.Forbidden => ErrorCodes.Forbidden,
                OutcomeKind.Unavailable => ErrorCodes.Unavailable,
                _ => throw new InvalidOperationException($"unexpected outcome {outcome.Kind} from RecordSamplesAsync"),
            };
            rejected.AddRange(group.Indexes.Select(index => new BatchRejection(index, code, outcome.Message ?? code)));
        }

        rejected.Sort(static (a, b) => a.Index.CompareTo(b.Index));
        IngestMetrics.RecordAccepted(accepted);
        IngestMetrics.RecordDuplicates(duplicates);
        foreach (var rejection in rejected)
        {
            IngestMetrics.RecordRejected(rejection.Error);
        }

        return TypedResults.Ok(new BatchIngestResponse(accepted, duplicates, rejected));
    }

    private static async Task<SampleOutcome> AppendAsync(IGrainFactory grains, BatchJob group, WriteContext context, ITransientFailures transient)
    {
        try
        {
            return await grains.GetJob(group.JobId).RecordSamplesAsync(group.Samples, context);
        }
        catch (Exception e) when (transient.IsTransient(e) || e is SiloUnavailableException or OrleansMessageRejectionException)
        {
            // This job's samples were not stored (a storage outage, or the grain call timed out); the
            // others' may have been. Say which, and let the agent retry them: replays are harmless.
            return new SampleOutcome(OutcomeKind.Unavailable, null, $"storage unavailable: {e.Message}");
        }
    }
}

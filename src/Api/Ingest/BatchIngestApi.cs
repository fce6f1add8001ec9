using HpcJobs.Api.Contracts;
using HpcJobs.Api.Errors;
using HpcJobs.Api.Metrics;
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
        app.MapPost("/v1/metrics", IngestBatch);
        return app;
    }

    public static async Task<Results<Ok<BatchIngestResponse>, JsonHttpResult<ErrorResponse>>> IngestBatch(
        HttpRequest request, IGrainFactory grains, IOptions<ApiOptions> options, TimeProvider time)
    {
        var (document, error) = await RequestBody.ReadAsync(request, options.Value.MaxBatchBodyBytes);
        using var body = document;
        if (body is null || BatchSampleRequest.Parse(body.RootElement, time.GetUtcNow(), out error) is not { } batch)
        {
            return ApiErrors.From(error!);
        }

        var groups = batch.Valid.GroupBy(item => item.JobId, StringComparer.Ordinal).ToList();
        var outcomes = await Task.WhenAll(groups.Select(group => AppendAsync(grains, group)));

        var rejected = batch.Rejected;
        long accepted = 0;
        foreach (var (group, outcome) in groups.Zip(outcomes))
        {
            if (outcome.Kind == OutcomeKind.Created)
            {
                accepted += group.Count();
                continue;
            }

            var code = outcome.Kind switch
            {
                OutcomeKind.NotFound => ErrorCodes.NotFound,
                OutcomeKind.Conflict => ErrorCodes.Conflict,
                OutcomeKind.Unavailable => ErrorCodes.Unavailable,
                _ => throw new InvalidOperationException($"unexpected outcome {outcome.Kind} from RecordSamplesAsync"),
            };
            rejected.AddRange(group.Select(item => new BatchRejection(item.Index, code, outcome.Message ?? code)));
        }

        rejected.Sort(static (a, b) => a.Index.CompareTo(b.Index));
        IngestMetrics.RecordAccepted(accepted);
        foreach (var rejection in rejected)
        {
            IngestMetrics.RecordRejected(rejection.Error);
        }

        return TypedResults.Ok(new BatchIngestResponse(accepted, rejected));
    }

    private static async Task<SampleOutcome> AppendAsync(IGrainFactory grains, IGrouping<string, BatchItem> group)
    {
        try
        {
            return await grains.GetJob(group.Key).RecordSamplesAsync([.. group.Select(item => item.Sample)]);
        }
        catch (StorageUnavailableException e)
        {
            // This job's samples were not stored; the others' may have been. Say which, and let the agent retry them.
            return new SampleOutcome(OutcomeKind.Unavailable, null, $"storage unavailable: {e.Message}");
        }
    }
}

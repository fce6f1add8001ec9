using System.Text.Json;
using HpcJobs.Grains;

namespace HpcJobs.Api.Contracts;

/// <summary>One valid sample of a batch, with its position in the request.</summary>
public sealed record BatchItem(int Index, string JobId, UsageSample Sample);

/// <summary><c>POST /v1/metrics</c>: each sample is checked on its own; the batch fails only when its shape is wrong.</summary>
public static class BatchSampleRequest
{
    private static readonly FieldNames ItemNames = new(["job_id", .. SampleRequest.FieldList]);

    public static (List<BatchItem> Valid, List<BatchRejection> Rejected)? Parse(JsonElement root, DateTimeOffset now, out RequestError? error)
    {
        error = null;
        if (root.ValueKind != JsonValueKind.Object || !TryGetSamples(root, out var samples))
        {
            error = RequestError.Validation("samples", "must be an array of sample objects");
            return null;
        }

        var count = samples.GetArrayLength();
        if (count > Limits.MaxBatchSamples)
        {
            error = new RequestError(413, ErrorCodes.PayloadTooLarge, $"a batch holds at most {Limits.MaxBatchSamples} samples, got {count}");
            return null;
        }

        var valid = new List<BatchItem>(count);
        var rejected = new List<BatchRejection>();
        var index = 0;
        foreach (var item in samples.EnumerateArray())
        {
            if (SampleFastPath.TryRead(item, withJobId: true, now, out var validId, out var validSample))
            {
                valid.Add(new BatchItem(index++, validId!, validSample!));
                continue;
            }

            var fields = Fields.Read(item, ItemNames);
            var jobId = fields.Text("job_id", required: true);
            if (jobId is not null && JobId.Problem(jobId) is { } problem)
            {
                fields.Fail("job_id", problem);
            }

            var sample = fields.HasErrors ? null : SampleRequest.Read(fields, now);
            if (fields.Error is { } itemError)
            {
                rejected.Add(new BatchRejection(index, itemError.Code, itemError.Message));
            }
            else
            {
                valid.Add(new BatchItem(index, jobId!, sample!));
            }

            index++;
        }

        return (valid, rejected);
    }

    private static bool TryGetSamples(JsonElement root, out JsonElement samples)
    {
        samples = default;
        var found = 0;
        foreach (var property in root.EnumerateObject())
        {
            if (property.NameEquals("samples"))
            {
                samples = property.Value;
                found++;
            }
        }

        return found == 1 && samples.ValueKind == JsonValueKind.Array;
    }
}

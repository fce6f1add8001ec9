using System.Buffers;
using System.Text.Json;
using HpcJobs.Grains;

namespace HpcJobs.Api.Contracts;

/// <summary>One job's valid samples of a batch, in request order, with each one's position in the request.</summary>
public sealed class BatchJob(string jobId, UsageSample[] samples, int[] indexes)
{
    public string JobId { get; } = jobId;

    public UsageSample[] Samples { get; } = samples;

    public int[] Indexes { get; } = indexes;
}

/// <summary>A batch's valid samples by job, the jobs in order of first appearance, and the samples refused one by one.</summary>
public sealed record ParsedBatch(IReadOnlyList<BatchJob> Jobs, List<BatchRejection> Rejected);

/// <summary>
/// <c>POST /v1/metrics</c>: each sample is checked on its own; the batch fails only when its shape is
/// wrong. The valid samples come grouped by job, each group's arrays of exactly its size (a batch's
/// samples are read once into pooled room, counted per job, then placed), so that parsing a batch
/// allocates little beyond the samples themselves.
/// </summary>
public static class BatchSampleRequest
{
    private static readonly FieldNames ItemNames = new(["job_id", .. SampleRequest.FieldList]);

    public static ParsedBatch? Parse(JsonElement root, DateTimeOffset now, out RequestError? error)
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

        var jobs = new BatchJobIds();
        var rejected = new List<BatchRejection>();
        var items = ArrayPool<Item>.Shared.Rent(count);
        var valid = 0;
        try
        {
            var index = 0;
            foreach (var item in samples.EnumerateArray())
            {
                if (SampleFastPath.TryRead(item, jobs, now, out var validJob, out var validSample))
                {
                    items[valid++] = new Item(index++, validJob, validSample!);
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
                    items[valid++] = new Item(index, jobs.Add(jobId!), sample!);
                }

                index++;
            }

            return new ParsedBatch(Group(items.AsSpan(0, valid), jobs), rejected);
        }
        finally
        {
            items.AsSpan(0, valid).Clear();
            ArrayPool<Item>.Shared.Return(items);
        }
    }

    /// <summary>Each job's samples in request order; a job named only by refused samples has no group.</summary>
    private static BatchJob[] Group(ReadOnlySpan<Item> items, BatchJobIds jobs)
    {
        var counts = ArrayPool<int>.Shared.Rent(jobs.Count);
        try
        {
            var sizes = counts.AsSpan(0, jobs.Count);
            sizes.Clear();
            foreach (var item in items)
            {
                sizes[item.Job]++;
            }

            // Null for a job named only by refused samples, until the end.
            var groups = new BatchJob[jobs.Count];
            var named = 0;
            for (var job = 0; job < sizes.Length; job++)
            {
                if (sizes[job] > 0)
                {
                    groups[job] = new BatchJob(jobs[job], new UsageSample[sizes[job]], new int[sizes[job]]);
                    named++;
                }

                sizes[job] = 0; // from here on, how many of the job's samples are placed
            }

            foreach (var item in items)
            {
                var group = groups[item.Job];
                var at = sizes[item.Job]++;
                group.Samples[at] = item.Sample;
                group.Indexes[at] = item.Index;
            }

            return named == groups.Length ? groups : [.. groups.Where(group => group is not null)];
        }
        finally
        {
            ArrayPool<int>.Shared.Return(counts);
        }
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

    /// <summary>A valid sample, its position in the request and its job's number in <see cref="BatchJobIds"/>.</summary>
    private readonly record struct Item(int Index, int Job, UsageSample Sample);
}

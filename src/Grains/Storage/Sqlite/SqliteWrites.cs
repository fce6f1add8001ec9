using System.Text;
using System.Text.Json;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// The hot path: samples of one job queued for the batch's multi-row insert; the jobs row is updated
/// once per batch. The result says which samples were already stored.
/// </summary>
internal sealed class SampleWrite(string jobId, IReadOnlyList<UsageSample> samples, JobUsage usage) : SqliteWrite<AppendResult>
{
    private static readonly byte[] NoNode = [];

    private readonly byte[] _jobIdUtf8 = Encoding.UTF8.GetBytes(jobId);
    private AppendResult? _duplicates;

    public string JobId => jobId;

    public JobUsage Usage => usage;

    public override void Apply(SqliteWriteContext context)
    {
        // Applied again alone after a failed batch: start from nothing.
        _duplicates = null;
        byte[]? node = null;
        string? nodeName = null;
        for (var i = 0; i < samples.Count; i++)
        {
            var sample = samples[i];
            if (sample.Node != nodeName || node is null)
            {
                nodeName = sample.Node;
                node = nodeName is null ? NoNode : Encoding.UTF8.GetBytes(nodeName);
            }

            context.AddSample(this, i, _jobIdUtf8, node, sample);
        }
    }

    public override void Complete()
    {
        Result = _duplicates ?? AppendResult.AllStored;
        base.Complete();
    }

    public void MarkDuplicate(int index, UsageSample stored)
    {
        _duplicates ??= AppendResult.WithDuplicates(samples.Count);
        _duplicates.MarkDuplicate(index, stored);
    }
}

/// <summary>Any other write, expressed as a function of the writer's context.</summary>
internal sealed class DelegateWrite<TResult>(Func<SqliteWriteContext, TResult> apply) : SqliteWrite<TResult>
{
    public override void Apply(SqliteWriteContext context)
    {
        context.FlushSamples();
        Result = apply(context);
    }
}

using System.Text;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// The hot path: samples of one job queued for the batch's multi-row insert; the jobs row is updated
/// once per batch. The result says which samples were already stored.
/// </summary>
internal sealed class SampleWrite(string jobId, IReadOnlyList<UsageSample> samples, JobUsage usage) : SqliteWrite<AppendResult>
{
    private static readonly byte[] NoNode = [];

    private readonly SampleAppend _append = new(jobId, samples, usage);
    private readonly byte[] _jobIdUtf8 = Encoding.UTF8.GetBytes(jobId);

    public override void Apply(SqliteWriteContext context)
    {
        _append.Reset();
        byte[]? node = null;
        string? nodeName = null;
        for (var i = 0; i < samples.Count; i++)
        {
            if (samples[i].Node != nodeName || node is null)
            {
                nodeName = samples[i].Node;
                node = nodeName is null ? NoNode : Encoding.UTF8.GetBytes(nodeName);
            }

            context.AddSample(_append, i, _jobIdUtf8, node);
        }
    }

    public override void Complete()
    {
        Result = _append.Result;
        base.Complete();
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

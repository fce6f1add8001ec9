using System.Text;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// The hot path: samples of one job queued for the batch's multi-row insert; the jobs row is updated
/// once per batch. The result says which samples were already stored.
/// </summary>
internal sealed class SampleWrite(string jobId, IReadOnlyList<UsageSample> samples, JobUsage usage)
    : SampleAppend(jobId, samples, usage), ISqliteWrite<AppendResult>
{
    private static readonly byte[] NoNode = [];

    private readonly byte[] _jobIdUtf8 = Encoding.UTF8.GetBytes(jobId);

    public void Apply(SqliteWriteContext context)
    {
        Reset();
        byte[]? node = null;
        string? nodeName = null;
        for (var i = 0; i < Samples.Count; i++)
        {
            if (Samples[i].Node != nodeName || node is null)
            {
                nodeName = Samples[i].Node;
                node = nodeName is null ? NoNode : Encoding.UTF8.GetBytes(nodeName);
            }

            context.AddSample(this, i, _jobIdUtf8, node);
        }
    }
}

/// <summary>Any other write, expressed as a function of the writer's context.</summary>
internal sealed class DelegateWrite<TResult>(Func<SqliteWriteContext, TResult> apply) : GroupWrite<TResult>, ISqliteWrite<TResult>
{
    public void Apply(SqliteWriteContext context)
    {
        context.FlushSamples();
        Result = apply(context);
    }
}

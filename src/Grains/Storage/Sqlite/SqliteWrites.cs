namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// The hot path: samples of one job queued for the batch's multi-row insert under the job's key; the
/// jobs row is updated once per batch. The result says which samples were already stored.
/// </summary>
internal sealed class SampleWrite(string jobId, IReadOnlyList<UsageSample> samples, JobUsage usage)
    : SampleAppend(jobId, samples, usage), ISqliteWrite<AppendResult>
{
    public void Apply(SqliteWriteContext context)
    {
        Reset();
        if (Samples.Count == 0)
        {
            context.TouchRow(Usage);
            return;
        }

        var jobKey = Usage.JobKey;
        long nodeKey = 0;
        string? nodeName = null;
        for (var i = 0; i < Samples.Count; i++)
        {
            if (i == 0 || Samples[i].Node != nodeName)
            {
                nodeName = Samples[i].Node;
                nodeKey = context.NodeKey(nodeName);
            }

            context.AddSample(this, i, jobKey, nodeKey);
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

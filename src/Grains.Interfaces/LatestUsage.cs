namespace HpcJobs.Grains;

/// <summary>
/// What a job's "latest usage" is, in one place. Per source (a node, or the whole job when the
/// sample names no node) the newest sample wins (a later arrival wins a tie) and a sample without
/// GPU keeps the last GPU value reported. Across the nodes of a multi-node job, the latest usage is
/// the mean CPU and GPU and the summed memory of the nodes whose newest sample is at most
/// <c>window</c> older than the job's newest one; a whole-job sample newer than every node's stands alone.
/// </summary>
public static class LatestUsage
{
    public static UsageSample Merge(UsageSample? current, UsageSample next)
    {
        if (current is not null && next.Timestamp < current.Timestamp)
        {
            return current;
        }

        return next.GpuUsage is null && current?.GpuUsage is { } gpu ? next with { GpuUsage = gpu } : next;
    }

    /// <summary>
    /// The job's latest usage from the newest whole-job sample and the newest sample of each node.
    /// Null when there is none.
    /// </summary>
    public static UsageSample? Combine(UsageSample? wholeJob, IReadOnlyList<UsageSample> byNode, TimeSpan window)
    {
        if (byNode.Count == 0)
        {
            return wholeJob;
        }

        var newest = byNode[0];
        for (var i = 1; i < byNode.Count; i++)
        {
            if (byNode[i].Timestamp > newest.Timestamp)
            {
                newest = byNode[i];
            }
        }

        if (wholeJob is not null && wholeJob.Timestamp >= newest.Timestamp)
        {
            return wholeJob;
        }

        if (byNode.Count == 1)
        {
            return newest with { Node = null };
        }

        var oldest = newest.Timestamp - window;
        double cpu = 0, gpu = 0;
        long memory = 0;
        int counted = 0, withGpu = 0;
        foreach (var sample in byNode)
        {
            if (sample.Timestamp < oldest)
            {
                continue;
            }

            counted++;
            cpu += sample.CpuUsage;
            memory += sample.MemoryUsageMb;
            if (sample.GpuUsage is { } g)
            {
                gpu += g;
                withGpu++;
            }
        }

        return new UsageSample(
            newest.Timestamp,
            cpu / counted,
            memory,
            withGpu > 0 ? gpu / withGpu : null);
    }
}

namespace HpcJobs.Grains;

/// <summary>
/// What a job's "latest usage" is, in one place: the sample with the newest timestamp (a later
/// arrival wins a tie); a sample without GPU keeps the last GPU value reported.
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
}

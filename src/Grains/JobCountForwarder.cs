namespace HpcJobs.Grains;

/// <summary>Sends each lifecycle change of a job on this silo to the cluster's job-count grain.</summary>
public sealed class JobCountForwarder(IGrainFactory grains, TimeProvider time) : IJobObserverPart
{
    private IJobStatsGrain Stats => grains.GetGrain<IJobStatsGrain>(0);

    public void OnCreated(JobView job) => _ = Stats.ApplyAsync(new JobCountDelta(null, job.State, Created: true, time.GetUtcNow()));

    public void OnChanged(JobView job)
    {
    }

    public void OnUsageChanged(string jobId, JobUsageChange change)
    {
    }

    public void OnTransition(JobView job, JobState from) => _ = Stats.ApplyAsync(new JobCountDelta(from, job.State, Created: false, time.GetUtcNow()));

    public void OnDeleted(JobView job) => _ = Stats.ApplyAsync(new JobCountDelta(job.State, null, Created: false, time.GetUtcNow()));

    public void OnDeactivated(string jobId)
    {
    }
}

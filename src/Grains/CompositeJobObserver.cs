namespace HpcJobs.Grains;

/// <summary>Fans one notification out to every registered observer.</summary>
public sealed class CompositeJobObserver(IEnumerable<IJobObserverPart> parts) : IJobObserver
{
    private readonly IJobObserverPart[] _parts = [.. parts];

    public void OnCreated(JobView job)
    {
        foreach (var part in _parts)
        {
            part.OnCreated(job);
        }
    }

    public void OnChanged(JobView job)
    {
        foreach (var part in _parts)
        {
            part.OnChanged(job);
        }
    }

    public void OnUsageChanged(string jobId, JobUsageChange change)
    {
        foreach (var part in _parts)
        {
            part.OnUsageChanged(jobId, change);
        }
    }

    public void OnTransition(JobView job, JobState from)
    {
        foreach (var part in _parts)
        {
            part.OnTransition(job, from);
        }
    }

    public void OnDeleted(JobView job)
    {
        foreach (var part in _parts)
        {
            part.OnDeleted(job);
        }
    }

    public void OnDeactivated(string jobId)
    {
        foreach (var part in _parts)
        {
            part.OnDeactivated(jobId);
        }
    }
}

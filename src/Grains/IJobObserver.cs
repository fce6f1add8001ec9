namespace HpcJobs.Grains;

/// <summary>
/// Silo-local notifications from job grains, called on the grain's turn: what the Prometheus
/// exporter and the per-state counts follow. Implementations must be fast and must not throw.
/// </summary>
public interface IJobObserver
{
    void OnCreated(JobView job);

    /// <summary>The grain activated with this view, or the job's latest usage changed.</summary>
    void OnChanged(JobView job);

    void OnTransition(JobView job, JobState from);

    void OnDeleted(JobView job);

    void OnDeactivated(string jobId);
}

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

/// <summary>A registered participant of <see cref="CompositeJobObserver"/>.</summary>
public interface IJobObserverPart : IJobObserver;

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

/// <summary>One of the silo's registered observers: each gets every notification the grains send.</summary>
public interface IJobObserverPart : IJobObserver;

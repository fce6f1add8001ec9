namespace HpcJobs.Grains;

/// <summary>
/// Silo-local notifications from job grains, called on the grain's turn: what the Prometheus
/// exporter and the per-state counts follow. Implementations must be fast and must not throw.
/// </summary>
public interface IJobObserver
{
    void OnCreated(JobView job);

    /// <summary>The grain activated with this view, or an event changed it without a transition.</summary>
    void OnChanged(JobView job);

    /// <summary>
    /// A committed sample changed the job's latest usage, and with it the judged summary and flags;
    /// nothing else changed since the last view given. Called per sample, so the grain builds no
    /// view for it and an observer updates what it holds for the job in place.
    /// </summary>
    void OnUsageChanged(string jobId, JobUsageChange change);

    void OnTransition(JobView job, JobState from);

    void OnDeleted(JobView job);

    void OnDeactivated(string jobId);
}

/// <summary>One of the silo's registered observers: each gets every notification the grains send.</summary>
public interface IJobObserverPart : IJobObserver;

/// <summary>
/// What a committed sample changes in a job's view: <see cref="JobView.Latest"/>, the summary's
/// <see cref="JobSummary.LastSampleAt"/> (all of the summary an observer needs, so none is built per
/// commit) and <see cref="JobView.Flags"/>.
/// </summary>
public readonly record struct JobUsageChange(UsageSample Latest, DateTimeOffset? LastSampleAt, IReadOnlyList<string> Flags);

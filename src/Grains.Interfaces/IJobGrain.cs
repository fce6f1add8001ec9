using Orleans.Concurrency;

namespace HpcJobs.Grains;

/// <summary>One job: the only writer of its lifecycle and of its samples. Keyed by the job id.</summary>
[Alias("hpc.IJobGrain")]
public interface IJobGrain : IGrainWithStringKey
{
    [Alias("Create")]
    Task<JobOutcome> CreateAsync(CreateJob command, WriteContext context);

    [Alias("Get"), ReadOnly]
    Task<JobOutcome> GetAsync();

    [Alias("Update")]
    Task<JobOutcome> UpdateAsync(UpdateJob command, WriteContext context);

    /// <summary>A Slurm prolog's event: creates, updates or requeues the job; a replay changes nothing.</summary>
    [Alias("Started")]
    Task<EventOutcome> StartedAsync(JobStarted started, WriteContext context);

    /// <summary>A Slurm epilog's event (or the reconciler's): ends the job's current attempt; a replay changes nothing.</summary>
    [Alias("Finished")]
    Task<EventOutcome> FinishedAsync(JobFinished finished, WriteContext context);

    [Alias("Delete")]
    Task<OutcomeKind> DeleteAsync(WriteContext context);

    /// <summary>
    /// Appends samples in order; completes after they have been committed. Each sample is stored,
    /// found already stored (a duplicate: same node and timestamp), or refused (outside the time
    /// window, a node the job does not have, or not the caller's node); <see cref="SampleOutcome.Sample"/>
    /// is the stored copy of the last sample that was not refused.
    /// <para>
    /// <paramref name="samples"/> is <c>[Immutable]</c>: a call within the silo would otherwise copy the
    /// list (the samples themselves are immutable) on every call; the callers never change a list
    /// they have passed, and the grain only reads it.
    /// </para>
    /// </summary>
    [Alias("RecordSamples"), AlwaysInterleave]
    Task<SampleOutcome> RecordSamplesAsync([Immutable] IReadOnlyList<UsageSample> samples, WriteContext context);

    /// <summary>
    /// Activates the job if it is not, so that its series are exported again after its activation was
    /// lost (a silo left). Not an activity: it does not keep a stale job alive.
    /// </summary>
    [Alias("Recover")]
    Task RecoverAsync();

    /// <summary>
    /// The silo's stale-job sweep found the job past its stale limit: a pending or running job that
    /// still is leaves memory and the exporter (its stored state unchanged). Not an activity.
    /// </summary>
    [Alias("DeactivateIfStale")]
    Task DeactivateIfStaleAsync();

    /// <summary>The most recent samples held in memory, oldest first.</summary>
    [Alias("GetRecentSamples"), ReadOnly]
    Task<IReadOnlyList<UsageSample>> GetRecentSamplesAsync();
}

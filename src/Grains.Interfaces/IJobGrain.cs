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

    /// <summary>
    /// The reconciler's end of a lost job (its nodes kept reporting without listing it): a job still
    /// running with the start it was judged by (<paramref name="startTime"/>; a requeue starts anew)
    /// becomes failed with scheduler <c>raw_state</c> <c>LOST</c>. Ok when it was ended by this call;
    /// Conflict when it is no longer that running job; NotFound.
    /// </summary>
    [Alias("EndLost")]
    Task<JobOutcome> EndLostAsync(DateTimeOffset startTime, WriteContext context);

    [Alias("Delete")]
    Task<OutcomeKind> DeleteAsync(WriteContext context);

    /// <summary>
    /// Appends samples in order; completes after they have been committed. Each sample is stored,
    /// found already stored (a duplicate: same node and timestamp), or refused (outside the time
    /// window, a node the job does not have, or not the caller's node); <see cref="SampleOutcome.Sample"/>
    /// is the stored copy of the last sample that was not refused.
    /// </summary>
    [Alias("RecordSamples"), AlwaysInterleave]
    Task<SampleOutcome> RecordSamplesAsync(IReadOnlyList<UsageSample> samples, WriteContext context);

    /// <summary>The most recent samples held in memory, oldest first.</summary>
    [Alias("GetRecentSamples"), ReadOnly]
    Task<IReadOnlyList<UsageSample>> GetRecentSamplesAsync();
}

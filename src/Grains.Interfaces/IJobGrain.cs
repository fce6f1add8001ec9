using Orleans.Concurrency;

namespace HpcJobs.Grains;

/// <summary>One job: the only writer of its lifecycle and of its samples. Keyed by the job id.</summary>
[Alias("hpc.IJobGrain")]
public interface IJobGrain : IGrainWithStringKey
{
    [Alias("Create")]
    Task<JobOutcome> CreateAsync(CreateJob command);

    [Alias("Get"), ReadOnly]
    Task<JobOutcome> GetAsync();

    [Alias("Update")]
    Task<JobOutcome> UpdateAsync(UpdateJob command);

    [Alias("Delete")]
    Task<OutcomeKind> DeleteAsync();

    /// <summary>Appends a sample; completes only after the sample has been committed to the database.</summary>
    [Alias("RecordSample"), AlwaysInterleave]
    Task<SampleOutcome> RecordSampleAsync(UsageSample sample);

    /// <summary>Appends samples in order, all or none; completes after they have been committed.</summary>
    [Alias("RecordSamples"), AlwaysInterleave]
    Task<SampleOutcome> RecordSamplesAsync(IReadOnlyList<UsageSample> samples);

    /// <summary>The most recent samples held in memory, oldest first.</summary>
    [Alias("GetRecentSamples"), ReadOnly]
    Task<IReadOnlyList<UsageSample>> GetRecentSamplesAsync();
}

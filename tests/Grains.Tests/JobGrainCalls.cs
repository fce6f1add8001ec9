namespace HpcJobs.Grains.Tests;

/// <summary>The job grain's calls as the tests make them: on behalf of the service itself.</summary>
internal static class JobGrainCalls
{
    public static Task<JobOutcome> CreateAsync(this IJobGrain job, CreateJob command) => job.CreateAsync(command, WriteContext.Internal);

    public static Task<JobOutcome> UpdateAsync(this IJobGrain job, UpdateJob command) => job.UpdateAsync(command, WriteContext.Internal);

    public static Task<OutcomeKind> DeleteAsync(this IJobGrain job) => job.DeleteAsync(WriteContext.Internal);

    public static Task<SampleOutcome> RecordSampleAsync(this IJobGrain job, UsageSample sample) =>
        job.RecordSamplesAsync([sample], WriteContext.Internal);

    public static Task<SampleOutcome> RecordSamplesAsync(this IJobGrain job, IReadOnlyList<UsageSample> samples) =>
        job.RecordSamplesAsync(samples, WriteContext.Internal);
}

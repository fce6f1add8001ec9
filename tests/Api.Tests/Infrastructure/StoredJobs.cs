using HpcJobs.Grains;
using HpcJobs.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace HpcJobs.Api.Tests.Infrastructure;

/// <summary>A job's stored record, read as its grain's activation reads it, for tests that call the sample log directly.</summary>
public static class StoredJobs
{
    /// <summary>A <see cref="JobUsage"/> of the job carrying its row's key, as the grain hands one to the sample log.</summary>
    public static async Task<JobUsage> UsageAsync(IServiceProvider services, string jobId)
    {
        var storage = services.GetRequiredKeyedService<IGrainStorage>(StorageNames.JobState);
        var state = new GrainState<JobRecord>();
        await storage.ReadStateAsync(StorageNames.JobState, GrainId.Create("job", JobKey.ToGrainKey(jobId)), state);
        Assert.True(state.RecordExists, $"job {jobId} has no row");
        return new JobUsage(jobId, TimeSpan.FromMinutes(1)) { JobKey = state.State!.Key };
    }
}

namespace HpcJobs.Grains;

/// <summary>The cluster's single retention worker (key 0): deletes samples older than the retention window.</summary>
[Alias("hpc.IRetentionGrain")]
public interface IRetentionGrain : IGrainWithIntegerKey
{
    /// <summary>Makes sure the periodic reminder exists; called by every silo at start.</summary>
    [Alias("Ensure")]
    Task EnsureScheduledAsync();

    /// <summary>Runs one pass now and returns the number of samples deleted.</summary>
    [Alias("RunOnce")]
    Task<long> RunOnceAsync();
}

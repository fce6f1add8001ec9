using Orleans.Concurrency;

namespace HpcJobs.Grains;

/// <summary>A change to the per-state job counts, sent by the silo where it happened after it was committed.</summary>
[GenerateSerializer, Immutable, Alias("hpc.JobCountDelta")]
public sealed record JobCountDelta(
    [property: Id(0)] JobState? Removed,
    [property: Id(1)] JobState? Added,
    [property: Id(2)] bool Created,
    [property: Id(3)] DateTimeOffset CommittedAt);

/// <summary>Jobs stored per state, and jobs ever created.</summary>
[GenerateSerializer, Immutable, Alias("hpc.JobStats")]
public sealed record JobStats(
    [property: Id(0)] IReadOnlyDictionary<JobState, long> ByState,
    [property: Id(1)] long EverCreated);

/// <summary>
/// The cluster's per-state job counts (key 0): rebuilt from the jobs table when it activates and
/// periodically, kept current in between by deltas from the job grains.
/// </summary>
[Alias("hpc.IJobStatsGrain")]
public interface IJobStatsGrain : IGrainWithIntegerKey
{
    [Alias("Apply"), OneWay]
    Task ApplyAsync(JobCountDelta delta);

    [Alias("Get"), ReadOnly]
    Task<JobStats> GetAsync();
}

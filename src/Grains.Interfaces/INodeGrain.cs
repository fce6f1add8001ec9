namespace HpcJobs.Grains;

/// <summary>
/// One compute node, keyed by its name: the only writer of the node's heartbeat state — when it
/// last reported, since when it has reported without a gap, and when it last listed each job.
/// </summary>
[Alias("hpc.INodeGrain")]
public interface INodeGrain : IGrainWithStringKey
{
    /// <summary>Records a heartbeat listing <paramref name="jobs"/> (any names; duplicates are one), received now.</summary>
    [Alias("Heartbeat")]
    Task<NodeView> HeartbeatAsync(IReadOnlyList<string> jobs, WriteContext context);
}

/// <summary>
/// A node's heartbeat state. <see cref="HeartbeatingSince"/> is the first heartbeat of the current
/// run without a gap; <see cref="Jobs"/> are the jobs its last heartbeat listed.
/// </summary>
[GenerateSerializer, Immutable, Alias("hpc.NodeView")]
public sealed record NodeView(
    [property: Id(0)] string Node,
    [property: Id(1)] DateTimeOffset LastHeartbeat,
    [property: Id(2)] DateTimeOffset HeartbeatingSince,
    [property: Id(3)] IReadOnlyList<string> Jobs);

/// <summary>What the node directory knows of one node, for <c>/metrics</c>.</summary>
[GenerateSerializer, Immutable, Alias("hpc.NodeSummary")]
public sealed record NodeSummary(
    [property: Id(0)] string Node,
    [property: Id(1)] DateTimeOffset LastHeartbeat,
    [property: Id(2)] int JobCount);

/// <summary>
/// The cluster's list of nodes and their last heartbeats (key 0), for <c>/metrics</c>: rebuilt from
/// the nodes table when it activates and periodically, kept current in between by each heartbeat.
/// </summary>
[Alias("hpc.INodeDirectoryGrain")]
public interface INodeDirectoryGrain : IGrainWithIntegerKey
{
    [Alias("Apply"), Orleans.Concurrency.OneWay]
    Task ApplyAsync(NodeSummary node);

    [Alias("Get"), Orleans.Concurrency.ReadOnly]
    Task<IReadOnlyList<NodeSummary>> GetAsync();
}

/// <summary>
/// The cluster's one reconciler (key 0): ends running jobs that every one of their nodes has kept
/// reporting without listing for <c>RECONCILE_AFTER_SECONDS</c> (a lost epilog).
/// </summary>
[Alias("hpc.IReconcilerGrain")]
public interface IReconcilerGrain : IGrainWithIntegerKey
{
    /// <summary>Makes sure the periodic pass runs; called by every silo at start.</summary>
    [Alias("Ensure")]
    Task EnsureRunningAsync();

    /// <summary>Runs one pass now and returns the number of jobs it ended.</summary>
    [Alias("RunOnce")]
    Task<int> RunOnceAsync();
}

namespace HpcJobs.Grains.Nodes;

/// <summary>The read of the nodes table that <c>GET /v1/nodes</c> makes.</summary>
public interface INodeQueries
{
    /// <summary>Every node that ever sent a heartbeat, in byte order of its name.</summary>
    Task<IReadOnlyList<NodeView>> ListAsync(CancellationToken cancellationToken);
}

namespace HpcJobs.Grains.Nodes;

/// <summary>The stored nodes as the routes see them: views, not the node grains' state.</summary>
public sealed class NodeQueries(INodeIndex index) : INodeQueries
{
    public async Task<IReadOnlyList<NodeView>> ListAsync(CancellationToken cancellationToken)
    {
        var nodes = await index.ListAsync(cancellationToken).ConfigureAwait(false);
        return [.. nodes.Select(stored => stored.Record.View(stored.Node))];
    }
}

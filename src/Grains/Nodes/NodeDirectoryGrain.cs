using HpcJobs.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace HpcJobs.Grains.Nodes;

/// <summary>
/// The cluster's node list for <c>/metrics</c> (key 0), so that a scrape never reads the database:
/// read from the nodes table when it activates and every 5 minutes (which also covers a heartbeat
/// whose one-way notice was lost with a silo), kept current in between by every heartbeat.
/// </summary>
[GrainType("node-directory")]
public sealed partial class NodeDirectoryGrain(INodeIndex index, ILogger<NodeDirectoryGrain> logger) : Grain, INodeDirectoryGrain
{
    internal static readonly TimeSpan ResyncPeriod = TimeSpan.FromMinutes(5);

    private readonly SortedDictionary<string, NodeSummary> _nodes = new(StringComparer.Ordinal);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await ResyncAsync(cancellationToken).ConfigureAwait(true);
        this.RegisterGrainTimer(
            static (grain, token) => grain.ResyncAsync(token),
            this,
            new GrainTimerCreationOptions { DueTime = ResyncPeriod, Period = ResyncPeriod, Interleave = false });
    }

    public Task ApplyAsync(NodeSummary node)
    {
        if (!_nodes.TryGetValue(node.Node, out var known) || known.LastHeartbeat <= node.LastHeartbeat)
        {
            _nodes[node.Node] = node;
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<NodeSummary>> GetAsync() => Task.FromResult<IReadOnlyList<NodeSummary>>([.. _nodes.Values]);

    private async Task ResyncAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var stored in await index.ListAsync(cancellationToken).ConfigureAwait(true))
            {
                await ApplyAsync(new NodeSummary(stored.Node, stored.Record.LastHeartbeat, stored.Record.CurrentJobs().Count)).ConfigureAwait(true);
            }
        }
        catch (StorageUnavailableException error)
        {
            LogResyncFailed(logger, error);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Nodes could not be re-read from storage; the node list is kept as it was")]
    private static partial void LogResyncFailed(ILogger logger, Exception error);
}

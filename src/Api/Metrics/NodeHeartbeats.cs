using HpcJobs.Grains;
using HpcJobs.Grains.Storage;
using Microsoft.Extensions.Options;

namespace HpcJobs.Api.Metrics;

/// <summary>
/// The node families of <c>/metrics</c>, from the cluster's node directory grain (memory, never the
/// database), reused for a moment between scrapes. One series per node that ever sent a heartbeat.
/// </summary>
public sealed class NodeHeartbeats(IGrainFactory grains, TimeProvider time, IOptions<MetricsOptions> options)
{
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private IReadOnlyList<NodeSummary>? _last;
    private DateTimeOffset _fetched;

    internal async Task WriteAsync(Exposition exposition, CancellationToken cancellationToken)
    {
        var nodes = await GetAsync(cancellationToken);
        if (nodes is null || nodes.Count == 0)
        {
            return;
        }

        var labels = nodes.Select(n => Exposition.Labels(("node", n.Node))).ToArray();
        exposition.Family("hpc_node_last_heartbeat_timestamp_seconds", "gauge",
            "When the service last received the node agent's heartbeat, Unix seconds. Cluster-wide: every silo exports the same value.");
        for (var i = 0; i < nodes.Count; i++)
        {
            exposition.Line("hpc_node_last_heartbeat_timestamp_seconds", labels[i], nodes[i].LastHeartbeat.ToUnixTimeMilliseconds() / 1000.0);
        }

        exposition.Family("hpc_node_heartbeat_jobs", "gauge",
            "Jobs the node's last heartbeat listed (the jobs its agent sees). Cluster-wide: every silo exports the same value.");
        for (var i = 0; i < nodes.Count; i++)
        {
            exposition.Line("hpc_node_heartbeat_jobs", labels[i], nodes[i].JobCount);
        }
    }

    private async Task<IReadOnlyList<NodeSummary>?> GetAsync(CancellationToken cancellationToken)
    {
        if (_last is not null && time.GetUtcNow() - _fetched < options.Value.CountsCacheTime)
        {
            return _last;
        }

        await _refresh.WaitAsync(cancellationToken);
        try
        {
            if (_last is null || time.GetUtcNow() - _fetched >= options.Value.CountsCacheTime)
            {
                _last = await grains.GetGrain<INodeDirectoryGrain>(0).GetAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
                _fetched = time.GetUtcNow();
            }
        }
        catch (Exception error) when (error is TimeoutException or OrleansException or StorageUnavailableException)
        {
            // Serve the last known heartbeats rather than fail the scrape: the directory may be on a
            // silo that just died (it comes back on a survivor at the next call) or reading its table.
        }
        finally
        {
            _refresh.Release();
        }

        return _last;
    }
}

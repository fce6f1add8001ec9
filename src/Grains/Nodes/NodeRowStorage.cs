using System.Globalization;
using Orleans.Storage;

namespace HpcJobs.Grains.Nodes;

/// <summary>
/// A node grain's storage is its row in the nodes table: one small upsert per heartbeat (the listed
/// jobs travel as one JSON column, not one row each), with the row's <c>version</c> as the ETag.
/// </summary>
public abstract class NodeRowStorage : IGrainStorage
{
    /// <summary>The grain storage name the node grain's state is registered under.</summary>
    public const string Name = "nodes";

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var state = Cast(grainState);
        var (record, version) = await ReadAsync(NodeName(grainId)).ConfigureAwait(false);
        state.State = record ?? new NodeRecord();
        state.ETag = record is null ? null : version.ToString(CultureInfo.InvariantCulture);
        state.RecordExists = record is not null;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var state = Cast(grainState);
        var expected = state.ETag is null ? (long?)null : long.Parse(state.ETag, NumberStyles.None, CultureInfo.InvariantCulture);
        var node = NodeName(grainId);
        if (!await WriteAsync(node, state.State!, expected).ConfigureAwait(false))
        {
            throw new InconsistentStateException($"stale version writing node {node}", "unknown", state.ETag ?? "none");
        }

        state.ETag = ((expected ?? 0) + 1).ToString(CultureInfo.InvariantCulture);
        state.RecordExists = true;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        throw new NotSupportedException("nodes are never cleared through their grain");

    /// <summary>The row and its version, or null when the node never sent a heartbeat.</summary>
    protected abstract Task<(NodeRecord? Record, long Version)> ReadAsync(string node);

    /// <summary>
    /// Inserts the row at version 1 when <paramref name="version"/> is null, else rewrites it if it is at
    /// <paramref name="version"/> (and increments it); false when the row is not as expected.
    /// </summary>
    protected abstract Task<bool> WriteAsync(string node, NodeRecord record, long? version);

    private static string NodeName(GrainId grainId) => grainId.Key.ToString()!;

    private static IGrainState<NodeRecord> Cast<T>(IGrainState<T> state) =>
        state as IGrainState<NodeRecord>
        ?? throw new NotSupportedException($"node row storage holds only {nameof(NodeRecord)}, not {typeof(T).Name}");
}

/// <summary>Reads of the nodes table: <c>GET /v1/nodes</c>, the node directory and the reconciler.</summary>
public interface INodeIndex
{
    /// <summary>Every node that ever sent a heartbeat, in byte order of its name.</summary>
    Task<IReadOnlyList<StoredNode>> ListAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Running jobs that started at or before <paramref name="startedBy"/>, with ids greater than
    /// <paramref name="afterId"/> in byte order, at most <paramref name="limit"/>, ascending (keyset pages on
    /// the active-jobs index).
    /// </summary>
    Task<IReadOnlyList<RunningJob>> ListRunningAsync(DateTimeOffset startedBy, string afterId, int limit, CancellationToken cancellationToken);
}

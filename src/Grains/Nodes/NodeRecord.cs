using System.Text.Json;
using System.Text.Json.Serialization;
using HpcJobs.Grains.Storage;

namespace HpcJobs.Grains.Nodes;

/// <summary>
/// A node's heartbeat state as persisted through Orleans grain storage (one row of the nodes table).
/// <see cref="Listed"/> holds, per job, the last heartbeat that listed it; jobs not listed within
/// <c>RECONCILE_AFTER_SECONDS</c> are pruned, so it stays as small as the node's job count.
/// </summary>
[GenerateSerializer, Alias("hpc.NodeRecord")]
public sealed class NodeRecord
{
    [Id(0)]
    public DateTimeOffset LastHeartbeat { get; set; }

    [Id(1)]
    public DateTimeOffset HeartbeatingSince { get; set; }

    [Id(2)]
    public Dictionary<string, DateTimeOffset> Listed { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The jobs the last heartbeat listed, in byte order.</summary>
    public IReadOnlyList<string> CurrentJobs() =>
        [.. Listed.Where(entry => entry.Value == LastHeartbeat).Select(entry => entry.Key).Order(StringComparer.Ordinal)];

    public NodeView View(string node) => new(node, LastHeartbeat, HeartbeatingSince, CurrentJobs());

    /// <summary>The stored form of <see cref="Listed"/>: <c>{"job id": unix microseconds, ...}</c>.</summary>
    public string ListedJson()
    {
        var micros = new Dictionary<string, long>(Listed.Count, StringComparer.Ordinal);
        foreach (var (job, at) in Listed)
        {
            micros[job] = MicrosecondTime.ToUnixMicroseconds(at);
        }

        return JsonSerializer.Serialize(micros, NodeJson.Default.DictionaryStringInt64);
    }

    public static Dictionary<string, DateTimeOffset> ParseListed(string json)
    {
        var micros = JsonSerializer.Deserialize(json, NodeJson.Default.DictionaryStringInt64) ?? [];
        var listed = new Dictionary<string, DateTimeOffset>(micros.Count, StringComparer.Ordinal);
        foreach (var (job, at) in micros)
        {
            listed[job] = MicrosecondTime.FromUnixMicroseconds(at);
        }

        return listed;
    }
}

/// <summary>A stored node, as the reconciler, the directory and <c>GET /v1/nodes</c> read it.</summary>
public sealed record StoredNode(string Node, NodeRecord Record);

/// <summary>A running job as the reconciler reads it from the jobs table: its current attempt, when that started, and its nodes.</summary>
public sealed record RunningJob(string Id, int Attempt, DateTimeOffset StartTime, IReadOnlyList<string> Nodes);

[JsonSerializable(typeof(Dictionary<string, long>))]
internal sealed partial class NodeJson : JsonSerializerContext;

using HpcJobs.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;

namespace HpcJobs.Grains.Nodes;

/// <summary>
/// One node, keyed by its name. Each heartbeat is one write of the node's row (last heartbeat, the
/// start of the current run of heartbeats, and when each job was last listed); then the node
/// directory hears of it for <c>/metrics</c>. Heartbeats of one node are applied one at a time.
/// </summary>
[GrainType("node")]
public sealed partial class NodeGrain(
    [PersistentState("node", NodeRowStorage.Name)] IPersistentState<NodeRecord> record,
    IOptions<ReconcileOptions> options,
    TimeProvider time,
    ILogger<NodeGrain> logger) : Grain, INodeGrain
{
    private string Name => this.GetPrimaryKeyString();

    public async Task<NodeView> HeartbeatAsync(IReadOnlyList<string> jobs, WriteContext context)
    {
        var settings = options.Value;
        var now = MicrosecondTime.Truncate(time.GetUtcNow());
        var previous = record.RecordExists ? record.State : null;
        try
        {
            record.State = Heartbeats.Next(previous, jobs, now, settings.MaxGap, settings.After);
            await record.WriteStateAsync().ConfigureAwait(true);
        }
        catch (InconsistentStateException)
        {
            // Another activation wrote the row (a brief double activation across silos): start from what it stored.
            await record.ReadStateAsync().ConfigureAwait(true);
            record.State = Heartbeats.Next(record.RecordExists ? record.State : null, jobs, now, settings.MaxGap, settings.After);
            await record.WriteStateAsync().ConfigureAwait(true);
        }
        catch
        {
            // Nothing was stored: memory goes back to what is, so the caller's 503 means "no change".
            record.State = previous ?? new NodeRecord();
            throw;
        }

        var view = record.State.View(Name);
        GrainFactory.GetGrain<INodeDirectoryGrain>(0).ApplyAsync(new NodeSummary(Name, view.LastHeartbeat, view.Jobs.Count)).Ignore();
        LogHeartbeat(logger, Name, view.Jobs.Count, context.ChangedBy, context.Source);
        return view;
    }

    [LoggerMessage(Level = LogLevel.Trace, Message = "Node {Node} heartbeat listing {Jobs} jobs from {ChangedBy} ({Source})")]
    private static partial void LogHeartbeat(ILogger logger, string node, int jobs, string changedBy, string source);
}

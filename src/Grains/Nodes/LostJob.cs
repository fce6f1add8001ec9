using System.Text.Json.Nodes;

namespace HpcJobs.Grains.Nodes;

/// <summary>How a job ended by the reconciler is marked: scheduler <c>raw_state</c> <c>LOST</c>, as a scheduler's own state word would be.</summary>
public static class LostJob
{
    public const string RawState = "LOST";

    /// <summary>The job's scheduler object with <c>raw_state</c> set to <see cref="RawState"/> (created when the job had none); other fields kept.</summary>
    public static string WithRawState(string? schedulerJson)
    {
        var scheduler = schedulerJson is null ? null : JsonNode.Parse(schedulerJson) as JsonObject;
        scheduler ??= [];
        scheduler["raw_state"] = RawState;
        return scheduler.ToJsonString();
    }
}

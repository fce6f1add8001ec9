using System.Text.Json;
using HpcJobs.Api.Contracts;
using HpcJobs.Grains;
using HpcJobs.Grains.Storage;

namespace HpcJobs.Api.Events;

/// <summary><c>POST /v1/events/job-started</c>: a Slurm prolog's report that a job runs.</summary>
public static class JobStartedRequest
{
    /// <summary>Slurm's <c>SLURM_RESTART_COUNT</c> will not reach this; a bound keeps <c>attempt</c> an int.</summary>
    public const int MaxRestartCount = 100_000;

    private static readonly FieldNames Names = new(
    [
        "job_id", "user", "node_list", "timestamp", "partition", "account", "qos", "cluster", "time_limit_minutes",
        "restart_count", .. AllocationFields.Event.Names,
    ]);

    public static (string JobId, JobStarted Event)? Parse(JsonElement root, DateTimeOffset now, out RequestError? error)
    {
        var fields = Fields.Read(root, Names);
        var id = EventFields.JobId(fields);
        var user = fields.Text("user", required: true);
        var nodes = ReadNodeList(fields);
        var timestamp = fields.Time("timestamp") ?? MicrosecondTime.Truncate(now);
        var allocation = AllocationFields.Event.Read(fields);
        var partition = fields.Text("partition", required: false);
        var account = fields.Text("account", required: false);
        var qos = fields.Text("qos", required: false);
        var cluster = fields.Text("cluster", required: false);
        var timeLimit = fields.Integer("time_limit_minutes", required: false, 0, SchedulerFields.MaxTimeLimitMinutes);
        var restarts = fields.Integer("restart_count", required: false, 0, MaxRestartCount) ?? 0;
        error = fields.Error;
        return error is null
            ? (id!, new JobStarted(user!, nodes!, timestamp, allocation!, cluster, partition, account, qos, timeLimit, (int)restarts))
            : null;
    }

    /// <summary><c>node_list</c>: an array of names, or one Slurm hostlist expression the service expands.</summary>
    private static IReadOnlyList<string>? ReadNodeList(Fields fields)
    {
        switch (fields.Raw("node_list"))
        {
            case null:
                fields.Fail("node_list", "is required");
                return null;
            case { ValueKind: JsonValueKind.String } text:
                if (!SlurmHostlist.TryExpand(text.GetString()!, Limits.MaxNodes, out var hosts, out var problem))
                {
                    fields.Fail("node_list", $"is not a valid Slurm hostlist: {problem}");
                    return null;
                }

                return hosts;
            case { } array:
                return NodeNames.Read(fields, "node_list", array);
        }
    }
}

/// <summary><c>POST /v1/events/job-finished</c>: a Slurm epilog's report that a job ended.</summary>
public static class JobFinishedRequest
{
    private static readonly FieldNames Names = new(
        "job_id", "timestamp", "final_state", "exit_code", "signal", "raw_state", "restart_count");

    public static (string JobId, JobFinished Event)? Parse(JsonElement root, DateTimeOffset now, out RequestError? error)
    {
        var fields = Fields.Read(root, Names);
        var id = EventFields.JobId(fields);
        var timestamp = fields.Time("timestamp") ?? MicrosecondTime.Truncate(now);
        JobState? final = null;
        if (fields.Text("final_state", required: false) is { } text)
        {
            if (JobStateMachine.TryParse(text, out var state) && state.IsTerminal())
            {
                final = state;
            }
            else
            {
                fields.Fail("final_state", "must be one of completed, failed, cancelled");
            }
        }

        var exitCode = fields.Integer("exit_code", required: false, int.MinValue, int.MaxValue);
        var signal = fields.Integer("signal", required: false, 0, SchedulerFields.MaxSignal);
        var rawState = fields.Text("raw_state", required: false);
        var restarts = fields.Integer("restart_count", required: false, 0, JobStartedRequest.MaxRestartCount);
        error = fields.Error;
        return error is null
            ? (id!, new JobFinished(timestamp, final, (int?)exitCode, (int?)signal, rawState, (int?)restarts))
            : null;
    }
}

internal static class EventFields
{
    public static string? JobId(Fields fields)
    {
        var id = fields.Text("job_id", required: true);
        if (id is not null && Contracts.JobId.Problem(id) is { } problem)
        {
            fields.Fail("job_id", problem);
            return null;
        }

        return id;
    }
}

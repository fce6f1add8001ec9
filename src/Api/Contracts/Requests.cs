using System.Text.Json;
using HpcJobs.Grains;

namespace HpcJobs.Api.Contracts;

/// <summary><c>POST /v1/jobs</c>.</summary>
public static class CreateJobRequest
{
    private static readonly FieldNames Names = new(
        ["id", "user", "nodes", "state", "start_time", "scheduler", "cluster", .. AllocationFields.Job.Names]);

    public static (string Id, CreateJob Command)? Parse(JsonElement root, out RequestError? error)
    {
        var fields = Fields.Read(root, Names);
        var id = fields.Text("id", required: true);
        if (id is not null && JobId.Problem(id) is { } problem)
        {
            fields.Fail("id", problem);
        }

        var user = fields.Text("user", required: true);
        var nodes = ReadNodes(fields);
        var state = JobState.Running;
        if (fields.Text("state", required: false) is { } stateText)
        {
            if (!JobStateMachine.TryParse(stateText, out state) || state.IsTerminal())
            {
                fields.Fail("state", "must be 'pending' or 'running' at creation");
            }
        }

        var start = fields.Time("start_time");
        var scheduler = SchedulerFields.Normalize(fields);
        var allocation = AllocationFields.Job.Read(fields);
        var cluster = fields.Text("cluster", required: false);
        error = fields.Error;
        return error is null ? (id!, new CreateJob(user!, nodes!, state, start, scheduler, allocation, cluster)) : null;
    }

    private static IReadOnlyList<string>? ReadNodes(Fields fields)
    {
        if (fields.Raw("nodes") is not { } raw)
        {
            fields.Fail("nodes", "is required");
            return null;
        }

        return NodeNames.Read(fields, "nodes", raw);
    }
}

/// <summary>A job's node names: an array of 1 to <see cref="Limits.MaxNodes"/> names.</summary>
internal static class NodeNames
{
    public static IReadOnlyList<string>? Read(Fields fields, string name, JsonElement raw)
    {
        if (raw.ValueKind != JsonValueKind.Array || raw.GetArrayLength() is 0 or > Limits.MaxNodes)
        {
            fields.Fail(name, $"must be an array of 1 to {Limits.MaxNodes} node names");
            return null;
        }

        var nodes = new List<string>(raw.GetArrayLength());
        foreach (var item in raw.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String
                || item.GetString() is not { Length: > 0 and <= Limits.MaxTextLength } node
                || node.Contains('\0', StringComparison.Ordinal))
            {
                fields.Fail(name, $"each node must be a string of 1 to {Limits.MaxTextLength} characters, without NUL");
                return null;
            }

            nodes.Add(node);
        }

        return nodes;
    }
}

/// <summary><c>PATCH /v1/jobs/{id}</c>: any of a state and a usage sample.</summary>
public static class UpdateJobRequest
{
    private static readonly FieldNames Names = new("state", "cpu_usage", "memory_usage_mb", "gpu_usage");

    public static UpdateJob? Parse(JsonElement root, out RequestError? error)
    {
        var fields = Fields.Read(root, Names);
        JobState? state = null;
        if (fields.Text("state", required: false) is { } text)
        {
            if (JobStateMachine.TryParse(text, out var parsed))
            {
                state = parsed;
            }
            else
            {
                fields.Fail("state", "must be one of pending, running, completed, failed, cancelled");
            }
        }

        var cpu = fields.Number("cpu_usage", required: false, 0, 100);
        var memory = fields.Integer("memory_usage_mb", required: false, 0, SampleRequest.MaxMemoryMb);
        var gpu = fields.Number("gpu_usage", required: false, 0, 100);
        var update = new UpdateJob(state, cpu, memory, gpu);
        if (state is null && !update.HasUsage && !fields.HasErrors)
        {
            fields.Fail("body", "must contain at least one of state, cpu_usage, memory_usage_mb, gpu_usage");
        }

        error = fields.Error;
        return error is null ? update : null;
    }
}

/// <summary><c>POST /v1/jobs/{id}/metrics</c>.</summary>
public static class SampleRequest
{
    /// <summary>1 EiB in MB: far above any node, far below where a byte count overflows.</summary>
    public const long MaxMemoryMb = 1L << 40;

    /// <summary>The largest count a sample may carry (e.g. <c>oom_kills</c>).</summary>
    public const long MaxCount = int.MaxValue;

    /// <summary>Every field of a sample, shared with the batch items (which add <c>job_id</c>).</summary>
    internal static readonly string[] FieldList =
        ["cpu_usage", "memory_usage_mb", "gpu_usage", "timestamp", "node", "gpu_memory_mb", "memory_peak_mb", "oom_kills"];

    private static readonly FieldNames Names = new(FieldList);

    public static UsageSample? Parse(JsonElement root, DateTimeOffset now, out RequestError? error)
    {
        error = null;
        if (SampleFastPath.TryRead(root, jobs: null, now, out _, out var valid))
        {
            return valid;
        }

        var fields = Fields.Read(root, Names);
        var sample = fields.HasErrors ? null : Read(fields, now);
        error = fields.Error;
        return error is null ? sample : null;
    }

    internal static UsageSample? Read(Fields fields, DateTimeOffset now)
    {
        var cpu = fields.Number("cpu_usage", required: true, 0, 100);
        var memory = fields.Integer("memory_usage_mb", required: true, 0, MaxMemoryMb);
        var gpu = fields.Number("gpu_usage", required: false, 0, 100);
        var timestamp = fields.Time("timestamp") ?? Grains.Storage.MicrosecondTime.Truncate(now);
        var node = fields.Text("node", required: false);
        var gpuMemory = fields.Integer("gpu_memory_mb", required: false, 0, MaxMemoryMb);
        var memoryPeak = fields.Integer("memory_peak_mb", required: false, 0, MaxMemoryMb);
        var oomKills = fields.Integer("oom_kills", required: false, 0, MaxCount);
        return fields.HasErrors
            ? null
            : new UsageSample(timestamp, cpu!.Value, memory!.Value, gpu, node, gpuMemory, memoryPeak, oomKills);
    }
}

/// <summary>The optional <c>scheduler</c> object: known fields checked and stored in snake_case.</summary>
internal static class SchedulerFields
{
    private static readonly FieldNames Names = new(
        "type", "external_job_id", "raw_state", "submit_time", "partition", "account", "qos", "priority", "exit_code",
        "time_limit_minutes", "signal", "extra");

    /// <summary>A year: far beyond any scheduler's limit, far below an overflow.</summary>
    public const long MaxTimeLimitMinutes = 525_600;

    /// <summary>Signals are 1–64 on Linux (128 leaves room for shells' 128+N convention).</summary>
    public const int MaxSignal = 128;

    public static string? Normalize(Fields parent)
    {
        if (parent.Raw("scheduler") is not { } raw)
        {
            return null;
        }

        if (raw.ValueKind != JsonValueKind.Object)
        {
            parent.Fail("scheduler", "must be an object");
            return null;
        }

        var fields = Fields.Read(raw, Names);
        var texts = new[] { "type", "external_job_id", "raw_state", "partition", "account", "qos" }
            .Select(name => (name, value: fields.Text(name, required: false)))
            .ToArray();
        var submit = fields.Time("submit_time");
        var priority = fields.Integer("priority", required: false, long.MinValue, long.MaxValue);
        var exitCode = fields.Integer("exit_code", required: false, int.MinValue, int.MaxValue);
        var timeLimit = fields.Integer("time_limit_minutes", required: false, 0, MaxTimeLimitMinutes);
        var signal = fields.Integer("signal", required: false, 0, MaxSignal);
        var extra = fields.Raw("extra");
        if (extra is { ValueKind: not JsonValueKind.Object })
        {
            fields.Fail("extra", "must be an object");
        }

        foreach (var (name, message) in fields.Errors)
        {
            parent.Fail($"scheduler.{name}", message);
        }

        if (fields.HasErrors)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in texts)
            {
                if (value is not null)
                {
                    writer.WriteString(name, value);
                }
            }

            if (submit is { } time)
            {
                writer.WriteString("submit_time", Json.Rfc3339.Format(time));
            }

            if (priority is { } p)
            {
                writer.WriteNumber("priority", p);
            }

            foreach (var (name, value) in new[] { ("exit_code", exitCode), ("time_limit_minutes", timeLimit), ("signal", signal) })
            {
                if (value is { } number)
                {
                    writer.WriteNumber(name, number);
                }
            }

            if (extra is { } e)
            {
                writer.WritePropertyName("extra");
                e.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}

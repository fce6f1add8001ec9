using System.Text.Json;
using HpcJobs.Api.Json;

namespace HpcJobs.Api.Contracts;

/// <summary><c>POST /v1/nodes/{node}/heartbeat</c>: <c>{"timestamp"?, "jobs": [job id, ...]}</c>.</summary>
public static class HeartbeatRequest
{
    /// <summary>More job ids than any node runs at once; the list is one row, so it is bounded.</summary>
    public const int MaxJobs = 10_000;

    private static readonly FieldNames Names = new("timestamp", "jobs");

    /// <summary>
    /// The listed job ids (unknown ids are fine: they are only names), or null with the 400. The
    /// <c>timestamp</c> (the agent's read time) is checked against the server's clock but not used:
    /// the service judges heartbeats by when it received them, so a node's clock cannot move them.
    /// </summary>
    public static IReadOnlyList<string>? Parse(JsonElement root, DateTimeOffset now, TimeSpan maxSkew, out RequestError? error)
    {
        var fields = Fields.Read(root, Names);
        if (fields.Time("timestamp") is { } timestamp && timestamp > now + maxSkew)
        {
            error = new RequestError(
                400,
                ErrorCodes.ValidationError,
                $"timestamp is more than {maxSkew.TotalSeconds:F0} s ahead of the server's clock (MAX_CLOCK_SKEW_SECONDS)",
                new Dictionary<string, string>
                {
                    ["timestamp"] = $"is more than {maxSkew.TotalSeconds:F0} s ahead of the server's clock (MAX_CLOCK_SKEW_SECONDS); check the node's time synchronisation",
                    ["server_time"] = Rfc3339.Format(now),
                });
            return null;
        }

        var jobs = ReadJobs(fields);
        error = fields.Error;
        return error is null ? jobs : null;
    }

    private static List<string>? ReadJobs(Fields fields)
    {
        if (fields.Errors.ContainsKey("body"))
        {
            return null;
        }

        if (fields.Raw("jobs") is not { } raw)
        {
            fields.Fail("jobs", "is required (an empty array when the node runs no job)");
            return null;
        }

        if (raw.ValueKind != JsonValueKind.Array || raw.GetArrayLength() > MaxJobs)
        {
            fields.Fail("jobs", $"must be an array of at most {MaxJobs} job ids");
            return null;
        }

        var jobs = new List<string>(raw.GetArrayLength());
        var index = 0;
        foreach (var item in raw.EnumerateArray())
        {
            var problem = item.ValueKind == JsonValueKind.String ? JobId.Problem(item.GetString()) : "must be a string";
            if (problem is not null)
            {
                fields.Fail("jobs", $"item {index} {problem}");
                return null;
            }

            jobs.Add(item.GetString()!);
            index++;
        }

        return jobs;
    }
}

/// <summary>Node names, as the <c>{node}</c> of a route: 1–255 printable characters, no control characters.</summary>
public static class NodeName
{
    public static string? Problem(string? node)
    {
        if (string.IsNullOrEmpty(node))
        {
            return "must not be empty";
        }

        if (node.Length > Limits.MaxTextLength)
        {
            return $"must be at most {Limits.MaxTextLength} characters";
        }

        for (var i = 0; i < node.Length; i++)
        {
            var c = node[i];
            if (char.IsHighSurrogate(c) && i + 1 < node.Length && char.IsLowSurrogate(node[i + 1]))
            {
                i++;
                continue;
            }

            if (char.IsControl(c) || char.IsSurrogate(c))
            {
                return "must be printable, without control characters";
            }
        }

        return node.Trim().Length == 0 ? "must not be blank" : null;
    }
}

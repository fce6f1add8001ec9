using System.Globalization;
using HpcJobs.Api.Json;
using HpcJobs.Grains;
using HpcJobs.Grains.Storage;
using Microsoft.AspNetCore.Http;

namespace HpcJobs.Api.Contracts;

/// <summary>Query-string parameters; a parameter given twice or malformed is <c>invalid_request</c>.</summary>
internal sealed class QueryReader(IQueryCollection query)
{
    public RequestError? Error { get; private set; }

    public string? Text(string name)
    {
        if (!Single(name, out var value))
        {
            return null;
        }

        if (value.Length is 0 or > Limits.MaxTextLength || value.Contains('\0', StringComparison.Ordinal))
        {
            Fail(name, $"must be 1 to {Limits.MaxTextLength} characters without NUL");
            return null;
        }

        return value;
    }

    public int Integer(string name, int fallback, int min, int max) => (int)Long(name, fallback, min, max);

    public long Long(string name, long fallback, long min, long max)
    {
        if (!Single(name, out var value))
        {
            return fallback;
        }

        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < min || number > max)
        {
            Fail(name, $"must be a whole number from {min} to {max}");
            return fallback;
        }

        return number;
    }

    public DateTimeOffset? Time(string name)
    {
        if (!Single(name, out var value))
        {
            return null;
        }

        if (!Rfc3339.TryParse(value, out var time))
        {
            Fail(name, "must be an RFC 3339 time such as 2026-01-02T03:04:05Z");
            return null;
        }

        return time;
    }

    public JobState? State(string name)
    {
        if (Text(name) is not { } text)
        {
            return null;
        }

        if (!JobStateMachine.TryParse(text, out var state))
        {
            Fail(name, "must be one of pending, running, completed, failed, cancelled");
            return null;
        }

        return state;
    }

    public void Fail(string name, string message) =>
        Error ??= new RequestError(400, ErrorCodes.InvalidRequest, $"query parameter '{name}' {message}",
            new Dictionary<string, string> { [name] = message });

    private bool Single(string name, out string value)
    {
        value = string.Empty;
        if (!query.TryGetValue(name, out var values))
        {
            return false;
        }

        if (values.Count != 1)
        {
            Fail(name, "must be given once");
            return false;
        }

        value = values[0] ?? string.Empty;
        return true;
    }
}

/// <summary><c>GET /v1/jobs</c>.</summary>
public static class JobListQuery
{
    public static JobQuery? Parse(IQueryCollection query, out RequestError? error)
    {
        var reader = new QueryReader(query);
        var result = new JobQuery(
            reader.State("state"),
            reader.Text("user"),
            reader.Text("node"),
            reader.Integer("limit", Limits.DefaultListLimit, 1, Limits.MaxListLimit),
            reader.Long("offset", 0, 0, long.MaxValue),
            reader.Text("account"),
            reader.Text("partition"),
            reader.Text("cluster"),
            Flag(reader));
        error = reader.Error;
        return error is null ? result : null;
    }

    private static string? Flag(QueryReader reader)
    {
        var flag = reader.Text("flag");
        if (flag is not null && !JobFlags.All.Contains(flag))
        {
            reader.Fail("flag", "must be one of " + string.Join(", ", JobFlags.All));
            return null;
        }

        return flag;
    }
}

/// <summary><c>GET /v1/jobs/{id}/audit</c>.</summary>
public static class AuditQuery
{
    public static (int Limit, long Offset)? Parse(IQueryCollection query, out RequestError? error)
    {
        var reader = new QueryReader(query);
        var limit = reader.Integer("limit", Limits.DefaultListLimit, 1, Limits.MaxListLimit);
        var offset = reader.Long("offset", 0, 0, long.MaxValue);
        error = reader.Error;
        return error is null ? (limit, offset) : null;
    }
}

/// <summary><c>GET /v1/jobs/{id}/metrics</c>.</summary>
public static class SampleHistoryQuery
{
    public static (DateTimeOffset? From, DateTimeOffset? To, int Limit)? Parse(IQueryCollection query, out RequestError? error)
    {
        var reader = new QueryReader(query);
        var from = reader.Time("start_time");
        var to = reader.Time("end_time");
        var limit = reader.Integer("limit", Limits.DefaultHistoryLimit, 1, Limits.MaxHistoryLimit);
        if (reader.Error is null && from > to)
        {
            error = RequestError.Validation("start_time", "must not be after end_time");
            return null;
        }

        error = reader.Error;
        return error is null ? (from, to, limit) : null;
    }
}

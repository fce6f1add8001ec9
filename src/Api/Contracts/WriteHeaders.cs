using HpcJobs.Api.Security;
using HpcJobs.Grains;
using Microsoft.AspNetCore.Http;

namespace HpcJobs.Api.Contracts;

/// <summary>
/// The write headers every write route takes: <c>X-Changed-By</c> (who), <c>X-Source</c> (api,
/// prolog, epilog, agent, reconciler, ...) and <c>X-Correlation-Id</c>; each optional, at most 255
/// printable characters. Without <c>X-Changed-By</c> the caller's token name is recorded.
/// </summary>
public static class WriteHeaders
{
    public const string ChangedBy = "X-Changed-By";
    public const string Source = "X-Source";
    public const string CorrelationId = "X-Correlation-Id";

    private const int MaxLength = 255;

    /// <summary>The write's context, or null with the 400 to answer when a header is malformed.</summary>
    public static WriteContext? Read(HttpContext context, out RequestError? error)
    {
        var headers = context.Request.Headers;
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        var changedBy = Header(headers, ChangedBy, problems);
        var source = Header(headers, Source, problems);
        var correlation = Header(headers, CorrelationId, problems);
        if (problems.Count > 0)
        {
            error = RequestError.Validation(problems);
            return null;
        }

        error = null;
        return new WriteContext(
            changedBy ?? context.AuditName(),
            source ?? "api",
            correlation,
            context.ScopedNode());
    }

    private static string? Header(IHeaderDictionary headers, string name, Dictionary<string, string> problems)
    {
        if (!headers.TryGetValue(name, out var values) || values.Count == 0)
        {
            return null;
        }

        if (values.Count > 1)
        {
            problems[name] = "must be given once";
            return null;
        }

        var value = values[0] ?? string.Empty;
        if (value.Length is 0 or > MaxLength || value.Any(c => char.IsControl(c)))
        {
            problems[name] = $"must be 1 to {MaxLength} printable characters";
            return null;
        }

        return value;
    }
}

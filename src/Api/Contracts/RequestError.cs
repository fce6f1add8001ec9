namespace HpcJobs.Api.Contracts;

/// <summary>A rejected request, before any state was touched: becomes a 4xx with the contract's error body.</summary>
public sealed record RequestError(int Status, string Code, string Message, IReadOnlyDictionary<string, string>? Details = null)
{
    public static RequestError InvalidRequest(string message) => new(400, ErrorCodes.InvalidRequest, message);

    public static RequestError Validation(IReadOnlyDictionary<string, string> details)
    {
        var message = string.Join("; ", details.Select(d => $"{d.Key} {d.Value}"));
        return new(400, ErrorCodes.ValidationError, message, details);
    }

    public static RequestError Validation(string field, string message) =>
        Validation(new Dictionary<string, string> { [field] = message });
}

public static class ErrorCodes
{
    public const string InvalidRequest = "invalid_request";
    public const string ValidationError = "validation_error";
    public const string Unauthorized = "unauthorized";
    public const string Forbidden = "forbidden";
    public const string NotFound = "not_found";
    public const string MethodNotAllowed = "method_not_allowed";
    public const string Conflict = "conflict";
    public const string PayloadTooLarge = "payload_too_large";
    public const string UnsupportedMediaType = "unsupported_media_type";
    public const string InternalError = "internal_error";
    public const string Unavailable = "unavailable";
}

using System.Text.Json.Nodes;

namespace HpcJobs.MockServer.Spec;

/// <summary>One path of the document with the operations it serves.</summary>
public sealed record SpecPath(string Template, IReadOnlyList<SpecOperation> Operations)
{
    /// <summary>The <c>Allow</c> header of a 405 on this path.</summary>
    public string Allow => string.Join(", ", Operations.Select(op => op.Method.ToUpperInvariant()));
}

/// <param name="Location">The operation's JSON pointer in the document, for messages.</param>
public sealed record SpecOperation(
    string Path,
    string Method,
    string OperationId,
    IReadOnlyList<SpecParameter> Parameters,
    SpecRequestBody? RequestBody,
    IReadOnlyList<SpecResponse> Responses,
    string Location)
{
    /// <summary>The documented success: the lowest 2xx status, else <c>default</c>, else the first response.</summary>
    public SpecResponse Success =>
        Responses.Where(r => r.Status.Length == 3 && r.Status[0] == '2' && r.Status.All(char.IsAsciiDigit)).MinBy(r => r.Status, StringComparer.Ordinal)
        ?? Responses.FirstOrDefault(r => r.Status == "default")
        ?? Responses.FirstOrDefault()
        ?? throw new FormatException($"{Location} documents no response");

    /// <summary>
    /// The response documented for <paramref name="status"/>: the exact code, else its range
    /// (<c>4XX</c>), else <c>default</c>; null when the status is undocumented.
    /// </summary>
    public SpecResponse? ResponseFor(int status)
    {
        var code = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Responses.FirstOrDefault(r => r.Status == code)
            ?? Responses.FirstOrDefault(r => r.Status.Equals($"{code[0]}XX", StringComparison.OrdinalIgnoreCase))
            ?? Responses.FirstOrDefault(r => r.Status == "default");
    }

    public override string ToString() => $"{Method.ToUpperInvariant()} {Path} ({OperationId})";
}

/// <param name="Reference">The <c>$ref</c> the operation used (<c>#/components/parameters/JobId</c>), if any.</param>
public sealed record SpecParameter(
    string Name, string In, bool Required, JsonNode? Schema, IReadOnlyList<SpecExample> Examples, string? Reference, string Location);

public sealed record SpecRequestBody(bool Required, IReadOnlyList<SpecMediaType> Content);

/// <param name="Reference">The <c>$ref</c> the operation used (<c>#/components/responses/JobNotFound</c>), if any.</param>
public sealed record SpecResponse(
    string Status, string? Reference, IReadOnlyList<SpecHeader> Headers, IReadOnlyList<SpecMediaType> Content, string Location)
{
    /// <summary>
    /// The media type documented for a <c>Content-Type</c>: the exact type, else <c>type/*</c>,
    /// else <c>*/*</c>; null when none matches.
    /// </summary>
    public SpecMediaType? MediaTypeFor(string? contentType)
    {
        var type = (contentType ?? string.Empty).Split(';')[0].Trim();
        var major = type.Split('/')[0];
        return Content.FirstOrDefault(m => m.Name.Equals(type, StringComparison.OrdinalIgnoreCase))
            ?? Content.FirstOrDefault(m => m.Name.Equals(major + "/*", StringComparison.OrdinalIgnoreCase))
            ?? Content.FirstOrDefault(m => m.Name == "*/*");
    }
}

public sealed record SpecHeader(string Name, JsonNode? Schema, IReadOnlyList<SpecExample> Examples, string Location);

/// <param name="Schema">Raw: its <c>$ref</c>s are resolved against the document by whoever reads it.</param>
public sealed record SpecMediaType(string Name, JsonNode? Schema, IReadOnlyList<SpecExample> Examples, string Location)
{
    public bool IsJson =>
        Name.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        || Name.Split(';')[0].EndsWith("+json", StringComparison.OrdinalIgnoreCase);
}

/// <param name="Location">The example value's JSON pointer in the document, for messages.</param>
public sealed record SpecExample(string Name, JsonNode? Value, string Location);

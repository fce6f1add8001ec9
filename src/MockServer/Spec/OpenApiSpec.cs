using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace HpcJobs.MockServer.Spec;

/// <summary>
/// An OpenAPI document read by Microsoft.OpenApi (YAML typed by the core schema: <c>'12345'</c>
/// and <c>0.1.0</c> stay strings), with its operations listed in document order.
/// </summary>
public sealed class OpenApiSpec
{
    /// <summary>Methods an OpenAPI path item may hold, in the order an <c>Allow</c> header lists them.</summary>
    public static readonly IReadOnlyList<HttpMethod> Methods =
        [HttpMethod.Get, HttpMethod.Head, HttpMethod.Post, HttpMethod.Put, HttpMethod.Patch, HttpMethod.Delete, HttpMethod.Options, HttpMethod.Trace];

    private OpenApiSpec(OpenApiDocument document, string source)
    {
        Document = document;
        Source = source;
        Paths = [.. document.Paths.Select(path => new SpecPath(path.Key, [.. Methods
            .Where(method => path.Value.Operations?.ContainsKey(method) == true)
            .Select(method => new SpecOperation(path.Key, method, path.Value.Operations![method], Merge(path.Value.Parameters, path.Value.Operations[method].Parameters)))]))];
    }

    public OpenApiDocument Document { get; }

    /// <summary>Where the document was read from, for messages.</summary>
    public string Source { get; }

    public string Title => Document.Info.Title ?? string.Empty;

    public string Version => Document.Info.Version ?? string.Empty;

    public IReadOnlyList<SpecPath> Paths { get; }

    public IEnumerable<SpecOperation> Operations => Paths.SelectMany(path => path.Operations);

    public static OpenApiSpec Load(string path) => Parse(File.ReadAllText(path), path);

    public static OpenApiSpec Parse(string yaml, string source = "openapi.yaml")
    {
        var settings = new OpenApiReaderSettings();
        settings.AddYamlReader();
        var result = OpenApiDocument.Parse(yaml, "yaml", settings);
        if (result.Diagnostic?.Errors is [var error, ..])
        {
            throw new FormatException($"{source}: {error.Pointer}: {error.Message}");
        }

        return new OpenApiSpec(result.Document ?? throw new FormatException($"{source}: not an OpenAPI document"), source);
    }

    public SpecOperation Operation(string operationId) =>
        Operations.SingleOrDefault(op => op.OperationId == operationId)
        ?? throw new KeyNotFoundException($"no operation '{operationId}' in {Source}");

    /// <summary>A response of <c>components/responses</c> (such as <c>MethodNotAllowed</c>, which no operation lists) sent with <paramref name="status"/>.</summary>
    public SpecResponse ComponentResponse(string name, string status) => new(status, Document.Components!.Responses![name]);

    /// <summary>An operation's own parameters replace the path's of the same name and location.</summary>
    private static List<IOpenApiParameter> Merge(IList<IOpenApiParameter>? shared, IList<IOpenApiParameter>? own) =>
        [.. (shared ?? []).Where(p => own?.Any(o => o.Name == p.Name && o.In == p.In) != true), .. own ?? []];
}

/// <summary>One path of the document with the operations it serves.</summary>
public sealed record SpecPath(string Template, IReadOnlyList<SpecOperation> Operations)
{
    /// <summary>The <c>Allow</c> header of a 405 on this path.</summary>
    public string Allow => string.Join(", ", Operations.Select(op => op.Method.Method));
}

public sealed record SpecOperation(string Path, HttpMethod Method, OpenApiOperation Operation, IReadOnlyList<IOpenApiParameter> Parameters)
{
    public string OperationId => Operation.OperationId ?? $"{Method.Method.ToLowerInvariant()} {Path}";

    public IOpenApiRequestBody? RequestBody => Operation.RequestBody;

    public IReadOnlyList<SpecMediaType> RequestContent { get; } = SpecMediaType.All(Operation.RequestBody?.Content);

    public IReadOnlyList<SpecResponse> Responses { get; } = [.. (Operation.Responses ?? []).Select(r => new SpecResponse(r.Key, r.Value))];

    /// <summary>The documented success: the lowest 2xx status, else <c>default</c>, else the first response.</summary>
    public SpecResponse Success =>
        Responses.Where(r => r.Status.Length == 3 && r.Status[0] == '2' && r.Status.All(char.IsAsciiDigit)).MinBy(r => r.Status, StringComparer.Ordinal)
        ?? Responses.FirstOrDefault(r => r.Status == "default")
        ?? Responses.FirstOrDefault()
        ?? throw new FormatException($"{this} documents no response");

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

    public override string ToString() => $"{Method.Method} {Path} ({OperationId})";
}

public sealed record SpecResponse(string Status, IOpenApiResponse Response)
{
    public IReadOnlyList<SpecMediaType> Content { get; } = SpecMediaType.All(Response.Content);

    public IReadOnlyList<SpecHeader> Headers { get; } =
        [.. (Response.Headers ?? new Dictionary<string, IOpenApiHeader>()).Select(h => new SpecHeader(h.Key, h.Value.Schema, SpecExample.All(h.Value.Examples, h.Value.Example)))];

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

public sealed record SpecHeader(string Name, IOpenApiSchema? Schema, IReadOnlyList<SpecExample> Examples);

public sealed record SpecMediaType(string Name, IOpenApiSchema? Schema, IReadOnlyList<SpecExample> Examples)
{
    public bool IsJson =>
        Name.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        || Name.Split(';')[0].EndsWith("+json", StringComparison.OrdinalIgnoreCase);

    public static IReadOnlyList<SpecMediaType> All(IDictionary<string, IOpenApiMediaType>? content) =>
        [.. (content ?? new Dictionary<string, IOpenApiMediaType>()).Select(m => new SpecMediaType(m.Key, m.Value.Schema, SpecExample.All(m.Value.Examples, m.Value.Example)))];
}

public sealed record SpecExample(string Name, JsonNode? Value)
{
    /// <summary>The named <c>examples</c> in order, else the single <c>example</c> (named "example").</summary>
    public static IReadOnlyList<SpecExample> All(IDictionary<string, IOpenApiExample>? named, JsonNode? single) =>
        named is { Count: > 0 } ? [.. named.Select(e => e.Value.ExternalValue is null
            ? new SpecExample(e.Key, Json(e.Value.Value))
            : throw new FormatException($"example '{e.Key}' uses externalValue, which the mock cannot serve"))]
        : single is not null ? [new SpecExample("example", Json(single))]
        : [];

    /// <summary>The value as plain JSON: Microsoft.OpenApi reads a YAML <c>null</c> as a sentinel string.</summary>
    public static JsonNode? Json(JsonNode? value) => value switch
    {
        _ when JsonNullSentinel.IsJsonNullSentinel(value) => null,
        JsonObject obj => new JsonObject(obj.Select(p => KeyValuePair.Create(p.Key, Json(p.Value)))),
        JsonArray array => new JsonArray([.. array.Select(Json)]),
        _ => value?.DeepClone(),
    };
}

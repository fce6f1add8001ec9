using System.Text.Json.Nodes;

namespace HpcJobs.MockServer.Spec;

/// <summary>
/// An OpenAPI 3.0 document read into its paths, operations, parameters, bodies, responses and
/// examples, with local <c>$ref</c>s followed. Schemas stay raw JSON: whoever checks values against
/// them resolves their <c>$ref</c>s through <see cref="Resolve"/>.
/// </summary>
public sealed class OpenApiSpec
{
    /// <summary>Methods an OpenAPI path item may hold, in the order an <c>Allow</c> header lists them.</summary>
    public static readonly IReadOnlyList<string> Methods = ["get", "head", "post", "put", "patch", "delete", "options", "trace"];

    private OpenApiSpec(JsonObject root, string source)
    {
        Root = root;
        Source = source;
        var version = Text(root, "openapi", "#/openapi");
        if (!version.StartsWith("3.", StringComparison.Ordinal))
        {
            throw new FormatException($"{source}: openapi '{version}' is not an OpenAPI 3 document");
        }

        var info = Object(root["info"], "#/info");
        Title = Text(info, "title", "#/info/title");
        Version = Text(info, "version", "#/info/version");
        Paths = [.. Object(root["paths"], "#/paths").Select(path => ReadPath(path.Key, path.Value))];
    }

    public JsonObject Root { get; }

    /// <summary>Where the document was read from, for messages.</summary>
    public string Source { get; }

    public string Title { get; }

    public string Version { get; }

    public IReadOnlyList<SpecPath> Paths { get; }

    public IEnumerable<SpecOperation> Operations => Paths.SelectMany(path => path.Operations);

    public static OpenApiSpec Load(string path) => Parse(File.ReadAllText(path), path);

    public static OpenApiSpec Parse(string yaml, string source = "openapi.yaml")
    {
        JsonNode? root;
        try
        {
            root = YamlJson.Parse(yaml);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{source}: {e.Message}", e);
        }

        return root is JsonObject document
            ? new OpenApiSpec(document, source)
            : throw new FormatException($"{source}: the document is not a mapping");
    }

    public SpecOperation Operation(string operationId) =>
        Operations.SingleOrDefault(op => op.OperationId == operationId)
        ?? throw new KeyNotFoundException($"no operation '{operationId}' in {Source}");

    /// <summary>The node a local reference (<c>#/components/...</c>) points at.</summary>
    public JsonNode Pointer(string reference)
    {
        if (!reference.StartsWith('#'))
        {
            throw new FormatException($"{Source}: only local references are supported, not '{reference}'");
        }

        JsonNode? node = Root;
        foreach (var raw in reference[1..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var token = Uri.UnescapeDataString(raw).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            node = node switch
            {
                JsonObject obj => obj[token],
                JsonArray array when int.TryParse(token, out var index) && index >= 0 && index < array.Count => array[index],
                _ => null,
            };
            if (node is null)
            {
                throw new FormatException($"{Source}: reference '{reference}' points at nothing");
            }
        }

        return node!;
    }

    /// <summary>Follows <c>$ref</c> until the node is not a reference.</summary>
    public JsonNode? Resolve(JsonNode? node)
    {
        for (var hops = 0; node is JsonObject obj && obj["$ref"] is JsonValue reference; hops++)
        {
            if (hops == 32)
            {
                throw new FormatException($"{Source}: reference cycle at '{reference}'");
            }

            node = Pointer(reference.GetValue<string>());
        }

        return node;
    }

    private static string? ReferenceOf(JsonNode? node) => node is JsonObject obj && obj["$ref"] is JsonValue value ? value.GetValue<string>() : null;

    /// <summary>The object a node stands for after its <c>$ref</c>s, and where that object is.</summary>
    private (JsonObject Node, string Where) Follow(JsonNode? node, string where)
    {
        for (var hops = 0; ReferenceOf(node) is { } reference; hops++)
        {
            if (hops == 32)
            {
                throw new FormatException($"{Source}: reference cycle at '{reference}'");
            }

            where = reference;
            node = Pointer(reference);
        }

        return (Object(node, where), where);
    }

    private SpecPath ReadPath(string template, JsonNode? node)
    {
        var where = "#/paths/" + Escape(template);
        var item = Object(Resolve(node), where);
        var shared = Parameters(item["parameters"], where + "/parameters");
        var operations = new List<SpecOperation>();
        foreach (var method in Methods)
        {
            if (item[method] is { } operation)
            {
                operations.Add(ReadOperation(template, method, Object(operation, $"{where}/{method}"), shared, $"{where}/{method}"));
            }
        }

        return new SpecPath(template, operations);
    }

    private SpecOperation ReadOperation(string path, string method, JsonObject operation, IReadOnlyList<SpecParameter> shared, string where)
    {
        var operationId = operation["operationId"] is JsonValue id ? id.GetValue<string>() : $"{method} {path}";
        var own = Parameters(operation["parameters"], where + "/parameters");
        var parameters = shared.Where(p => !own.Any(o => o.Name == p.Name && o.In == p.In)).Concat(own).ToList();

        SpecRequestBody? body = null;
        if (operation["requestBody"] is { } rawBody)
        {
            var (resolved, bodyWhere) = Follow(rawBody, where + "/requestBody");
            body = new SpecRequestBody(
                resolved["required"] is JsonValue required && required.GetValue<bool>(),
                Content(resolved["content"], bodyWhere + "/content"));
        }

        var responses = Object(operation["responses"], where + "/responses")
            .Select(entry => ReadResponse(entry.Key, entry.Value, $"{where}/responses/{Escape(entry.Key)}"))
            .ToList();

        return new SpecOperation(path, method, operationId, parameters, body, responses, where);
    }

    /// <summary>A response of <c>components/responses</c> (such as <c>MethodNotAllowed</c>, which no operation lists) sent with <paramref name="status"/>.</summary>
    public SpecResponse ComponentResponse(string name, string status)
    {
        var reference = "#/components/responses/" + Escape(name);
        return ReadResponse(status, Pointer(reference), reference);
    }

    private SpecResponse ReadResponse(string status, JsonNode? raw, string where)
    {
        var (response, responseWhere) = Follow(raw, where);
        var headers = response["headers"] is JsonObject rawHeaders
            ? rawHeaders.Select(h =>
            {
                var (header, headerWhere) = Follow(h.Value, $"{responseWhere}/headers/{Escape(h.Key)}");
                return new SpecHeader(h.Key, header["schema"], Examples(header, headerWhere), headerWhere);
            }).ToList()
            : [];
        return new SpecResponse(status, ReferenceOf(raw), headers, Content(response["content"], responseWhere + "/content"), responseWhere);
    }

    private List<SpecParameter> Parameters(JsonNode? node, string where)
    {
        if (node is null)
        {
            return [];
        }

        if (node is not JsonArray array)
        {
            throw new FormatException($"{Source}: {where} must be a list");
        }

        return [.. array.Select((raw, i) =>
        {
            var (parameter, parameterWhere) = Follow(raw, $"{where}/{i}");
            return new SpecParameter(
                Text(parameter, "name", parameterWhere + "/name"),
                Text(parameter, "in", parameterWhere + "/in"),
                parameter["required"] is JsonValue required && required.GetValue<bool>(),
                parameter["schema"],
                Examples(parameter, parameterWhere),
                ReferenceOf(raw),
                parameterWhere);
        })];
    }

    private List<SpecMediaType> Content(JsonNode? node, string where) =>
        node is null
            ? []
            : [.. Object(node, where).Select(media =>
            {
                var mediaWhere = $"{where}/{Escape(media.Key)}";
                var mediaType = Object(media.Value, mediaWhere);
                return new SpecMediaType(media.Key, mediaType["schema"], Examples(mediaType, mediaWhere), mediaWhere);
            })];

    /// <summary>The named <c>examples</c> in order, else the single <c>example</c> (named "example").</summary>
    private List<SpecExample> Examples(JsonObject owner, string where)
    {
        var examples = new List<SpecExample>();
        if (owner["examples"] is JsonObject named)
        {
            foreach (var (name, raw) in named)
            {
                var (example, exampleWhere) = Follow(raw, $"{where}/examples/{Escape(name)}");
                if (example.ContainsKey("externalValue"))
                {
                    throw new FormatException($"{Source}: {exampleWhere} uses externalValue, which the mock cannot serve");
                }

                examples.Add(new SpecExample(name, example["value"]?.DeepClone(), exampleWhere + "/value"));
            }
        }
        else if (owner.TryGetPropertyValue("example", out var single))
        {
            examples.Add(new SpecExample("example", single?.DeepClone(), where + "/example"));
        }

        return examples;
    }

    private JsonObject Object(JsonNode? node, string where) =>
        node as JsonObject ?? throw new FormatException($"{Source}: {where} must be a mapping");

    private string Text(JsonObject owner, string key, string where) =>
        owner[key] is JsonValue value && value.TryGetValue<string>(out var text)
            ? text
            : throw new FormatException($"{Source}: {where} must be a string");

    /// <summary>A JSON-pointer token.</summary>
    public static string Escape(string token) =>
        token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
}

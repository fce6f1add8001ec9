using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using JsonPointer = Json.Pointer.JsonPointer;
using Json.Schema;
using Microsoft.OpenApi;

namespace HpcJobs.MockServer.Tests;

/// <summary>
/// Checks a JSON value against an OpenAPI 3.0 schema object with JsonSchema.Net: the schema and
/// <c>#/components/schemas</c> are rewritten as JSON Schema 2020-12 (<c>nullable</c> as a null
/// type, boolean <c>exclusiveMinimum</c>/<c>Maximum</c> as numbers, <c>$ref</c> siblings dropped,
/// the OpenAPI formats as custom formats) and the library's findings are worded by keyword. A
/// keyword or format OpenAPI 3.0 does not define is an exception, never a silent pass.
/// </summary>
public sealed partial class SchemaValidator
{
    private const string Components = "https://openapi.invalid/components";
    private const string ComponentSchemas = "#/components/schemas/";

    private static readonly HashSet<string> Dropped = new(StringComparer.Ordinal)
    {
        "title", "description", "example", "default", "deprecated", "readOnly", "writeOnly", "externalDocs", "xml",
        "nullable", "exclusiveMinimum", "exclusiveMaximum",
    };

    private static readonly HashSet<string> Kept = new(StringComparer.Ordinal)
    {
        "type", "enum", "required", "properties", "additionalProperties", "minProperties", "maxProperties", "items", "minItems",
        "maxItems", "uniqueItems", "minimum", "maximum", "multipleOf", "minLength", "maxLength", "pattern", "format",
        "allOf", "anyOf", "oneOf", "not",
    };

    private static readonly string[] Combinators = ["anyOf", "oneOf", "not"];

    private static readonly Dictionary<string, string> FormatNames = new(StringComparer.Ordinal)
    {
        ["date-time"] = "openapi-date-time", ["date"] = "openapi-date", ["int32"] = "int32", ["int64"] = "int64", ["float"] = "float", ["double"] = "double",
    };

    private readonly SchemaOptions _options;
    private readonly JsonObject _components;
    private readonly EvaluationOptions _evaluation = new() { OutputFormat = OutputFormat.Hierarchical, RequireFormatValidation = true };

    static SchemaValidator()
    {
        Formats.Register(Format("openapi-date-time", value => IsDateTime(value) ? null : "is not an RFC 3339 date-time"));
        Formats.Register(Format("service-date-time", value =>
            !IsDateTime(value) ? "is not an RFC 3339 date-time"
            : ContractTime().IsMatch(value) ? null
            : "is not written as the service writes times (UTC, 'Z', at most 6 fraction digits, none when zero)"));
        Formats.Register(Format("openapi-date", value =>
            DateOnly.TryParseExact(value, "yyyy'-'MM'-'dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _) ? null : "is not an RFC 3339 full-date"));
        Formats.Register(Format("int32", value => int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _) ? null : "is not a 32-bit integer"));
        Formats.Register(Format("int64", value => long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _) ? null : "is not a 64-bit integer"));
        Formats.Register(Format("float", _ => null));
        Formats.Register(Format("double", _ => null));
    }

    /// <param name="document">What <c>$ref</c>s such as <c>#/components/schemas/Job</c> are resolved against.</param>
    public SchemaValidator(JsonNode document, SchemaOptions? options = null)
    {
        _options = options ?? SchemaOptions.Open;
        _components = new JsonObject
        {
            ["$id"] = Components,
            ["$defs"] = new JsonObject([.. (document["components"]?["schemas"] as JsonObject ?? [])
                .Select(schema => KeyValuePair.Create(schema.Key, (JsonNode?)Convert(schema.Value, ComponentSchemas + Escape(schema.Key))))]),
        };
        _evaluation.SchemaRegistry.Register(JsonSchema.FromText(_components.ToJsonString()));
    }

    /// <summary>Every way <paramref name="instance"/> breaks <paramref name="schema"/>; empty when it conforms.</summary>
    public IReadOnlyList<string> Validate(JsonNode? instance, JsonNode? schema, string schemaLocation = "#")
    {
        if (schema is null)
        {
            return [];
        }

        var root = Convert(schema, schemaLocation);
        var results = JsonSchema.FromText(root.ToJsonString()).Evaluate(instance, _evaluation);
        return [.. Failures(results, instance, root, schemaLocation)];
    }

    /// <summary>
    /// A schema of the document read by Microsoft.OpenApi, as the OpenAPI 3.0 JSON it writes it back
    /// as: a <c>$ref</c> stays one, so components are checked as written; an inline schema loses what
    /// is the default (an explicit <c>additionalProperties: true</c>), so such a schema belongs in components.
    /// </summary>
    public IReadOnlyList<string> Validate(JsonNode? instance, IOpenApiSchema? schema, string schemaLocation)
    {
        if (schema is null)
        {
            return [];
        }

        using var text = new StringWriter(CultureInfo.InvariantCulture);
        schema.SerializeAsV3(new OpenApiJsonWriter(text));
        return Validate(instance, JsonNode.Parse(text.ToString()), schemaLocation);
    }

    /// <summary>The failures of a failed node and of the parts under it; a branch of anyOf, oneOf or not speaks only through its combinator.</summary>
    private IEnumerable<string> Failures(EvaluationResults node, JsonNode? instance, JsonObject root, string rootLocation)
    {
        if (node.IsValid)
        {
            return [];
        }

        var keywords = (node.Errors?.Keys ?? []).Where(keyword => keyword is not ("anyOf" or "oneOf" or "not" or "allOf" or "$ref"))
            .Concat(Combinators.Where(combinator => node.Details.Any(child => Keyword(node, child) == combinator)));
        return keywords.SelectMany(keyword => Describe(node, keyword, instance, root, rootLocation))
            .Concat(node.Details.Where(child => !Combinators.Contains(Keyword(node, child))).SelectMany(child => Failures(child, instance, root, rootLocation)));
    }

    /// <summary>The keyword of <paramref name="node"/> that <paramref name="child"/> was evaluated under.</summary>
    private static string? Keyword(EvaluationResults node, EvaluationResults child) =>
        child.EvaluationPath.Count > node.EvaluationPath.Count ? child.EvaluationPath[node.EvaluationPath.Count] : null;

    private JsonObject Convert(JsonNode? raw, string at)
    {
        if (raw is not JsonObject schema)
        {
            throw new FormatException($"{at} is not a schema object");
        }

        // OpenAPI 3.0: a $ref replaces its object; siblings are ignored.
        if (schema["$ref"] is JsonValue reference)
        {
            var target = reference.GetValue<string>();
            return target.StartsWith(ComponentSchemas, StringComparison.Ordinal)
                ? new JsonObject { ["$ref"] = $"{Components}#/$defs/{target[ComponentSchemas.Length..]}" }
                : throw new NotSupportedException($"only references to {ComponentSchemas}... are supported, not '{target}' at {at}");
        }

        var converted = new JsonObject();
        foreach (var (keyword, value) in schema)
        {
            if (keyword.StartsWith("x-", StringComparison.Ordinal) || Dropped.Contains(keyword))
            {
                continue;
            }

            converted[keyword] = keyword switch
            {
                _ when !Kept.Contains(keyword) => throw new NotSupportedException($"schema keyword '{keyword}' at {at} is not supported by this validator"),
                "type" when schema["nullable"]?.GetValue<bool>() == true => new JsonArray(value!.DeepClone(), "null"),
                "properties" => new JsonObject([.. value!.AsObject().Select(p => KeyValuePair.Create(p.Key, (JsonNode?)Convert(p.Value, $"{at}/properties/{Escape(p.Key)}")))]),
                "items" or "not" => Convert(value, $"{at}/{keyword}"),
                "additionalProperties" when value is JsonObject => Convert(value, $"{at}/{keyword}"),
                "allOf" or "anyOf" or "oneOf" => new JsonArray([.. value!.AsArray().Select((part, i) => (JsonNode?)Convert(part, $"{at}/{keyword}/{i}"))]),
                "format" => FormatNames.TryGetValue(value!.GetValue<string>(), out var name)
                    ? name == "openapi-date-time" && _options.ContractTimes ? "service-date-time" : name
                    : throw new NotSupportedException($"format '{value}' at {at} is not supported by this validator"),
                _ => value?.DeepClone(),
            };
        }

        foreach (var (bound, exclusive) in new[] { ("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum") })
        {
            if (schema[exclusive]?.GetValue<bool>() == true && converted.Remove(bound, out var limit))
            {
                converted[exclusive] = limit;
            }
        }

        var isObject = schema["type"]?.GetValue<string>() == "object" || schema.ContainsKey("properties");
        if (_options.ClosedObjects && isObject && !schema.ContainsKey("additionalProperties"))
        {
            converted["additionalProperties"] = schema.ContainsKey("allOf") || schema.ContainsKey("anyOf") || schema.ContainsKey("oneOf")
                ? throw new NotSupportedException($"closed-object checking of a combined schema ({at}) is not implemented")
                : false;
        }

        return converted;
    }

    /// <summary>One keyword's failure in the words the tests and their readers know.</summary>
    private IEnumerable<string> Describe(EvaluationResults detail, string keyword, JsonNode? instance, JsonObject root, string rootLocation)
    {
        var pointer = detail.InstanceLocation;
        var value = pointer.TryEvaluate(instance, out var found) ? found : null;
        var (schema, schemaAt) = SchemaAt(detail.EvaluationPath, root, rootLocation);
        var at = Path(pointer, instance);
        string Say(string message) => $"{at}: {message} ({schemaAt})";

        if (keyword.Length == 0 && detail.EvaluationPath.Count > 0 && detail.EvaluationPath[^1] == "additionalProperties")
        {
            // The false schema under additionalProperties failed for this property: the object has it undocumented.
            yield return $"{Path(pointer[..^1], instance)}: property '{pointer[^1]}' is not documented ({schemaAt[..schemaAt.LastIndexOf('/')]})";
            yield break;
        }

        var limit = schema[keyword]?.ToJsonString();
        var text = value?.GetValueKind() == JsonValueKind.String ? Short(value.GetValue<string>()) : null;
        switch (keyword)
        {
            case "type":
                var type = schema["type"] is JsonArray types ? types.First(t => t!.GetValue<string>() != "null")!.GetValue<string>() : schema["type"]!.GetValue<string>();
                yield return Say(value is null ? $"null where {type} is required" : $"{Kind(value)} is not of type {type}");
                break;
            case "enum":
                yield return Say(value is null ? "null is not one of the enum values" : $"{Kind(value)} is not one of {limit}");
                break;
            case "required":
                foreach (var name in schema["required"]!.AsArray().Select(n => n!.GetValue<string>()).Where(n => value is JsonObject obj && !obj.ContainsKey(n)))
                {
                    yield return Say($"required property '{name}' is missing");
                }

                break;
            case "minimum" or "exclusiveMinimum" or "maximum" or "exclusiveMaximum":
                var side = keyword.Contains("inimum", StringComparison.Ordinal) ? "below" : "above";
                yield return Say($"{value?.ToJsonString()} is {side} {(keyword.StartsWith("exclusive", StringComparison.Ordinal) ? "exclusive " : "")}{(side == "below" ? "minimum" : "maximum")} {limit}");
                break;
            case "minLength":
                yield return Say($"'{text}' is shorter than minLength {limit}");
                break;
            case "maxLength":
                yield return Say($"'{text}' is longer than maxLength {limit}");
                break;
            case "pattern":
                yield return Say($"'{text}' does not match pattern {schema["pattern"]!.GetValue<string>()}");
                break;
            case "minItems" or "maxItems":
                yield return Say($"has {value?.AsArray().Count} items, {(keyword == "minItems" ? "fewer than" : "more than")} {keyword} {limit}");
                break;
            case "minProperties" or "maxProperties":
                yield return Say($"has {value?.AsObject().Count} properties, {(keyword == "minProperties" ? "fewer than" : "more than")} {keyword} {limit}");
                break;
            case "format":
                yield return Say($"'{text ?? value?.ToJsonString()}' {detail.Errors![keyword]}");
                break;
            case "anyOf" or "oneOf" or "not":
                var matches = detail.Details.Count(child => child.IsValid && Keyword(detail, child) == keyword);
                var broken = keyword switch { "anyOf" => matches == 0, "oneOf" => matches != 1, _ => matches > 0 };
                if (broken)
                {
                    yield return Say(keyword switch
                    {
                        "anyOf" => "matches none of anyOf",
                        "oneOf" => $"matches {matches} of oneOf, not exactly one",
                        _ => "matches the schema under not",
                    });
                }

                break;
            default:
                yield return Say($"{keyword}: {detail.Errors![keyword]}");
                break;
        }
    }

    /// <summary>The converted schema an evaluation path leads to through its <c>$ref</c>s, and where its original is in the document.</summary>
    private (JsonObject Schema, string Where) SchemaAt(JsonPointer path, JsonObject root, string rootLocation)
    {
        JsonNode? node = root;
        var where = rootLocation;
        for (var i = 0; i < path.Count; i++)
        {
            if (path[i] == "$ref")
            {
                var token = node!["$ref"]!.GetValue<string>()[(Components.Length + "#/$defs/".Length)..];
                (node, where) = (_components["$defs"]![token.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)], ComponentSchemas + token);
            }
            else
            {
                (node, where) = (node is JsonArray array ? array[int.Parse(path[i], CultureInfo.InvariantCulture)] : node?[path[i]], $"{where}/{Escape(path[i])}");
            }
        }

        return (node as JsonObject ?? [], where);
    }

    private static PredicateFormat Format(string key, Func<string, string?> problem) =>
        new(key, (JsonNode? node, out string? error) =>
        {
            error = node is JsonValue value ? problem(value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString()) : null;
            return error is null;
        });

    /// <summary>A JSON pointer as the path a reader expects: <c>$.nodes[0]</c>.</summary>
    private static string Path(JsonPointer pointer, JsonNode? instance)
    {
        var path = "$";
        for (var i = 0; i < pointer.Count; i++)
        {
            path += pointer[..i].TryEvaluate(instance, out var parent) && parent is JsonArray ? $"[{pointer[i]}]" : $".{pointer[i]}";
        }

        return path;
    }

    /// <summary>RFC 3339 section 5.6 <c>date-time</c>, with every field in range.</summary>
    private static bool IsDateTime(string text)
    {
        var match = DateTimeShape().Match(text);
        if (!match.Success)
        {
            return false;
        }

        int Part(string name) => int.Parse(match.Groups[name].Value, CultureInfo.InvariantCulture);
        var (year, month, day) = (Part("year"), Part("month"), Part("day"));
        var offsetOk = !match.Groups["oh"].Success || (Part("oh") <= 23 && Part("om") <= 59);
        return month is >= 1 and <= 12
            && day >= 1 && day <= DateTime.DaysInMonth(year is 0 ? 2000 : year, month)
            && Part("hour") <= 23 && Part("minute") <= 59 && Part("second") <= 60
            && offsetOk;
    }

    private static string Kind(JsonNode node) => node switch
    {
        JsonObject => "an object",
        JsonArray => "an array",
        _ => $"{node.GetValueKind().ToString().ToLowerInvariant()} {Short(node.ToJsonString())}",
    };

    private static string Short(string text) => text.Length <= 60 ? text : text[..57] + "...";

    private static string Escape(string token) =>
        token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    [GeneratedRegex(
        @"^(?<year>\d{4})-(?<month>\d{2})-(?<day>\d{2})[Tt](?<hour>\d{2}):(?<minute>\d{2}):(?<second>\d{2})(\.\d+)?([Zz]|[+-](?<oh>\d{2}):(?<om>\d{2}))$",
        RegexOptions.CultureInvariant)]
    private static partial Regex DateTimeShape();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.(?!0+Z)\d{1,6})?Z$", RegexOptions.CultureInvariant)]
    private static partial Regex ContractTime();
}

/// <param name="ClosedObjects">
/// An object schema without <c>additionalProperties</c> admits only its documented properties
/// (OpenAPI's default admits any). For what the service writes: an undocumented field is drift.
/// </param>
/// <param name="ContractTimes">A date-time must also be written as the service writes times: UTC, <c>Z</c>, at most microseconds.</param>
public sealed record SchemaOptions(bool ClosedObjects, bool ContractTimes)
{
    /// <summary>OpenAPI's own semantics: what requests and request examples are held to.</summary>
    public static readonly SchemaOptions Open = new(false, false);

    /// <summary>What the service's responses (and the response examples) are held to.</summary>
    public static readonly SchemaOptions Responses = new(true, true);
}

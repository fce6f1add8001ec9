using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace HpcJobs.MockServer.Tests;

/// <summary>
/// Checks a JSON value against an OpenAPI 3.0 schema object: <c>type</c> (integer apart from
/// number), <c>nullable</c>, <c>enum</c>, <c>required</c>, <c>properties</c>,
/// <c>additionalProperties</c>, <c>min/maxProperties</c>, <c>items</c>, <c>min/maxItems</c>,
/// <c>uniqueItems</c>, <c>minimum</c>/<c>maximum</c> (and their boolean <c>exclusive</c> forms),
/// <c>multipleOf</c>, <c>min/maxLength</c>, <c>pattern</c>, <c>format</c> (date-time per RFC 3339,
/// date, int32, int64, float, double), <c>allOf</c>/<c>anyOf</c>/<c>oneOf</c>/<c>not</c> and local
/// <c>$ref</c>. A keyword it does not know is an exception, never a silent pass.
/// </summary>
public sealed partial class SchemaValidator
{
    private static readonly HashSet<string> Annotations = new(StringComparer.Ordinal)
    {
        "title", "description", "example", "default", "deprecated", "readOnly", "writeOnly", "externalDocs", "xml",
    };

    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "$ref", "type", "nullable", "enum", "required", "properties", "additionalProperties", "minProperties", "maxProperties",
        "items", "minItems", "maxItems", "uniqueItems", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "multipleOf", "minLength", "maxLength", "pattern", "format", "allOf", "anyOf", "oneOf", "not",
    };

    private static readonly ConcurrentDictionary<string, Regex> Patterns = new(StringComparer.Ordinal);

    private readonly JsonNode _document;
    private readonly SchemaOptions _options;

    /// <param name="document">What <c>$ref</c>s such as <c>#/components/schemas/Job</c> are resolved against.</param>
    public SchemaValidator(JsonNode document, SchemaOptions? options = null)
    {
        _document = document;
        _options = options ?? SchemaOptions.Open;
    }

    /// <summary>Every way <paramref name="instance"/> breaks <paramref name="schema"/>; empty when it conforms.</summary>
    public IReadOnlyList<string> Validate(JsonNode? instance, JsonNode? schema, string schemaLocation = "#")
    {
        var errors = new List<string>();
        Check(instance, schema, "$", schemaLocation, errors, depth: 0);
        return errors;
    }

    private void Check(JsonNode? instance, JsonNode? rawSchema, string at, string schemaAt, List<string> errors, int depth)
    {
        if (depth > 64)
        {
            throw new InvalidOperationException($"schema recursion deeper than 64 at {schemaAt}");
        }

        if (rawSchema is null)
        {
            return;
        }

        if (rawSchema is not JsonObject schema)
        {
            throw new FormatException($"{schemaAt} is not a schema object");
        }

        // OpenAPI 3.0: a $ref replaces its object; siblings are ignored.
        if (schema["$ref"] is JsonValue reference)
        {
            var target = reference.GetValue<string>();
            Check(instance, Resolve(target), at, target, errors, depth + 1);
            return;
        }

        foreach (var (keyword, _) in schema)
        {
            if (!Keywords.Contains(keyword) && !Annotations.Contains(keyword) && !keyword.StartsWith("x-", StringComparison.Ordinal))
            {
                throw new NotSupportedException($"schema keyword '{keyword}' at {schemaAt} is not supported by this validator");
            }
        }

        void Fail(string message) => errors.Add($"{at}: {message} ({schemaAt})");

        var type = schema["type"]?.GetValue<string>();
        if (instance is null)
        {
            if (type is not null && schema["nullable"]?.GetValue<bool>() != true)
            {
                Fail($"null where {type} is required");
            }
            else if (schema["enum"] is JsonArray nullEnum && !nullEnum.Any(v => v is null))
            {
                Fail("null is not one of the enum values");
            }

            return;
        }

        if (type is not null && !HasType(instance, type))
        {
            Fail($"{Describe(instance)} is not of type {type}");
            return;
        }

        if (schema["enum"] is JsonArray values && !values.Any(v => JsonNode.DeepEquals(v, instance)))
        {
            Fail($"{Describe(instance)} is not one of {values.ToJsonString()}");
        }

        switch (instance)
        {
            case JsonObject obj:
                CheckObject(obj, schema, at, schemaAt, errors, depth, Fail);
                break;
            case JsonArray array:
                CheckArray(array, schema, at, schemaAt, errors, depth, Fail);
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                CheckString(value.GetValue<string>(), schema, Fail);
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.Number:
                CheckNumber(value.ToJsonString(), schema, Fail);
                break;
        }

        CheckCombinators(instance, schema, at, schemaAt, errors, depth, Fail);
    }

    private void CheckObject(JsonObject obj, JsonObject schema, string at, string schemaAt, List<string> errors, int depth, Action<string> fail)
    {
        foreach (var required in schema["required"] as JsonArray ?? [])
        {
            var name = required!.GetValue<string>();
            if (!obj.ContainsKey(name))
            {
                fail($"required property '{name}' is missing");
            }
        }

        var properties = schema["properties"] as JsonObject;
        var additional = schema["additionalProperties"];
        if (_options.ClosedObjects && additional is null && (schema.ContainsKey("allOf") || schema.ContainsKey("anyOf") || schema.ContainsKey("oneOf")))
        {
            throw new NotSupportedException($"closed-object checking of a combined schema ({schemaAt}) is not implemented");
        }

        foreach (var (name, value) in obj)
        {
            var propertyAt = $"{at}.{name}";
            if (properties is not null && properties.TryGetPropertyValue(name, out var propertySchema))
            {
                Check(value, propertySchema, propertyAt, $"{schemaAt}/properties/{Escape(name)}", errors, depth + 1);
            }
            else if (additional is JsonObject additionalSchema)
            {
                Check(value, additionalSchema, propertyAt, $"{schemaAt}/additionalProperties", errors, depth + 1);
            }
            else if (additional is JsonValue allowed ? !allowed.GetValue<bool>() : _options.ClosedObjects && IsObjectSchema(schema))
            {
                fail($"property '{name}' is not documented");
            }
        }

        if (schema["minProperties"] is JsonValue min && obj.Count < Count(min))
        {
            fail($"has {obj.Count} properties, fewer than minProperties {Count(min)}");
        }

        if (schema["maxProperties"] is JsonValue max && obj.Count > Count(max))
        {
            fail($"has {obj.Count} properties, more than maxProperties {Count(max)}");
        }
    }

    private void CheckArray(JsonArray array, JsonObject schema, string at, string schemaAt, List<string> errors, int depth, Action<string> fail)
    {
        if (schema["minItems"] is JsonValue min && array.Count < Count(min))
        {
            fail($"has {array.Count} items, fewer than minItems {Count(min)}");
        }

        if (schema["maxItems"] is JsonValue max && array.Count > Count(max))
        {
            fail($"has {array.Count} items, more than maxItems {Count(max)}");
        }

        if (schema["uniqueItems"]?.GetValue<bool>() == true)
        {
            for (var i = 0; i < array.Count; i++)
            {
                for (var j = i + 1; j < array.Count; j++)
                {
                    if (JsonNode.DeepEquals(array[i], array[j]))
                    {
                        fail($"items {i} and {j} are equal but uniqueItems is set");
                    }
                }
            }
        }

        if (schema["items"] is { } items)
        {
            for (var i = 0; i < array.Count; i++)
            {
                Check(array[i], items, $"{at}[{i}]", $"{schemaAt}/items", errors, depth + 1);
            }
        }
    }

    private void CheckString(string text, JsonObject schema, Action<string> fail)
    {
        // JSON Schema counts characters as code points, not UTF-16 units.
        var length = text.Length - text.Count(char.IsLowSurrogate);
        if (schema["minLength"] is JsonValue min && length < Count(min))
        {
            fail($"'{Short(text)}' is shorter than minLength {Count(min)}");
        }

        if (schema["maxLength"] is JsonValue max && length > Count(max))
        {
            fail($"'{Short(text)}' ({length} characters) is longer than maxLength {Count(max)}");
        }

        if (schema["pattern"] is JsonValue pattern)
        {
            var regex = Patterns.GetOrAdd(pattern.GetValue<string>(), p => new Regex(p, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)));
            if (!regex.IsMatch(text))
            {
                fail($"'{Short(text)}' does not match pattern {pattern.GetValue<string>()}");
            }
        }

        switch (schema["format"]?.GetValue<string>())
        {
            case null:
                break;
            case "date-time":
                if (!IsDateTime(text))
                {
                    fail($"'{Short(text)}' is not an RFC 3339 date-time");
                }
                else if (_options.ContractTimes && !ContractTime().IsMatch(text))
                {
                    fail($"'{Short(text)}' is not written as the service writes times (UTC, 'Z', at most 6 fraction digits, none when zero)");
                }

                break;
            case "date":
                if (!DateOnly.TryParseExact(text, "yyyy'-'MM'-'dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
                {
                    fail($"'{Short(text)}' is not an RFC 3339 full-date");
                }

                break;
            case var format:
                throw new NotSupportedException($"string format '{format}' is not supported by this validator");
        }
    }

    private static void CheckNumber(string text, JsonObject schema, Action<string> fail)
    {
        var number = Number(text);
        if (schema["minimum"] is JsonValue minimum)
        {
            var bound = Number(minimum.ToJsonString());
            var exclusive = schema["exclusiveMinimum"]?.GetValue<bool>() == true;
            if (exclusive ? number <= bound : number < bound)
            {
                fail($"{text} is below {(exclusive ? "exclusive " : "")}minimum {minimum.ToJsonString()}");
            }
        }

        if (schema["maximum"] is JsonValue maximum)
        {
            var bound = Number(maximum.ToJsonString());
            var exclusive = schema["exclusiveMaximum"]?.GetValue<bool>() == true;
            if (exclusive ? number >= bound : number > bound)
            {
                fail($"{text} is above {(exclusive ? "exclusive " : "")}maximum {maximum.ToJsonString()}");
            }
        }

        if (schema["multipleOf"] is JsonValue multipleOf)
        {
            var divisor = Number(multipleOf.ToJsonString());
            if (divisor == 0 || number % divisor != 0)
            {
                fail($"{text} is not a multiple of {multipleOf.ToJsonString()}");
            }
        }

        switch (schema["format"]?.GetValue<string>())
        {
            case null or "double" or "float":
                break;
            case "int32":
                if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
                {
                    fail($"{text} is not a 32-bit integer");
                }

                break;
            case "int64":
                if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
                {
                    fail($"{text} is not a 64-bit integer");
                }

                break;
            case var format:
                throw new NotSupportedException($"number format '{format}' is not supported by this validator");
        }
    }

    private void CheckCombinators(JsonNode instance, JsonObject schema, string at, string schemaAt, List<string> errors, int depth, Action<string> fail)
    {
        if (schema["allOf"] is JsonArray all)
        {
            for (var i = 0; i < all.Count; i++)
            {
                Check(instance, all[i], at, $"{schemaAt}/allOf/{i}", errors, depth + 1);
            }
        }

        if (schema["anyOf"] is JsonArray any && !any.Select((option, i) => Passes(instance, option, at, $"{schemaAt}/anyOf/{i}", depth)).Any(ok => ok))
        {
            fail("matches none of anyOf");
        }

        if (schema["oneOf"] is JsonArray one)
        {
            var matches = one.Select((option, i) => Passes(instance, option, at, $"{schemaAt}/oneOf/{i}", depth)).Count(ok => ok);
            if (matches != 1)
            {
                fail($"matches {matches} of oneOf, not exactly one");
            }
        }

        if (schema["not"] is { } not && Passes(instance, not, at, $"{schemaAt}/not", depth))
        {
            fail("matches the schema under not");
        }
    }

    private bool Passes(JsonNode instance, JsonNode? schema, string at, string schemaAt, int depth)
    {
        var branch = new List<string>();
        Check(instance, schema, at, schemaAt, branch, depth + 1);
        return branch.Count == 0;
    }

    private JsonNode Resolve(string reference)
    {
        if (!reference.StartsWith("#/", StringComparison.Ordinal) && reference != "#")
        {
            throw new NotSupportedException($"only local references are supported, not '{reference}'");
        }

        var node = _document;
        foreach (var token in reference[1..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = token.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            node = (node as JsonObject)?[name] ?? throw new FormatException($"reference '{reference}' points at nothing");
        }

        return node;
    }

    private static bool HasType(JsonNode instance, string type) => type switch
    {
        "object" => instance is JsonObject,
        "array" => instance is JsonArray,
        "string" => instance.GetValueKind() == JsonValueKind.String,
        "boolean" => instance.GetValueKind() is JsonValueKind.True or JsonValueKind.False,
        "number" => instance.GetValueKind() == JsonValueKind.Number,
        // A JSON number written without fraction or exponent: 1.5 and 1e3 are numbers, not integers.
        "integer" => instance.GetValueKind() == JsonValueKind.Number && WholeNumber().IsMatch(instance.ToJsonString()),
        _ => throw new NotSupportedException($"type '{type}' is not an OpenAPI 3.0 type"),
    };

    private static bool IsObjectSchema(JsonObject schema) =>
        schema["type"]?.GetValue<string>() == "object" || schema.ContainsKey("properties");

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

    /// <summary>A count keyword's value, whichever CLR type the document reader gave it.</summary>
    private static long Count(JsonValue value) => long.Parse(value.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    private static decimal Number(string text) =>
        decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new NotSupportedException($"number {text} is beyond what this validator compares");

    private static string Describe(JsonNode node) => node switch
    {
        JsonObject => "an object",
        JsonArray => "an array",
        _ => $"{node.GetValueKind().ToString().ToLowerInvariant()} {Short(node.ToJsonString())}",
    };

    private static string Short(string text) => text.Length <= 60 ? text : text[..57] + "...";

    private static string Escape(string token) =>
        token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)$", RegexOptions.CultureInvariant)]
    private static partial Regex WholeNumber();

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

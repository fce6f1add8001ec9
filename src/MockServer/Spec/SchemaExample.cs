using System.Text.Json.Nodes;

namespace HpcJobs.MockServer.Spec;

/// <summary>A value for a schema that documents no example: its own <c>example</c>, <c>default</c> or first enum value, else one built from its type.</summary>
public static class SchemaExample
{
    public static JsonNode? From(OpenApiSpec spec, JsonNode? schema) => Build(spec, schema, depth: 0);

    private static JsonNode? Build(OpenApiSpec spec, JsonNode? raw, int depth)
    {
        if (spec.Resolve(raw) is not JsonObject schema || depth > 16)
        {
            return null;
        }

        if (schema.TryGetPropertyValue("example", out var example) || schema.TryGetPropertyValue("default", out example))
        {
            return example?.DeepClone();
        }

        if (schema["enum"] is JsonArray { Count: > 0 } values)
        {
            return values[0]?.DeepClone();
        }

        foreach (var combinator in new[] { "allOf", "oneOf", "anyOf" })
        {
            if (schema[combinator] is JsonArray { Count: > 0 } options)
            {
                return combinator == "allOf"
                    ? Merge(options.Select(option => Build(spec, option, depth + 1)))
                    : Build(spec, options[0], depth + 1);
            }
        }

        var type = schema["type"]?.GetValue<string>() ?? (schema.ContainsKey("properties") ? "object" : null);
        return type switch
        {
            "object" => new JsonObject(
                (schema["properties"] as JsonObject ?? [])
                    .Select(p => KeyValuePair.Create(p.Key, Build(spec, p.Value, depth + 1)))
                    .Where(p => p.Value is not null)),
            "array" => new JsonArray(Build(spec, schema["items"], depth + 1) is { } item ? [item] : []),
            "integer" or "number" => schema["minimum"]?.DeepClone() ?? JsonValue.Create(0),
            "boolean" => JsonValue.Create(true),
            "string" => JsonValue.Create(schema["format"]?.GetValue<string>() switch
            {
                "date-time" => "2026-01-15T10:00:00Z",
                "date" => "2026-01-15",
                _ => new string('x', schema["minLength"] is JsonValue min ? int.Parse(min.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture) : 1),
            }),
            _ => null,
        };
    }

    private static JsonObject Merge(IEnumerable<JsonNode?> parts)
    {
        var merged = new JsonObject();
        foreach (var part in parts.OfType<JsonObject>())
        {
            foreach (var (key, value) in part)
            {
                merged[key] = value?.DeepClone();
            }
        }

        return merged;
    }
}

using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace HpcJobs.MockServer.Spec;

/// <summary>A value for a schema that documents no example: its own <c>example</c>, <c>default</c> or first enum value, else one built from its type.</summary>
public static class SchemaExample
{
    public static JsonNode? From(IOpenApiSchema? schema) => Build(schema, depth: 0);

    private static JsonNode? Build(IOpenApiSchema? schema, int depth)
    {
        if (schema is null || depth > 16)
        {
            return null;
        }

#pragma warning disable CS0618 // OpenAPI 3.0's single schema example is what this document writes.
        if ((schema.Example ?? schema.Examples?.FirstOrDefault() ?? schema.Default) is { } example)
#pragma warning restore CS0618
        {
            return SpecExample.Json(example);
        }

        if (schema.Enum is [var first, ..])
        {
            return SpecExample.Json(first);
        }

        if (schema.AllOf is { Count: > 0 } all)
        {
            return Merge(all.Select(part => Build(part, depth + 1)));
        }

        if ((schema.OneOf is { Count: > 0 } ? schema.OneOf : schema.AnyOf) is [var option, ..])
        {
            return Build(option, depth + 1);
        }

        var type = schema.Type ?? (schema.Properties is { Count: > 0 } ? JsonSchemaType.Object : null);
        return (type & ~JsonSchemaType.Null) switch
        {
            JsonSchemaType.Object => new JsonObject(
                (schema.Properties ?? new Dictionary<string, IOpenApiSchema>())
                    .Select(p => KeyValuePair.Create(p.Key, Build(p.Value, depth + 1)))
                    .Where(p => p.Value is not null)),
            JsonSchemaType.Array => new JsonArray(Build(schema.Items, depth + 1) is { } item ? [item] : []),
            JsonSchemaType.Integer or JsonSchemaType.Number => schema.Minimum is { } minimum ? JsonNode.Parse(minimum) : JsonValue.Create(0),
            JsonSchemaType.Boolean => JsonValue.Create(true),
            JsonSchemaType.String => JsonValue.Create(schema.Format switch
            {
                "date-time" => "2026-01-15T10:00:00Z",
                "date" => "2026-01-15",
                _ => new string('x', schema.MinLength ?? 1),
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

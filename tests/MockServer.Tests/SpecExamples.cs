using System.Text.Json.Nodes;
using Json.Pointer;

namespace HpcJobs.MockServer.Tests;

/// <param name="Location">Where the example value is in the document.</param>
/// <param name="SchemaLocation">Where its schema is, for messages.</param>
public sealed record SpecExampleCase(string Location, JsonNode? Value, JsonNode? Schema, string SchemaLocation, SchemaOptions Options);

/// <summary>
/// Every example and default in the document with the schema it must satisfy: parameters,
/// request bodies, responses and headers (under paths and under components), and the
/// <c>example</c>/<c>default</c> of every schema. Response examples are held to what the service
/// writes (<see cref="SchemaOptions.Responses"/>); the rest to OpenAPI's own rules.
/// </summary>
public static class SpecExamples
{
    private static readonly string[] Methods = ["get", "head", "post", "put", "patch", "delete", "options", "trace"];

    /// <param name="root">The document as JSON (<see cref="SpecFile.Root"/>).</param>
    public static IReadOnlyList<SpecExampleCase> All(JsonObject root)
    {
        var walk = new Walk(root);
        foreach (var (template, item) in root["paths"] as JsonObject ?? [])
        {
            var where = "#/paths/" + Escape(template);
            var path = (JsonObject)item!;
            walk.Parameters(path["parameters"], where + "/parameters");
            foreach (var method in Methods)
            {
                if (path[method] is JsonObject operation)
                {
                    walk.Parameters(operation["parameters"], $"{where}/{method}/parameters");
                    if (operation["requestBody"] is { } body)
                    {
                        walk.RequestBody(body, $"{where}/{method}/requestBody");
                    }

                    foreach (var (status, response) in operation["responses"] as JsonObject ?? [])
                    {
                        walk.Response(response, $"{where}/{method}/responses/{status}");
                    }
                }
            }
        }

        var components = root["components"] as JsonObject ?? [];
        foreach (var (name, parameter) in components["parameters"] as JsonObject ?? [])
        {
            walk.Parameter(parameter, "#/components/parameters/" + Escape(name));
        }

        foreach (var (name, body) in components["requestBodies"] as JsonObject ?? [])
        {
            walk.RequestBody(body, "#/components/requestBodies/" + Escape(name));
        }

        foreach (var (name, response) in components["responses"] as JsonObject ?? [])
        {
            walk.Response(response, "#/components/responses/" + Escape(name));
        }

        foreach (var (name, header) in components["headers"] as JsonObject ?? [])
        {
            walk.Header(header, "#/components/headers/" + Escape(name));
        }

        foreach (var (name, schema) in components["schemas"] as JsonObject ?? [])
        {
            walk.Schema(schema, "#/components/schemas/" + Escape(name));
        }

        return walk.Cases;
    }

    /// <summary>A JSON-pointer token.</summary>
    public static string Escape(string token) =>
        token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private sealed class Walk(JsonObject root)
    {
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

        public List<SpecExampleCase> Cases { get; } = [];

        public void Parameters(JsonNode? list, string where)
        {
            var i = 0;
            foreach (var parameter in list as JsonArray ?? [])
            {
                Parameter(parameter, $"{where}/{i++}");
            }
        }

        public void Parameter(JsonNode? raw, string where)
        {
            var (parameter, at) = Follow(raw, where);
            Examples(parameter, at, parameter["schema"], at + "/schema", SchemaOptions.Open);
            Schema(parameter["schema"], at + "/schema");
        }

        public void RequestBody(JsonNode? raw, string where)
        {
            var (body, at) = Follow(raw, where);
            Content(body["content"], at + "/content", SchemaOptions.Open);
        }

        public void Response(JsonNode? raw, string where)
        {
            var (response, at) = Follow(raw, where);
            Content(response["content"], at + "/content", SchemaOptions.Responses);
            foreach (var (name, header) in response["headers"] as JsonObject ?? [])
            {
                Header(header, $"{at}/headers/{Escape(name)}");
            }
        }

        public void Header(JsonNode? raw, string where)
        {
            var (header, at) = Follow(raw, where);
            Examples(header, at, header["schema"], at + "/schema", SchemaOptions.Open);
            Schema(header["schema"], at + "/schema");
        }

        /// <summary>A schema's own example and default, then those of the schemas inside it (not across $ref: the target is walked on its own).</summary>
        public void Schema(JsonNode? raw, string where)
        {
            if (raw is not JsonObject schema || schema.ContainsKey("$ref") || !_seen.Add("schema " + where))
            {
                return;
            }

            foreach (var keyword in new[] { "example", "default" })
            {
                if (schema.TryGetPropertyValue(keyword, out var value))
                {
                    Add(new SpecExampleCase($"{where}/{keyword}", value, schema, where, SchemaOptions.Open));
                }
            }

            foreach (var (name, property) in schema["properties"] as JsonObject ?? [])
            {
                Schema(property, $"{where}/properties/{Escape(name)}");
            }

            Schema(schema["items"], where + "/items");
            Schema(schema["additionalProperties"], where + "/additionalProperties");
            Schema(schema["not"], where + "/not");
            foreach (var combinator in new[] { "allOf", "anyOf", "oneOf" })
            {
                var i = 0;
                foreach (var part in schema[combinator] as JsonArray ?? [])
                {
                    Schema(part, $"{where}/{combinator}/{i++}");
                }
            }
        }

        private void Content(JsonNode? content, string where, SchemaOptions options)
        {
            foreach (var (name, raw) in content as JsonObject ?? [])
            {
                var at = $"{where}/{Escape(name)}";
                var media = (JsonObject)raw!;
                Examples(media, at, media["schema"], at + "/schema", options);
                Schema(media["schema"], at + "/schema");
            }
        }

        private void Examples(JsonObject owner, string where, JsonNode? schema, string schemaWhere, SchemaOptions options)
        {
            if (owner.TryGetPropertyValue("example", out var single))
            {
                Add(new SpecExampleCase(where + "/example", single, schema, schemaWhere, options));
            }

            foreach (var (name, raw) in owner["examples"] as JsonObject ?? [])
            {
                var (example, at) = Follow(raw, $"{where}/examples/{Escape(name)}");
                Add(new SpecExampleCase(at + "/value", example["value"], schema, schemaWhere, options));
            }
        }

        /// <summary>A referenced component is checked once, where it is defined, whoever references it.</summary>
        private (JsonObject Node, string Where) Follow(JsonNode? raw, string where)
        {
            while (raw is JsonObject { } obj && obj["$ref"] is JsonValue reference)
            {
                where = reference.GetValue<string>();
                raw = JsonPointer.Parse(where[1..]).TryEvaluate(root, out var target) ? target : throw new FormatException($"reference '{where}' points at nothing");
            }

            return ((JsonObject)raw!, where);
        }

        private void Add(SpecExampleCase example)
        {
            // A component response is reached from every operation that uses it; check it once.
            if (_seen.Add(example.Location))
            {
                Cases.Add(example);
            }
        }
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using HpcJobs.MockServer.Spec;
using Microsoft.OpenApi;

namespace HpcJobs.MockServer.Tests;

/// <summary>A response as received, detached from the HTTP client.</summary>
public sealed record ObservedResponse(int Status, string? ContentType, string Body, IReadOnlyDictionary<string, string> Headers)
{
    public static async Task<ObservedResponse> ReadAsync(HttpResponseMessage response)
    {
        var headers = response.Headers.Concat(response.Content.Headers)
            .ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);
        return new ObservedResponse(
            (int)response.StatusCode, response.Content.Headers.ContentType?.ToString(), await response.Content.ReadAsStringAsync(), headers);
    }
}

/// <summary>
/// Whether a response is one the document describes: its status is documented for the operation,
/// its <c>Content-Type</c> is a documented media type, its body validates against that media
/// type's schema with undocumented fields rejected and times as the service writes them, and
/// its documented headers are present and valid.
/// </summary>
public sealed class SpecConformance(OpenApiSpec spec)
{
    private readonly SchemaValidator _bodies = new(SpecFile.Json(File.ReadAllText(spec.Source)), SchemaOptions.Responses);
    private readonly SchemaValidator _headers = new(SpecFile.Json(File.ReadAllText(spec.Source)), SchemaOptions.Open);

    public IReadOnlyList<string> Check(SpecOperation operation, ObservedResponse response)
    {
        var documented = operation.ResponseFor(response.Status);
        return documented is null
            ? [$"{operation}: status {response.Status} is not documented (documented: {string.Join(", ", operation.Responses.Select(r => r.Status))}); body {Short(response.Body)}"]
            : Against(documented, response, operation.ToString());
    }

    /// <summary>A method the path does not serve: <c>components/responses/MethodNotAllowed</c>, with <c>Allow</c> naming the methods it does.</summary>
    public IReadOnlyList<string> CheckMethodNotAllowed(SpecPath path, string method, ObservedResponse response)
    {
        var context = $"{method} {path.Template}";
        if (response.Status != 405)
        {
            return [$"{context}: expected 405, got {response.Status}: {Short(response.Body)}"];
        }

        var problems = Against(spec.ComponentResponse("MethodNotAllowed", "405"), response, context).ToList();
        var allowed = response.Headers.GetValueOrDefault("Allow")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [];
        var expected = path.Operations.Select(op => op.Method.Method).ToArray();
        if (!allowed.Order().SequenceEqual(expected.Order()))
        {
            problems.Add($"{context}: Allow is '{string.Join(", ", allowed)}', the path serves {string.Join(", ", expected)}");
        }

        return problems;
    }

    /// <summary>A path the document does not have: 404 with the Error body (the document's conventions).</summary>
    public IReadOnlyList<string> CheckUnknownPath(string url, ObservedResponse response)
    {
        if (response.Status != 404)
        {
            return [$"GET {url}: expected 404, got {response.Status}"];
        }

        var error = new SpecResponse("404", new OpenApiResponse
        {
            Content = new Dictionary<string, IOpenApiMediaType> { ["application/json"] = new OpenApiMediaType { Schema = new OpenApiSchemaReference("Error", spec.Document) } },
        });
        return Against(error, response, $"GET {url}");
    }

    private List<string> Against(SpecResponse documented, ObservedResponse response, string context)
    {
        var problems = new List<string>();
        context = $"{context} {response.Status}";
        foreach (var header in documented.Headers)
        {
            if (!response.Headers.TryGetValue(header.Name, out var value))
            {
                problems.Add($"{context}: documented header {header.Name} is missing");
            }
            else
            {
                problems.AddRange(_headers.Validate(JsonValue.Create(value), header.Schema, $"{context} header {header.Name}").Select(e => $"{context}: header {header.Name}: {e}"));
            }
        }

        if (documented.Content.Count == 0)
        {
            if (response.Body.Length > 0)
            {
                problems.Add($"{context}: documents no body, got {Short(response.Body)}");
            }

            return problems;
        }

        var media = documented.MediaTypeFor(response.ContentType);
        if (media is null)
        {
            problems.Add($"{context}: Content-Type '{response.ContentType}' is not documented (documented: {string.Join(", ", documented.Content.Select(m => m.Name))})");
            return problems;
        }

        JsonNode? body;
        try
        {
            body = media.IsJson ? JsonNode.Parse(response.Body) : JsonValue.Create(response.Body);
        }
        catch (JsonException e)
        {
            problems.Add($"{context}: body is not JSON ({e.Message}): {Short(response.Body)}");
            return problems;
        }

        problems.AddRange(_bodies.Validate(body, media.Schema, $"{context} {media.Name}").Select(e => $"{context}: {e}"));
        return problems;
    }

    private static string Short(string text) => text.Length <= 300 ? text : text[..300] + "...";
}

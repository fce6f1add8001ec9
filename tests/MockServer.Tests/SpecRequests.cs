using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using HpcJobs.MockServer.Spec;
using Microsoft.OpenApi;

namespace HpcJobs.MockServer.Tests;

/// <summary>Requests built from the document's own examples.</summary>
public static partial class SpecRequests
{
    /// <summary>The operation's path with each parameter set to its first example.</summary>
    public static string PathOf(SpecOperation operation) =>
        Parameter().Replace(operation.Path, match =>
        {
            var parameter = operation.Parameters.Single(p => p.In == ParameterLocation.Path && p.Name == match.Groups[1].Value);
#pragma warning disable CS0618 // OpenAPI 3.0's single schema example is what this document writes.
            var value = Examples(parameter).FirstOrDefault()?.Value ?? SpecExample.Json(parameter.Schema?.Example);
#pragma warning restore CS0618
            return Uri.EscapeDataString(value?.GetValue<string>() ?? throw new InvalidOperationException($"{operation}: parameter {parameter.Name} has no example"));
        });

    /// <summary>The operation called with its path examples and, when it takes a body, the body example named (default: the first).</summary>
    public static HttpRequestMessage Request(SpecOperation operation, string? bodyExample = null)
    {
        var request = new HttpRequestMessage(operation.Method, PathOf(operation));
        if (operation.RequestContent is [var media, ..])
        {
            var example = bodyExample is null ? media.Examples[0] : media.Examples.Single(e => e.Name == bodyExample);
            request.Content = new StringContent(example.Value?.ToJsonString() ?? "null", Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(media.Name);
        }

        return request;
    }

    public static IReadOnlyList<SpecExample> Examples(IOpenApiParameter parameter) => SpecExample.All(parameter.Examples, parameter.Example);

    /// <summary>For messages: JSON as people read it, quotes and apostrophes unescaped.</summary>
    public static readonly System.Text.Json.JsonSerializerOptions Readable = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    [GeneratedRegex(@"\{([^}]+)\}", RegexOptions.CultureInvariant)]
    private static partial Regex Parameter();
}

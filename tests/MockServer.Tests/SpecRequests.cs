using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using HpcJobs.MockServer.Spec;

namespace HpcJobs.MockServer.Tests;

/// <summary>Requests built from the document's own examples.</summary>
public static partial class SpecRequests
{
    /// <summary>The operation's path with each parameter set to its first example.</summary>
    public static string PathOf(SpecOperation operation) =>
        Parameter().Replace(operation.Path, match =>
        {
            var parameter = operation.Parameters.Single(p => p.In == "path" && p.Name == match.Groups[1].Value);
            var value = parameter.Examples.FirstOrDefault()?.Value ?? parameter.Schema?["example"];
            return Uri.EscapeDataString(value?.GetValue<string>() ?? throw new InvalidOperationException($"{parameter.Location} has no example"));
        });

    /// <summary>The operation called with its path examples and, when it takes a body, the body example named (default: the first).</summary>
    public static HttpRequestMessage Request(SpecOperation operation, string? bodyExample = null)
    {
        var request = new HttpRequestMessage(new HttpMethod(operation.Method.ToUpperInvariant()), PathOf(operation));
        if (operation.RequestBody is { Content: [var media, ..] })
        {
            var example = bodyExample is null ? media.Examples[0] : media.Examples.Single(e => e.Name == bodyExample);
            request.Content = new StringContent(example.Value?.ToJsonString() ?? "null", Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(media.Name);
        }

        return request;
    }

    /// <summary>For messages: JSON as people read it, quotes and apostrophes unescaped.</summary>
    public static readonly System.Text.Json.JsonSerializerOptions Readable = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    [GeneratedRegex(@"\{([^}]+)\}", RegexOptions.CultureInvariant)]
    private static partial Regex Parameter();
}

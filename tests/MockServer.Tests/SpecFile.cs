using System.Text.Json.Nodes;
using HpcJobs.MockServer.Spec;
using Microsoft.OpenApi.YamlReader;
using SharpYaml.Serialization;

namespace HpcJobs.MockServer.Tests;

/// <summary>The repository's config/openapi.yaml, read once.</summary>
public static class SpecFile
{
    /// <summary><c>OPENAPI_PATH</c>, else the source of truth in the checkout; the copy beside the tests only when there is no checkout.</summary>
    public static string Path { get; } = Find();

    private static readonly Lazy<OpenApiSpec> Loaded = new(() => OpenApiSpec.Load(Path));

    private static readonly Lazy<JsonObject> Raw = new(() => Json(File.ReadAllText(Path)));

    public static OpenApiSpec Spec => Loaded.Value;

    /// <summary>
    /// The document as written, as the JSON Microsoft.OpenApi's YAML reader turns it into (so typed as
    /// the mock's examples are): what examples are walked in and schemas resolved against. Not the
    /// object model written back, which drops what is the default, such as <c>additionalProperties: true</c>.
    /// </summary>
    public static JsonObject Root => Raw.Value;

    public static JsonObject Json(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return SpecExample.Json(YamlConverter.ToJsonNode(stream.Documents[0]))!.AsObject();
    }

    private static string Find()
    {
        // A candidate document can be checked against the service before it replaces the real one.
        if (Environment.GetEnvironmentVariable("OPENAPI_PATH") is { Length: > 0 } given)
        {
            return System.IO.Path.GetFullPath(given);
        }

        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var candidate = System.IO.Path.Combine(folder.FullName, "config", "openapi.yaml");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        var beside = System.IO.Path.Combine(AppContext.BaseDirectory, "openapi.yaml");
        return File.Exists(beside) ? beside : throw new FileNotFoundException("config/openapi.yaml not found above " + AppContext.BaseDirectory);
    }
}

using HpcJobs.MockServer.Spec;

namespace HpcJobs.MockServer.Tests;

/// <summary>The repository's config/openapi.yaml, read once.</summary>
public static class SpecFile
{
    /// <summary><c>OPENAPI_PATH</c>, else the source of truth in the checkout; the copy beside the tests only when there is no checkout.</summary>
    public static string Path { get; } = Find();

    private static readonly Lazy<OpenApiSpec> Loaded = new(() => OpenApiSpec.Load(Path));

    public static OpenApiSpec Spec => Loaded.Value;

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

using System.Globalization;
using System.Net;
using HpcJobs.Api;

namespace HpcJobs.MockServer;

/// <summary>The mock's environment: <c>PORT</c> (8081), <c>HOST</c> (0.0.0.0), <c>OPENAPI_PATH</c> (found when unset).</summary>
public sealed record MockSettings(IPAddress Host, int Port, string SpecPath)
{
    public const string SpecFileName = "openapi.yaml";

    public static MockSettings Load(IConfiguration configuration) =>
        new(Address(configuration, "HOST", "0.0.0.0"), PortNumber(configuration, "PORT", 8081), FindSpec(configuration));

    /// <summary>
    /// <c>OPENAPI_PATH</c>, else the copy beside the executable, else <c>config/openapi.yaml</c> in
    /// the nearest folder above the executable or the working directory (running from a checkout).
    /// </summary>
    private static string FindSpec(IConfiguration configuration)
    {
        if (configuration["OPENAPI_PATH"] is { Length: > 0 } given)
        {
            return File.Exists(given) ? Path.GetFullPath(given) : throw new MockSettingsException("OPENAPI_PATH", given, "no such file");
        }

        var beside = Path.Combine(AppContext.BaseDirectory, SpecFileName);
        if (File.Exists(beside))
        {
            return beside;
        }

        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
            {
                var candidate = Path.Combine(folder.FullName, "config", SpecFileName);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new MockSettingsException("OPENAPI_PATH", string.Empty, $"is not set and no {SpecFileName} is beside the server or in a config/ folder above it");
    }

    private static int PortNumber(IConfiguration configuration, string name, int fallback)
    {
        var text = configuration[name] is { Length: > 0 } given ? given : fallback.ToString(CultureInfo.InvariantCulture);
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? port
            : throw new MockSettingsException(name, text, "must be a whole number from 1 to 65535");
    }

    private static IPAddress Address(IConfiguration configuration, string name, string fallback)
    {
        var text = configuration[name] is { Length: > 0 } given ? given : fallback;
        return ListenAddress.TryParse(text, out var address) ? address : throw new MockSettingsException(name, text, ListenAddress.Problem);
    }
}

public sealed class MockSettingsException(string variable, string value, string problem)
    : Exception($"invalid setting {variable}='{value}': {problem}");

public static partial class MockHosting
{
    /// <summary>Binds Kestrel to HOST:PORT.</summary>
    public static WebApplicationBuilder UseMockEndpoint(this WebApplicationBuilder builder, MockSettings settings)
    {
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(settings.Host, settings.Port);
            kestrel.AddServerHeader = false;
        });
        return builder;
    }

    public static void LogServing(this WebApplication app, Spec.OpenApiSpec spec, MockSettings settings)
    {
        var endpoint = new IPEndPoint(settings.Host, settings.Port);
        Serving(app.Logger, spec.Operations.Count(), spec.Title, spec.Version, settings.SpecPath, $"http://{endpoint}");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Mock server serving {OperationCount} operations of {Title} {Version} from {SpecPath} on {Address}")]
    private static partial void Serving(ILogger logger, int operationCount, string title, string version, string specPath, string address);
}

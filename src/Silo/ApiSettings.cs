using HpcJobs.Api.Ingest;
using HpcJobs.Api.Metrics;
using HpcJobs.Api.Security;

namespace HpcJobs.Silo;

/// <summary>The API's features, each registered with its options bound from the contract's variables.</summary>
public static class ApiSettings
{
    /// <summary>INGEST_MAX_SAMPLES_IN_FLIGHT: the samples a silo admits at once.</summary>
    public static WebApplicationBuilder AddIngestAdmission(this WebApplicationBuilder builder)
    {
        builder.Services.AddIngestAdmission();
        builder.Services.AddOptions<IngestAdmissionOptions>().Configure<IConfiguration>((admission, env) => admission.MaxSamplesInFlight =
            env.Integer("INGEST_MAX_SAMPLES_IN_FLIGHT", IngestAdmissionOptions.DefaultMaxSamplesInFlight, 1, 10_000_000)).ValidateOnStart();
        return builder;
    }

    /// <summary>METRICS_ENDED_JOB_GRACE_SECONDS: how long an ended job's series stay on <c>/metrics</c>.</summary>
    public static WebApplicationBuilder AddPrometheusExport(this WebApplicationBuilder builder)
    {
        builder.Services.AddPrometheusExport();
        builder.Services.AddOptions<MetricsOptions>().Configure<IConfiguration>((metrics, env) =>
            metrics.EndedJobGrace = env.Seconds("METRICS_ENDED_JOB_GRACE_SECONDS", 300, 0, 86400)).ValidateOnStart();
        return builder;
    }

    /// <summary>API_WRITE_TOKENS, API_READ_TOKENS (each also from a <c>_FILE</c>), API_NODE_TOKENS_FILE and METRICS_AUTH.</summary>
    public static WebApplicationBuilder AddTokenAccess(this WebApplicationBuilder builder)
    {
        builder.Services.AddTokenAccess();
        builder.Services.AddOptions<AccessOptions>().Configure<IConfiguration>((access, env) =>
        {
            access.WriteTokens = Tokens(env, "API_WRITE_TOKENS");
            access.ReadTokens = Tokens(env, "API_READ_TOKENS");
            access.NodeTokensFile = env.Text("API_NODE_TOKENS_FILE", string.Empty) is { Length: > 0 } file ? file : null;
            access.NodeTokens = NodeTokens(access.NodeTokensFile);
            access.MetricsNeedToken = env.Choice("METRICS_AUTH", true, "must be 'read' or 'none'", ("read", true), ("none", false));
        }).ValidateOnStart();
        return builder;
    }

    /// <summary>Comma-separated tokens from <paramref name="name"/>, plus one per line from the file named by <c>{name}_FILE</c>.</summary>
    private static IReadOnlyList<string> Tokens(IConfiguration configuration, string name)
    {
        var tokens = configuration.Text(name, string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (configuration[name + "_FILE"] is { Length: > 0 } file)
        {
            tokens.AddRange(Lines(name + "_FILE", file).Select(line => line.Trim()).Where(line => line.Length > 0 && !line.StartsWith('#')));
        }

        // Values are secrets: name the variable, never echo them.
        return tokens.Any(t => t.Length < 16)
            ? throw new SettingsException(name, "(hidden)", "each token must be at least 16 characters")
            : tokens;
    }

    /// <summary>The <c>token node</c> lines of the API_NODE_TOKENS_FILE (none when unset).</summary>
    private static IReadOnlyList<NodeToken> NodeTokens(string? file)
    {
        try
        {
            return file is null ? [] : NodeTokenFile.Parse(Lines("API_NODE_TOKENS_FILE", file));
        }
        catch (FormatException e)
        {
            // The message names the line, never its text: the line holds a secret.
            throw new SettingsException("API_NODE_TOKENS_FILE", file!, e.Message);
        }
    }

    private static string[] Lines(string name, string file)
    {
        try
        {
            return File.ReadAllLines(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SettingsException(name, file, $"cannot be read: {e.Message}");
        }
    }
}

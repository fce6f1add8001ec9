using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using HpcJobs.Api;
using HpcJobs.Api.Security;
using HpcJobs.Grains.Storage.Postgres;
using HpcJobs.Grains.Storage.Sqlite;
using Microsoft.Extensions.Configuration;

namespace HpcJobs.Silo;

public enum DatabaseType
{
    Sqlite,
    Postgres,
}

/// <summary>
/// The contract's environment variables, parsed and checked once at start. A bad value stops the
/// process with one line that names the variable.
/// </summary>
public sealed record ServiceSettings(
    IPAddress Host,
    int Port,
    DatabaseType DatabaseType,
    string DatabaseUrl,
    int RetentionDays,
    int SiloPort,
    int GatewayPort,
    string ClusterId,
    string ServiceId,
    IPAddress AdvertisedIp,
    SqliteSynchronous SqliteSynchronous,
    int DatabasePoolSize,
    TimeSpan EndedJobGrace,
    long MaxBodyBytes,
    long MaxBatchBodyBytes,
    IReadOnlyList<string> WriteTokens,
    IReadOnlyList<string> ReadTokens,
    string? NodeTokensFile,
    IReadOnlyList<NodeToken> NodeTokens,
    bool MetricsNeedToken,
    bool SeedDemo,
    bool DemoCollector,
    int ActivationPageSize,
    TimeSpan MaxClockSkew,
    TimeSpan SampleInterval,
    int IngestMaxSamplesInFlight,
    TimeSpan ReconcileAfter,
    TimeSpan ReconcileInterval,
    int DatabaseMembershipPoolSize,
    DatabasePooler DatabasePooler,
    int StaleJobHours = 0)
{
    public static ServiceSettings Load(IConfiguration configuration, string[] args)
    {
        var type = Text(configuration, "DATABASE_TYPE", "sqlite").ToLowerInvariant() switch
        {
            "sqlite" => DatabaseType.Sqlite,
            "postgres" or "postgresql" => DatabaseType.Postgres,
            var other => throw new SettingsException("DATABASE_TYPE", other, "must be 'sqlite' or 'postgres'"),
        };
        var url = Text(configuration, "DATABASE_URL", type == DatabaseType.Sqlite ? "./hpc-jobs.db" : string.Empty);
        if (url.Length == 0)
        {
            throw new SettingsException("DATABASE_URL", url, "is required when DATABASE_TYPE=postgres");
        }

        if (type == DatabaseType.Postgres)
        {
            try
            {
                Grains.Storage.Postgres.PostgresConnectionString.Parse(url);
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                // The URL may carry a password: name the problem, not the value.
                throw new SettingsException("DATABASE_URL", "(hidden)", $"is not a PostgreSQL URL or connection string: {e.Message}");
            }
        }

        return new ServiceSettings(
            Address(configuration, "HOST", "0.0.0.0"),
            Integer(configuration, "PORT", 8080, 1, 65535),
            type,
            url,
            Integer(configuration, "METRICS_RETENTION_DAYS", 7, 1, 36500),
            Integer(configuration, "SILO_PORT", 11111, 1, 65535),
            Integer(configuration, "GATEWAY_PORT", 30000, 1, 65535),
            Identifier(configuration, "CLUSTER_ID", "hpc"),
            Identifier(configuration, "SERVICE_ID", "hpc"),
            configuration["ADVERTISED_IP"] is { Length: > 0 } ? Address(configuration, "ADVERTISED_IP", string.Empty) : DefaultAdvertisedIp(),
            Text(configuration, "SQLITE_SYNCHRONOUS", "full").ToLowerInvariant() switch
            {
                "full" => SqliteSynchronous.Full,
                "normal" => SqliteSynchronous.Normal,
                var other => throw new SettingsException("SQLITE_SYNCHRONOUS", other, "must be 'full' or 'normal'"),
            },
            Integer(configuration, "DATABASE_POOL_SIZE", 20, 2, 1000),
            TimeSpan.FromSeconds(Integer(configuration, "METRICS_ENDED_JOB_GRACE_SECONDS", 300, 0, 86400)),
            Integer(configuration, "MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
            Integer(configuration, "MAX_BATCH_BODY_BYTES", 16 * 1024 * 1024, 1024, 256 * 1024 * 1024),
            Tokens(configuration, "API_WRITE_TOKENS"),
            Tokens(configuration, "API_READ_TOKENS"),
            configuration["API_NODE_TOKENS_FILE"] is { Length: > 0 } nodeFile ? nodeFile.Trim() : null,
            ReadNodeTokens(configuration),
            Text(configuration, "METRICS_AUTH", "read").ToLowerInvariant() switch
            {
                "read" => true,
                "none" => false,
                var other => throw new SettingsException("METRICS_AUTH", other, "must be 'read' or 'none'"),
            },
            args.Contains("--seed-demo", StringComparer.Ordinal),
            Text(configuration, "DEMO_COLLECTOR", "0") switch
            {
                "1" or "true" => true,
                "0" or "false" => false,
                var other => throw new SettingsException("DEMO_COLLECTOR", other, "must be 1 or 0"),
            } || args.Contains("--demo-collector", StringComparer.Ordinal),
            Integer(configuration, "ACTIVATION_PAGE_SIZE", 1000, 1, 100_000),
            TimeSpan.FromSeconds(Integer(configuration, "MAX_CLOCK_SKEW_SECONDS", 300, 1, 86_400)),
            TimeSpan.FromSeconds(Integer(configuration, "SAMPLE_INTERVAL_SECONDS", 30, 1, 3600)),
            Integer(configuration, "INGEST_MAX_SAMPLES_IN_FLIGHT", Api.Ingest.IngestAdmissionOptions.DefaultMaxSamplesInFlight, 1, 10_000_000),
            TimeSpan.FromSeconds(Integer(configuration, "RECONCILE_AFTER_SECONDS", 600, 0, 30 * 86_400)),
            TimeSpan.FromSeconds(Integer(configuration, "RECONCILE_INTERVAL_SECONDS", 60, 1, 3600)),
            Integer(configuration, "DATABASE_MEMBERSHIP_POOL_SIZE", 4, 1, 100),
            Text(configuration, "DATABASE_POOLER", "none").ToLowerInvariant() switch
            {
                "none" => DatabasePooler.None,
                "pgbouncer" => DatabasePooler.PgBouncer,
                var other => throw new SettingsException("DATABASE_POOLER", other, "must be 'none' or 'pgbouncer'"),
            },
            Integer(configuration, "STALE_JOB_HOURS", 0, 0, 876_000));
    }

    /// <summary>Comma-separated tokens from <paramref name="name"/>, plus one per line from the file named by <c>{name}_FILE</c>.</summary>
    private static IReadOnlyList<string> Tokens(IConfiguration configuration, string name)
    {
        var tokens = Text(configuration, name, string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (configuration[name + "_FILE"] is { Length: > 0 } file)
        {
            try
            {
                tokens.AddRange(File.ReadAllLines(file)
                    .Select(line => line.Trim())
                    .Where(line => line.Length > 0 && !line.StartsWith('#')));
            }
            catch (IOException e)
            {
                throw new SettingsException(name + "_FILE", file, $"cannot be read: {e.Message}");
            }
            catch (UnauthorizedAccessException e)
            {
                throw new SettingsException(name + "_FILE", file, $"cannot be read: {e.Message}");
            }
        }

        // Values are secrets: name the variable, never echo them.
        return tokens.Any(t => t.Length < 16)
            ? throw new SettingsException(name, "(hidden)", "each token must be at least 16 characters")
            : tokens;
    }

    /// <summary>The <c>token node</c> lines of the file named by <c>API_NODE_TOKENS_FILE</c> (none when unset).</summary>
    private static IReadOnlyList<NodeToken> ReadNodeTokens(IConfiguration configuration)
    {
        const string name = "API_NODE_TOKENS_FILE";
        if (configuration[name] is not { Length: > 0 } file)
        {
            return [];
        }

        try
        {
            return NodeTokenFile.Read(file.Trim());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SettingsException(name, file, $"cannot be read: {e.Message}");
        }
        catch (FormatException e)
        {
            // The message names the line, never its text: the line holds a secret.
            throw new SettingsException(name, file, e.Message);
        }
    }

    private static string Text(IConfiguration configuration, string name, string fallback) =>
        configuration[name] is { Length: > 0 } value ? value.Trim() : fallback;

    private static int Integer(IConfiguration configuration, string name, int fallback, int min, int max)
    {
        var text = Text(configuration, name, fallback.ToString(CultureInfo.InvariantCulture));
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new SettingsException(name, text, $"must be a whole number from {min} to {max}");
    }

    private static IPAddress Address(IConfiguration configuration, string name, string fallback)
    {
        var text = Text(configuration, name, fallback);
        return ListenAddress.TryParse(text, out var address) ? address : throw new SettingsException(name, text, ListenAddress.Problem);
    }

    private static string Identifier(IConfiguration configuration, string name, string fallback)
    {
        var text = Text(configuration, name, fallback);
        return text.Length <= 150 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            ? text
            : throw new SettingsException(name, text, "must be up to 150 letters, digits, '-', '_' or '.'");
    }

    private static IPAddress DefaultAdvertisedIp()
    {
        var address = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        return address ?? IPAddress.Loopback;
    }
}

public sealed class SettingsException(string variable, string value, string problem)
    : Exception($"invalid setting {variable}='{value}': {problem}")
{
    public string Variable { get; } = variable;
}

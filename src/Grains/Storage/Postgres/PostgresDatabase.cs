using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HpcJobs.Grains.Storage.Postgres;

/// <summary>
/// The PostgreSQL database: one pooled data source shared by the service's own queries and by
/// Orleans' ADO.NET clustering, reminders and grain storage, so the pool size is the silo's whole
/// footprint on the server.
/// </summary>
public sealed partial class PostgresDatabase : IDatabaseProbe, IAsyncDisposable
{
    private readonly ILogger<PostgresDatabase> _logger;

    private readonly WriterMetrics _metrics;

    public PostgresDatabase(IOptions<PostgresOptions> options, WriterMetrics metrics, ILogger<PostgresDatabase> logger)
    {
        _logger = logger;
        _metrics = metrics;
        var builder = PostgresConnectionString.Parse(options.Value.ConnectionString);
        builder.MaxPoolSize = options.Value.MaxPoolSize;
        builder.MinPoolSize = 0;
        builder.Timeout = builder.Timeout is 15 ? 5 : builder.Timeout;
        builder.CommandTimeout = 15;
        builder.CancellationTimeout = 2000;

        // The service sends the same few statements over and over (a create is one CTE of five
        // sub-statements): prepared once per connection they are not parsed and planned each time.
        // A connection string that sets "Max Auto Prepare" (e.g. 0 behind a pooler without
        // prepared-statement support) keeps its value.
        if (builder.MaxAutoPrepare == 0 && !options.Value.ConnectionString.Contains("prepare", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }

        DataSource = NpgsqlDataSource.Create(builder);
    }

    public NpgsqlDataSource DataSource { get; }

    /// <summary>Applies sql/postgres/*.sql in order; each script takes an advisory lock, so silos starting together queue.</summary>
    public async Task ApplySchemaAsync(CancellationToken cancellationToken)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (name, text) in SqlScripts.For("postgres"))
        {
            await using var command = connection.CreateCommand();
            command.CommandText = text;
            command.CommandTimeout = 120;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            LogScriptApplied(_logger, name);
        }
    }

    public async Task<StorageHealth> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            _metrics.CountOperation();
            await using var command = DataSource.CreateCommand("SELECT 1");
            command.CommandTimeout = 3;
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return StorageHealth.Unreachable;
        }

        return _metrics.WriteFailedWithin(TimeSpan.FromSeconds(30), DateTimeOffset.UtcNow) ? StorageHealth.Degraded : StorageHealth.Healthy;
    }

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();

    /// <summary>Runs a database call, turning connection-level failures into <see cref="StorageUnavailableException"/>.</summary>
    internal async Task<T> GuardAsync<T>(Func<Task<T>> call)
    {
        _metrics.CountOperation();
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (StorageErrors.IsTransient(e))
        {
            throw new StorageUnavailableException($"PostgreSQL is unavailable: {e.Message}", e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied {Script}")]
    private static partial void LogScriptApplied(ILogger logger, string script);
}

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HpcJobs.Grains.Storage.Postgres;

/// <summary>
/// The PostgreSQL database: one pooled data source for the service's own queries (job rows are also
/// the job grains' storage) and a small one for Orleans' membership and reminders, so a silo holds at
/// most <c>DATABASE_POOL_SIZE + DATABASE_MEMBERSHIP_POOL_SIZE</c> connections.
/// </summary>
public sealed partial class PostgresDatabase : IDatabaseProbe, IAsyncDisposable
{
    private readonly ILogger<PostgresDatabase> _logger;

    private readonly WriterMetrics _metrics;

    public PostgresDatabase(IOptions<PostgresOptions> options, WriterMetrics metrics, ILogger<PostgresDatabase> logger)
    {
        _logger = logger;
        _metrics = metrics;
        var settings = options.Value;
        DataSource = NpgsqlDataSource.Create(Connections(settings, settings.MaxPoolSize, "hpc-jobs"));
        MembershipDataSource = NpgsqlDataSource.Create(Connections(settings, settings.MembershipPoolSize, "hpc-jobs-membership"));
    }

    /// <summary>The service's own queries: job rows (the job grains' state), samples, nodes, lists.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>Orleans' ADO.NET clustering and reminders, on a small pool of their own.</summary>
    public NpgsqlDataSource MembershipDataSource { get; }

    private static NpgsqlConnectionStringBuilder Connections(PostgresOptions settings, int poolSize, string applicationName)
    {
        var builder = PostgresConnectionString.Parse(settings.ConnectionString);
        builder.MaxPoolSize = poolSize;
        builder.MinPoolSize = 0;
        builder.Timeout = builder.Timeout is 15 ? 5 : builder.Timeout;
        builder.CommandTimeout = 15;
        builder.CancellationTimeout = 2000;
        builder.ApplicationName ??= applicationName;

        // Nothing the service does outlives a transaction (no session SET, LISTEN, temporary table or
        // session lock), so a connection going back to the pool needs no reset. With prepared
        // statements Npgsql's reset is six statements (DISCARD ALL would drop them): measured on the
        // job-array benchmark, 42,000 resets for 28,000 events, ~1.5 round trips per event for nothing.
        builder.NoResetOnClose = true;

        if (settings.Pooler == DatabasePooler.PgBouncer)
        {
            // Transaction pooling: a statement prepared on one server connection is unknown on the next.
            builder.MaxAutoPrepare = 0;
        }
        else if (builder.MaxAutoPrepare == 0 && !settings.ConnectionString.Contains("prepare", StringComparison.OrdinalIgnoreCase))
        {
            // The service sends the same few statements over and over (a create is one CTE of five
            // sub-statements): prepared once per connection they are not parsed and planned each time.
            // A connection string that sets "Max Auto Prepare" keeps its value.
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }

        return builder;
    }

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

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync().ConfigureAwait(false);
        await MembershipDataSource.DisposeAsync().ConfigureAwait(false);
    }

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

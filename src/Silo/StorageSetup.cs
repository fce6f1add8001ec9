using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using HpcJobs.Grains;
using HpcJobs.Grains.Nodes;
using HpcJobs.Grains.Storage.Postgres;
using HpcJobs.Grains.Storage.Sqlite;
using Orleans.Configuration;
using Orleans.Serialization;

namespace HpcJobs.Silo;

public enum DatabaseType
{
    Sqlite,
    Postgres,
}

/// <summary>Chooses the storage backend and the Orleans cluster configuration that goes with it.</summary>
public static class StorageSetup
{
    private const string Invariant = "Npgsql";

    /// <summary>DATABASE_TYPE, read while registering: it decides which storage and clustering are registered.</summary>
    /// <exception cref="SettingsException">Neither sqlite nor postgres.</exception>
    public static DatabaseType Database(this IConfiguration configuration) => configuration.Choice(
        "DATABASE_TYPE", DatabaseType.Sqlite, "must be 'sqlite' or 'postgres'", ("sqlite", DatabaseType.Sqlite), ("postgres", DatabaseType.Postgres), ("postgresql", DatabaseType.Postgres));

    /// <summary>DATABASE_URL, SQLITE_SYNCHRONOUS, DATABASE_POOL_SIZE, DATABASE_MEMBERSHIP_POOL_SIZE, DATABASE_POOLER; each backend's settings are checked whichever is used.</summary>
    public static WebApplicationBuilder AddJobStorage(this WebApplicationBuilder builder)
    {
        var database = builder.Configuration.Database();
        builder.Services.AddOptions<SqliteOptions>().Configure<IConfiguration>((sqlite, env) =>
        {
            sqlite.Path = database == DatabaseType.Sqlite ? env.Text("DATABASE_URL", sqlite.Path) : sqlite.Path;
            sqlite.Synchronous = env.Choice(
                "SQLITE_SYNCHRONOUS", SqliteSynchronous.Full, "must be 'full' or 'normal'", ("full", SqliteSynchronous.Full), ("normal", SqliteSynchronous.Normal));
        }).ValidateOnStart();
        builder.Services.AddOptions<PostgresOptions>().Configure<IConfiguration>((postgres, env) =>
        {
            postgres.ConnectionString = database == DatabaseType.Postgres ? PostgresUrl(env) : string.Empty;
            postgres.MaxPoolSize = env.Integer("DATABASE_POOL_SIZE", 20, 2, 1000);
            postgres.MembershipPoolSize = env.Integer("DATABASE_MEMBERSHIP_POOL_SIZE", 4, 1, 100);
            postgres.Pooler = env.Choice(
                "DATABASE_POOLER", DatabasePooler.None, "must be 'none' or 'pgbouncer'", ("none", DatabasePooler.None), ("pgbouncer", DatabasePooler.PgBouncer));
        }).ValidateOnStart();
        if (database == DatabaseType.Sqlite)
        {
            builder.Services.AddSqliteStorage();
        }
        else
        {
            builder.Services.AddPostgresStorage();
        }

        return builder;
    }

    /// <summary>CLUSTER_ID, SERVICE_ID, SILO_PORT, GATEWAY_PORT and ADVERTISED_IP, bound into Orleans' own options.</summary>
    public static WebApplicationBuilder UseJobSilo(this WebApplicationBuilder builder)
    {
        var database = builder.Configuration.Database();
        builder.UseOrleans(silo =>
        {
            silo.Configure<ExceptionSerializationOptions>(options => options.SupportedNamespacePrefixes.Add("Npgsql"));

            if (database == DatabaseType.Sqlite)
            {
                // One file, one silo: membership and reminders live in the process, the silo on loopback.
                silo.UseLocalhostClustering();
                silo.UseInMemoryReminderService();
                // The one silo owns the whole grain directory, so every lookup is answered from its own
                // partition; Orleans' directory cache would hold a second entry per activation (≈ 250 B
                // per active job: docs/benchmarks.md, "Memory per active job").
                silo.Configure<GrainDirectoryOptions>(directory => directory.CachingStrategy = GrainDirectoryOptions.CachingStrategyType.None);
            }
            else
            {
                UsePostgresCluster(silo);
            }

            // After UseLocalhostClustering, whose defaults these replace.
            silo.Services.AddOptions<ClusterOptions>().Configure<IConfiguration>((cluster, env) =>
            {
                cluster.ClusterId = env.Identifier("CLUSTER_ID", "hpc");
                cluster.ServiceId = env.Identifier("SERVICE_ID", "hpc");
            }).ValidateOnStart();
            silo.Services.AddOptions<EndpointOptions>().Configure<IConfiguration>((endpoints, env) =>
            {
                endpoints.SiloPort = env.Integer("SILO_PORT", 11111, 1, 65535);
                endpoints.GatewayPort = env.Integer("GATEWAY_PORT", 30000, 1, 65535);
                // Checked with SQLite too, where the one silo stays on loopback.
                var advertised = env.Address("ADVERTISED_IP", database == DatabaseType.Postgres ? DefaultAdvertisedIp() : IPAddress.Loopback);
                if (database == DatabaseType.Postgres)
                {
                    // Other silos reach this one at the advertised address; it listens on all of them.
                    endpoints.AdvertisedIPAddress = advertised;
                    endpoints.SiloListeningEndpoint = new IPEndPoint(IPAddress.Any, endpoints.SiloPort);
                    endpoints.GatewayListeningEndpoint = new IPEndPoint(IPAddress.Any, endpoints.GatewayPort);
                }
            }).ValidateOnStart();

            silo.AddStartupTask((services, _) =>
                services.GetRequiredService<IGrainFactory>().GetGrain<IRetentionGrain>(0).EnsureScheduledAsync());

            silo.AddStartupTask((services, _) =>
                services.GetRequiredService<IGrainFactory>().GetGrain<IReconcilerGrain>(0).EnsureRunningAsync());

            // Count jobs before the first change arrives, so the counts start from the table.
            silo.AddStartupTask((services, _) =>
                services.GetRequiredService<IGrainFactory>().GetGrain<IJobStatsGrain>(0).GetAsync());
        });
        return builder;
    }

    private static void UsePostgresCluster(ISiloBuilder silo)
    {
        // Orleans' directory cache without the entries this silo's own directory partition answers.
        silo.Configure<GrainDirectoryOptions>(directory => directory.CachingStrategy = GrainDirectoryOptions.CachingStrategyType.Custom);
        silo.Services.AddSingleton<Orleans.Runtime.GrainDirectory.IGrainDirectoryCache, RemotePartitionDirectoryCache>();

        silo.Configure<ClusterMembershipOptions>(membership =>
        {
            // Declare a killed silo dead in ~10 s (3 missed probes of 3 s) instead of the default ~17 s+,
            // so its jobs move to the survivors well inside 30 s.
            membership.ProbeTimeout = TimeSpan.FromSeconds(3);
            membership.NumMissedProbesLimit = 3;
            membership.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(30);
        });

        // Orleans' ADO.NET membership and reminders have a small pool of their own, so a silo whose
        // service connections are all busy with ingest still writes its liveness in time. Job grain
        // state is the jobs row itself (PostgresJobRowStorage, on the service's pool).
        silo.UseAdoNetClustering(options => options.Invariant = Invariant);
        silo.UseAdoNetReminderService(options => options.Invariant = Invariant);
        silo.Services.AddOptions<AdoNetClusteringSiloOptions>()
            .Configure<PostgresDatabase>((options, database) => options.DataSource = database.MembershipDataSource);
        silo.Services.AddOptions<AdoNetReminderTableOptions>()
            .Configure<PostgresDatabase>((options, database) => options.DataSource = database.MembershipDataSource);
    }

    private static string PostgresUrl(IConfiguration configuration)
    {
        var url = configuration.Text("DATABASE_URL", string.Empty);
        if (url.Length == 0)
        {
            throw new SettingsException("DATABASE_URL", url, "is required when DATABASE_TYPE=postgres");
        }

        try
        {
            PostgresConnectionString.Parse(url);
            return url;
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            // The URL may carry a password: name the problem, not the value.
            throw new SettingsException("DATABASE_URL", "(hidden)", $"is not a PostgreSQL URL or connection string: {e.Message}");
        }
    }

    private static IPAddress DefaultAdvertisedIp() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
        ?? IPAddress.Loopback;
}

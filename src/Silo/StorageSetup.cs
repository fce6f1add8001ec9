using HpcJobs.Grains;
using HpcJobs.Grains.Nodes;
using HpcJobs.Grains.Storage;
using HpcJobs.Grains.Storage.Postgres;
using HpcJobs.Grains.Storage.Sqlite;
using Orleans.Configuration;
using Orleans.Serialization;

namespace HpcJobs.Silo;

/// <summary>Chooses the storage backend and the Orleans cluster configuration that goes with it.</summary>
public static class StorageSetup
{
    private const string Invariant = "Npgsql";

    public static WebApplicationBuilder AddJobStorage(this WebApplicationBuilder builder, ServiceSettings settings)
    {
        builder.Services.AddJobGrains(
            retention => retention.Days = settings.RetentionDays,
            samples =>
            {
                samples.MaxClockSkew = settings.MaxClockSkew;
                samples.Interval = settings.SampleInterval;
            });
        builder.Services.Configure<ActivationOptions>(activation => activation.PageSize = settings.ActivationPageSize);
        builder.Services.Configure<StaleJobOptions>(stale => stale.Hours = settings.StaleJobHours);
        builder.Services.Configure<ReconcileOptions>(reconcile =>
        {
            reconcile.After = settings.ReconcileAfter;
            reconcile.Interval = settings.ReconcileInterval;

            // A heartbeat missed now and then is no gap; three agent intervals without one is.
            var gap = settings.SampleInterval * 3;
            reconcile.MaxGap = settings.ReconcileAfter > TimeSpan.Zero && settings.ReconcileAfter < gap ? settings.ReconcileAfter : gap;
        });
        switch (settings.DatabaseType)
        {
            case DatabaseType.Sqlite:
                builder.Services.AddSqliteStorage(options =>
                {
                    options.Path = settings.DatabaseUrl;
                    options.Synchronous = settings.SqliteSynchronous;
                });
                break;
            case DatabaseType.Postgres:
                builder.Services.AddPostgresStorage(options =>
                {
                    options.ConnectionString = settings.DatabaseUrl;
                    options.MaxPoolSize = settings.DatabasePoolSize;
                    options.MembershipPoolSize = settings.DatabaseMembershipPoolSize;
                    options.Pooler = settings.DatabasePooler;
                });
                break;
        }

        return builder;
    }

    public static WebApplicationBuilder UseJobSilo(this WebApplicationBuilder builder, ServiceSettings settings)
    {
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(cluster =>
            {
                cluster.ClusterId = settings.ClusterId;
                cluster.ServiceId = settings.ServiceId;
            });
            silo.Configure<ExceptionSerializationOptions>(options => options.SupportedNamespacePrefixes.Add("Npgsql"));

            if (settings.DatabaseType == DatabaseType.Sqlite)
            {
                // One file, one silo: membership and reminders live in the process.
                silo.UseLocalhostClustering(settings.SiloPort, settings.GatewayPort, null, settings.ServiceId, settings.ClusterId);
                silo.UseInMemoryReminderService();
            }
            else
            {
                UsePostgresCluster(silo, settings);
            }

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

    private static void UsePostgresCluster(ISiloBuilder silo, ServiceSettings settings)
    {
        silo.ConfigureEndpoints(settings.AdvertisedIp, settings.SiloPort, settings.GatewayPort, listenOnAnyHostAddress: true);
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
}

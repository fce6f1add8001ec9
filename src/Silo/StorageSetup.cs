using HpcJobs.Grains;
using HpcJobs.Grains.Storage.Sqlite;

namespace HpcJobs.Silo;

/// <summary>Chooses the storage backend and the Orleans cluster configuration that go with it.</summary>
public static class StorageSetup
{
    public static WebApplicationBuilder AddJobStorage(this WebApplicationBuilder builder, ServiceSettings settings)
    {
        builder.Services.AddJobGrains(retention => retention.Days = settings.RetentionDays);
        switch (settings.DatabaseType)
        {
            case DatabaseType.Sqlite:
                builder.Services.AddSqliteStorage(options =>
                {
                    options.Path = settings.DatabaseUrl;
                    options.Synchronous = settings.SqliteSynchronous;
                });
                break;
            default:
                throw new SettingsException("DATABASE_TYPE", "postgres", "is not available in this build yet");
        }

        return builder;
    }

    public static WebApplicationBuilder UseJobSilo(this WebApplicationBuilder builder, ServiceSettings settings)
    {
        builder.UseOrleans(silo =>
        {
            if (settings.DatabaseType == DatabaseType.Sqlite)
            {
                // One file, one silo: membership and reminders live in the process.
                silo.UseLocalhostClustering(settings.SiloPort, settings.GatewayPort, null, settings.ServiceId, settings.ClusterId);
                silo.UseInMemoryReminderService();
            }

            silo.AddStartupTask((services, _) =>
                services.GetRequiredService<IGrainFactory>().GetGrain<IRetentionGrain>(0).EnsureScheduledAsync());
        });
        return builder;
    }
}

using HpcJobs.Grains.Nodes;
using Orleans.Runtime.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace HpcJobs.Grains.Storage.Sqlite;

public static class SqliteServiceCollectionExtensions
{
    /// <summary>The SQLite backend: job rows, the sample log, job grain state (the jobs row) and the health probe, all in one file.</summary>
    public static IServiceCollection AddSqliteStorage(this IServiceCollection services, Action<SqliteOptions>? configure = null)
    {
        services.Configure(configure ?? (_ => { }));
        services.AddSingleton<WriterMetrics>();
        services.AddSingleton<ITransientFailures, StorageTransientFailures>();
        services.AddSingleton<SqliteDatabase>();
        services.AddSingleton<IDatabaseProbe>(sp => sp.GetRequiredService<SqliteDatabase>());
        services.AddSingleton<IJobIndex, SqliteJobIndex>();
        services.AddSingleton<IJobQueries>(sp => sp.GetRequiredService<IJobIndex>());
        services.AddSingleton<ISampleLog, SqliteSampleLog>();
        services.AddSingleton<ISampleHistory>(sp => sp.GetRequiredService<ISampleLog>());
        services.AddGrainStorage(StorageNames.JobState, (sp, _) => ActivatorUtilities.CreateInstance<SqliteJobRowStorage>(sp));
        services.AddSingleton<SqliteNodeStore>();
        services.AddSingleton<INodeIndex>(sp => sp.GetRequiredService<SqliteNodeStore>());
        services.AddSingleton<INodeQueries, NodeQueries>();
        services.AddGrainStorage(NodeRowStorage.Name, (sp, _) => sp.GetRequiredService<SqliteNodeStore>());
        return services;
    }
}

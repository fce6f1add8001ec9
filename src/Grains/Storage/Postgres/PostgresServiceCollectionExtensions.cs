using HpcJobs.Grains.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime.Hosting;

namespace HpcJobs.Grains.Storage.Postgres;

public static class PostgresServiceCollectionExtensions
{
    /// <summary>
    /// The PostgreSQL backend: job rows (which are also the job grains' storage) and the sample log.
    /// Register before Orleans so that the schema (Orleans' tables included) exists before clustering
    /// starts. Membership and reminders use Orleans' ADO.NET providers on the same data source.
    /// </summary>
    public static IServiceCollection AddPostgresStorage(this IServiceCollection services, Action<PostgresOptions>? configure = null)
    {
        services.Configure(configure ?? (_ => { }));
        services.AddSingleton<WriterMetrics>();
        services.AddSingleton<ITransientFailures, StorageTransientFailures>();
        services.AddSingleton<PostgresDatabase>();
        services.AddSingleton<IDatabaseProbe>(sp => sp.GetRequiredService<PostgresDatabase>());
        services.AddSingleton<IJobIndex, PostgresJobIndex>();
        services.AddSingleton<IJobQueries>(sp => sp.GetRequiredService<IJobIndex>());
        services.AddSingleton<PostgresSampleLog>();
        services.AddSingleton<ISampleLog>(sp => sp.GetRequiredService<PostgresSampleLog>());
        services.AddSingleton<ISampleHistory>(sp => sp.GetRequiredService<ISampleLog>());
        services.AddSingleton<PostgresJobInserter>();
        services.AddGrainStorage(StorageNames.JobState, (sp, _) => ActivatorUtilities.CreateInstance<PostgresJobRowStorage>(sp));
        services.AddSingleton<PostgresNodeStore>();
        services.AddSingleton<INodeIndex>(sp => sp.GetRequiredService<PostgresNodeStore>());
        services.AddSingleton<INodeQueries, NodeQueries>();
        services.AddGrainStorage(NodeRowStorage.Name, (sp, _) => sp.GetRequiredService<PostgresNodeStore>());
        services.AddHostedService<PostgresSchemaService>();
        return services;
    }
}

/// <summary>Applies the schema at start, before the silo joins the cluster.</summary>
internal sealed class PostgresSchemaService(PostgresDatabase database) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => database.ApplySchemaAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

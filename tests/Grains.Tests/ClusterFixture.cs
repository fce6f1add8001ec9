using HpcJobs.Grains.Storage.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace HpcJobs.Grains.Tests;

/// <summary>An in-process Orleans test cluster on a real SQLite file, shared by a collection.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("hpc-grains-").FullName;

    public TestCluster Cluster { get; private set; } = null!;

    public string DatabasePath => Path.Combine(_directory, "grains.db");

    /// <summary>A service of the (single) silo, to look at storage directly.</summary>
    public T SiloService<T>()
        where T : notnull =>
        ((InProcessSiloHandle)Cluster.Primary!).SiloHost!.Services.GetRequiredService<T>();

    /// <summary>A keyed service of the silo (e.g. the job grains' storage).</summary>
    public T SiloServiceKeyed<T>(object key)
        where T : notnull =>
        ((InProcessSiloHandle)Cluster.Primary!).SiloHost!.Services.GetRequiredKeyedService<T>(key);

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(1);
        builder.Properties["DatabasePath"] = DatabasePath;
        builder.AddSiloBuilderConfigurator<SqliteSilo>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private sealed class SqliteSilo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var path = siloBuilder.Configuration["DatabasePath"]!;
            siloBuilder.Services.AddJobGrains();
            siloBuilder.Services.AddSqliteStorage(options => options.Path = path);
            siloBuilder.UseInMemoryReminderService();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}

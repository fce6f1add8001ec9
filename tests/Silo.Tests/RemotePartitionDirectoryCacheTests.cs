using System.Net;
using System.Net.Http.Json;
using HpcJobs.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Configuration;
using Orleans.Runtime.GrainDirectory;

namespace HpcJobs.Silo.Tests;

/// <summary>
/// A PostgreSQL silo's directory cache keeps what another silo's partition answers and leaves out
/// what its own answers (RemotePartitionDirectoryCache); the owner is Orleans' own answer.
/// </summary>
public sealed class RemotePartitionDirectoryCacheTests
{
    private static readonly SiloAddress Self = SiloAddress.New(IPAddress.Loopback, 11111, 1);
    private static readonly SiloAddress Other = SiloAddress.New(IPAddress.Loopback, 11112, 1);

    [Fact]
    public void Keeps_the_entries_of_other_partitions_and_the_hints_and_leaves_out_its_own()
    {
        var ours = GrainId.Create("job", "ours");
        var theirs = GrainId.Create("job", "theirs");
        var cache = New(grain => grain == ours ? Self : Other);

        // A placement hint (no activation yet) is kept until the registration replaces it.
        cache.AddOrUpdate(Address(Self, ours, default), 0);
        Assert.True(cache.LookUp(ours, out _, out _));
        cache.AddOrUpdate(Address(Self, ours, ActivationId.NewId()), 1);
        cache.AddOrUpdate(Address(Other, theirs, ActivationId.NewId()), 1);

        Assert.True(cache.LeavesOutOwnPartition);
        Assert.False(cache.LookUp(ours, out _, out _));
        Assert.True(cache.LookUp(theirs, out var address, out _));
        Assert.Equal(Other, address.SiloAddress);
        Assert.Equal([theirs], cache.KeyValues.Select(entry => entry.ActivationAddress.GrainId));
    }

    [Fact]
    public void Keeps_every_entry_when_the_owner_is_not_known()
    {
        var grain = GrainId.Create("job", "any");
        var cache = New(owner: null);

        cache.AddOrUpdate(Address(Self, grain, ActivationId.NewId()), 1);

        Assert.False(cache.LeavesOutOwnPartition);
        Assert.True(cache.LookUp(grain, out _, out _));
    }

    [SkippableFact]
    public async Task On_a_postgres_silo_the_cache_holds_no_entry_for_the_jobs_its_own_partition_answers()
    {
        await using var service = InProcessService.Start(await new PostgresBackend().CreateDatabaseAsync(), "dircache");
        var jobs = Enumerable.Range(0, 50).Select(i => $"dc-{i}").ToList();
        foreach (var job in jobs)
        {
            using var created = await service.Client.PostAsJsonAsync("/v1/jobs", new { id = job, user = "u", nodes = new[] { "n1" } });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            using var sample = await service.Client.PostAsJsonAsync($"/v1/jobs/{job}/metrics", new { cpu_usage = 5, memory_usage_mb = 10 });
            Assert.Equal(HttpStatusCode.Created, sample.StatusCode);
        }

        var cache = Assert.IsType<RemotePartitionDirectoryCache>(service.Services.GetRequiredService<IGrainDirectoryCache>());
        Assert.True(cache.LeavesOutOwnPartition, "Orleans' owner of a directory entry could not be bound");
        Assert.DoesNotContain(cache.KeyValues, entry => !entry.ActivationAddress.ActivationId.IsDefault);
        foreach (var job in jobs)
        {
            using var read = await service.Client.GetAsync($"/v1/jobs/{job}");
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }
    }

    private static GrainAddress Address(SiloAddress silo, GrainId grain, ActivationId activation) =>
        new() { SiloAddress = silo, GrainId = grain, ActivationId = activation };

    private static RemotePartitionDirectoryCache New(Func<GrainId, SiloAddress?>? owner)
    {
        var inner = GrainDirectoryCacheFactory.CreateGrainDirectoryCache(
            new ServiceCollection().BuildServiceProvider(), new GrainDirectoryOptions { CachingStrategy = GrainDirectoryOptions.CachingStrategyType.LRU });
        return new RemotePartitionDirectoryCache(inner, Self, () => owner, NullLogger<RemotePartitionDirectoryCache>.Instance);
    }
}

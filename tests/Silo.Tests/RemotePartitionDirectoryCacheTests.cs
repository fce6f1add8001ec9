using System.Net;
using System.Net.Http.Json;
using HpcJobs.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
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
        var inner = NewLru();
        var cache = New(grain => grain == ours ? Self : Other, inner);

        // A placement hint (no activation yet) is kept until the registration replaces it, apart from
        // Orleans' LRU: a removed entry stays in its queues until new ones cycle it out.
        cache.AddOrUpdate(Address(Self, ours, default), 0);
        Assert.True(cache.LookUp(ours, out var hint, out _));
        Assert.Equal(Self, hint.SiloAddress);
        Assert.Empty(inner.KeyValues);
        cache.AddOrUpdate(Address(Self, ours, ActivationId.NewId()), 1);
        cache.AddOrUpdate(Address(Other, theirs, ActivationId.NewId()), 1);

        Assert.True(cache.LeavesOutOwnPartition);
        Assert.False(cache.LookUp(ours, out _, out _));
        Assert.True(cache.LookUp(theirs, out var address, out _));
        Assert.Equal(Other, address.SiloAddress);
        Assert.Equal([theirs], cache.KeyValues.Select(entry => entry.ActivationAddress.GrainId));
        Assert.Equal([theirs], inner.KeyValues.Select(entry => entry.ActivationAddress.GrainId));
    }

    [Fact]
    public void A_hint_of_its_own_partition_is_not_answered_after_a_minute()
    {
        var grain = GrainId.Create("job", "slow");
        var (cache, time) = WithHintPlacedElsewhere(grain);

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.True(cache.LookUp(grain, out _, out _));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Empty(cache.KeyValues);
        Assert.False(cache.LookUp(grain, out _, out _));
    }

    [Fact]
    public void A_hint_of_its_own_partition_without_a_registration_is_forgotten_after_a_minute()
    {
        var stale = GrainId.Create("job", "placed-elsewhere");
        var (cache, time) = WithHintPlacedElsewhere(stale);
        time.Advance(TimeSpan.FromSeconds(61));

        // The check runs every 1,024 hints; these are fresh.
        for (var i = 0; i < 1023; i++)
        {
            cache.AddOrUpdate(Address(Self, GrainId.Create("job", $"new-{i}"), default), 0);
        }

        Assert.False(cache.Remove(stale)); // swept, not only ignored by a lookup (which would remove it itself)
        Assert.False(cache.LookUp(stale, out _, out _));
        Assert.Equal(1023, cache.KeyValues.Count());
        Assert.True(cache.Remove(GrainId.Create("job", "new-0")));
        Assert.True(cache.Remove(Address(Self, GrainId.Create("job", "new-1"), default)));
        cache.Clear();
        Assert.Empty(cache.KeyValues);
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
        Assert.Empty(cache.KeyValues);
        foreach (var job in jobs)
        {
            using var read = await service.Client.GetAsync($"/v1/jobs/{job}");
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }
    }

    /// <summary>A cache whose silo owns every partition, holding one hint for <paramref name="grain"/> placed on another silo.</summary>
    private static (RemotePartitionDirectoryCache Cache, FakeTimeProvider Time) WithHintPlacedElsewhere(GrainId grain)
    {
        var time = new FakeTimeProvider();
        var cache = New(_ => Self, time: time);
        cache.AddOrUpdate(Address(Other, grain, default), 0);
        return (cache, time);
    }

    private static GrainAddress Address(SiloAddress silo, GrainId grain, ActivationId activation) =>
        new() { SiloAddress = silo, GrainId = grain, ActivationId = activation };

    private static RemotePartitionDirectoryCache New(Func<GrainId, SiloAddress?>? owner, IGrainDirectoryCache? inner = null, TimeProvider? time = null) =>
        new(inner ?? NewLru(), Self, () => owner, time ?? TimeProvider.System, NullLogger<RemotePartitionDirectoryCache>.Instance);

    private static IGrainDirectoryCache NewLru() => GrainDirectoryCacheFactory.CreateGrainDirectoryCache(
        new ServiceCollection().BuildServiceProvider(), new GrainDirectoryOptions { CachingStrategy = GrainDirectoryOptions.CachingStrategyType.LRU });
}

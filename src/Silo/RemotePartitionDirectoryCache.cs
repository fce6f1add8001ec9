using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.GrainDirectory;

namespace HpcJobs.Silo;

/// <summary>
/// Orleans' grain directory cache (its LRU), without the entries this silo's own directory partition
/// answers. Orleans caches the address of every activation it registers, also when the silo owns the
/// grain's directory entry, where a lookup is answered from the partition anyway (synchronously, one
/// dictionary read under the partition's lock; Orleans itself drops those entries when a membership
/// change makes them local). On a PostgreSQL silo that is about 245 B per active job
/// (docs/benchmarks.md, "Memory per active job"): all of them on a cluster of one, half on two.
/// The entries another silo's partition answers stay in the LRU. A placement hint (an address
/// without an activation, made before the registration) for a grain of this silo's partition is kept
/// apart, in a dictionary, until the registration replaces it (a lookup ignores it after a minute, and
/// a sweep forgets it): in the LRU a
/// removed entry stays in its queues until enough new ones cycle it out, which, with room for a
/// million, is never.
/// </summary>
/// <remarks>
/// Registered in the container, this one cache also serves Orleans' <c>CachedGrainLocator</c>, used only
/// for grains of a grain directory other than the default one; the service configures none.
/// The owner of a grain's entry is Orleans' own answer (its <c>LocalGrainDirectory</c>'s
/// <c>CalculateGrainDirectoryPartition</c>, public on an internal type, bound once). Should a later
/// Orleans not have it, the cache keeps every entry, as Orleans' own does, and says so in the log;
/// <c>RemotePartitionDirectoryCacheTests</c> fails on such an upgrade.
/// </remarks>
public sealed partial class RemotePartitionDirectoryCache : IGrainDirectoryCache, IAsyncDisposable
{
    private const string DirectoryType = "Orleans.Runtime.GrainDirectory.LocalGrainDirectory";

    /// <summary>How long a hint of this silo's partition is kept without its registration (a placement elsewhere that failed).</summary>
    private static readonly TimeSpan HintLifetime = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<GrainId, (GrainAddress Address, long Since)> _ownHints = new();
    private readonly TimeProvider _time;
    private int _hintsAdded;
    private long _lastSweep;

    private readonly IGrainDirectoryCache _inner;
    private readonly SiloAddress _self;
    private readonly Func<Func<GrainId, SiloAddress?>?> _bindOwner;
    private readonly ILogger<RemotePartitionDirectoryCache> _logger;
    private Func<GrainId, SiloAddress?>? _owner;
    private int _bound;

    public RemotePartitionDirectoryCache(IServiceProvider services, ILocalSiloDetails silo, IOptions<GrainDirectoryOptions> options, ILogger<RemotePartitionDirectoryCache> logger)
        : this(
            GrainDirectoryCacheFactory.CreateGrainDirectoryCache(services, new GrainDirectoryOptions
            {
                CachingStrategy = GrainDirectoryOptions.CachingStrategyType.LRU,
                CacheSize = options.Value.CacheSize,
                MaximumCacheTTL = options.Value.MaximumCacheTTL,
            }),
            silo.SiloAddress,
            () => BindOrleansOwner(services),
            TimeProvider.System,
            logger)
    {
    }

    /// <param name="bindOwner">
    /// Gives the owner of a grain's directory entry, or null when it cannot; called on the first write,
    /// once the directory that writes here exists.
    /// </param>
    internal RemotePartitionDirectoryCache(
        IGrainDirectoryCache inner, SiloAddress self, Func<Func<GrainId, SiloAddress?>?> bindOwner, TimeProvider time, ILogger<RemotePartitionDirectoryCache> logger)
    {
        _inner = inner;
        _time = time;
        _lastSweep = time.GetTimestamp();
        _self = self;
        _bindOwner = bindOwner;
        _logger = logger;
    }

    /// <summary>Whether entries of this silo's partition are left out (false: Orleans' owner is not known, every entry is kept).</summary>
    public bool LeavesOutOwnPartition => Owner() is not null;

    public IEnumerable<(GrainAddress ActivationAddress, int Version)> KeyValues =>
        _inner.KeyValues.Concat(_ownHints.Values.Where(hint => IsFresh(hint.Since)).Select(hint => (hint.Address, 0)));

    public void AddOrUpdate(GrainAddress value, int version)
    {
        if (Owner() is not { } owner || !_self.Equals(owner(value.GrainId)))
        {
            _inner.AddOrUpdate(value, version);
            return;
        }

        if (value.ActivationId.IsDefault)
        {
            _ownHints[value.GrainId] = (value, _time.GetTimestamp());
            ForgetOldHints();
            return;
        }

        // Registered in this silo's partition, which answers it from now on: keep nothing.
        _ownHints.TryRemove(value.GrainId, out _);
        _inner.Remove(value.GrainId);
    }

    public bool Remove(GrainId key) => _ownHints.TryRemove(key, out _) | _inner.Remove(key);

    public bool Remove(GrainAddress key)
    {
        var hint = _ownHints.TryGetValue(key.GrainId, out var own) && own.Address.Matches(key)
            && _ownHints.TryRemove(new KeyValuePair<GrainId, (GrainAddress, long)>(key.GrainId, own));
        return _inner.Remove(key) | hint;
    }

    public void Clear()
    {
        _ownHints.Clear();
        _inner.Clear();
    }

    public bool LookUp(GrainId key, [NotNullWhen(true)] out GrainAddress? result, out int version)
    {
        if (_ownHints.TryGetValue(key, out var hint))
        {
            if (IsFresh(hint.Since))
            {
                (result, version) = (hint.Address, 0);
                return true;
            }

            _ownHints.TryRemove(new KeyValuePair<GrainId, (GrainAddress, long)>(key, hint));
        }

        return _inner.LookUp(key, out result, out version);
    }

    private bool IsFresh(long since) => _time.GetElapsedTime(since) <= HintLifetime;

    /// <summary>Every 1,024 hints, or a <see cref="HintLifetime"/> after the last time, the ones older than that go (a lookup ignores them meanwhile).</summary>
    private void ForgetOldHints()
    {
        var last = Volatile.Read(ref _lastSweep);
        if (Interlocked.Increment(ref _hintsAdded) % 1024 != 0 && _time.GetElapsedTime(last) <= HintLifetime)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _lastSweep, _time.GetTimestamp(), last) != last)
        {
            return; // another caller sweeps
        }

        foreach (var (grain, hint) in _ownHints)
        {
            if (!IsFresh(hint.Since))
            {
                _ownHints.TryRemove(new KeyValuePair<GrainId, (GrainAddress, long)>(grain, hint));
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        switch (_inner)
        {
            case IAsyncDisposable asynchronous:
                return asynchronous.DisposeAsync();
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The owner function, bound by the first caller; a caller meanwhile gets none and keeps its entry.</summary>
    private Func<GrainId, SiloAddress?>? Owner()
    {
        if (Volatile.Read(ref _bound) == 0 && Interlocked.Exchange(ref _bound, 1) == 0)
        {
            var owner = _bindOwner();
            Volatile.Write(ref _owner, owner);
            if (owner is null)
            {
                LogOwnerUnknown(_logger, DirectoryType);
            }
        }

        return Volatile.Read(ref _owner);
    }

    private static Func<GrainId, SiloAddress?>? BindOrleansOwner(IServiceProvider services)
    {
        try
        {
            var type = typeof(IGrainDirectoryCache).Assembly.GetType(DirectoryType);
            var method = type?.GetMethod("CalculateGrainDirectoryPartition", BindingFlags.Public | BindingFlags.Instance, [typeof(GrainId)]);
            if (type is null || method is null || method.ReturnType != typeof(SiloAddress) || services.GetService(type) is not { } directory)
            {
                return null;
            }

            return method.CreateDelegate<Func<GrainId, SiloAddress?>>(directory);
        }
        catch (Exception error) when (error is ArgumentException or InvalidOperationException or MemberAccessException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot tell which grain directory entries this silo owns ({Type} has changed); the directory cache keeps them all")]
    private static partial void LogOwnerUnknown(ILogger logger, string type);
}

using System.Collections.Concurrent;

namespace HpcJobs.Grains;

/// <summary>
/// One string per distinct user and node name on this silo, shared by the jobs that name it, instead
/// of a copy per job from each request or row (about 110 bytes of every active job with two nodes;
/// docs/benchmarks.md, row 5). Users and nodes are bounded by the cluster, not by jobs; past
/// <see cref="Capacity"/> names the pool stops growing and a new name is kept as given.
/// </summary>
public sealed class NamePool
{
    public const int Capacity = 100_000;

    private readonly ConcurrentDictionary<string, string> _names = new(StringComparer.Ordinal);
    private int _count;

    public int Count => Volatile.Read(ref _count);

    /// <summary>The pooled string equal to <paramref name="name"/>.</summary>
    public string Intern(string name)
    {
        if (_names.TryGetValue(name, out var pooled))
        {
            return pooled;
        }

        if (Volatile.Read(ref _count) >= Capacity)
        {
            return name;
        }

        if (_names.TryAdd(name, name))
        {
            Interlocked.Increment(ref _count);
            return name;
        }

        return _names.TryGetValue(name, out pooled) ? pooled : name;
    }

    /// <summary>
    /// Pools the record's user and node names. The node list is replaced, never changed: it may be
    /// the list of a call's argument or of a view that someone is reading. The new list is an array
    /// of its exact length (a list and its array were twice the bytes per job).
    /// </summary>
    public void Intern(JobRecord record)
    {
        record.User = Intern(record.User);
        var nodes = record.Nodes;
        var pooled = nodes is string[];
        for (var i = 0; pooled && i < nodes.Count; i++)
        {
            pooled = ReferenceEquals(nodes[i], Intern(nodes[i]));
        }

        if (!pooled)
        {
            var copy = new string[nodes.Count];
            for (var i = 0; i < copy.Length; i++)
            {
                copy[i] = Intern(nodes[i]);
            }

            record.Nodes = copy;
        }
    }
}

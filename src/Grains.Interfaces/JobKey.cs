using System.Text;

namespace HpcJobs.Grains;

/// <summary>
/// Job id ↔ grain key. Orleans' ADO.NET grain storage formats the grain key into a composite
/// format string, so a key holding '{' or '}' fails every state write there (seen with ids such as
/// <c>x{a="b"}</c>). Those two characters, and '%' to keep the mapping reversible, are
/// percent-encoded in the key; every other id is its own key.
/// </summary>
public static class JobKey
{
    private static (GrainType Grain, GrainInterfaceType Interface)? _types;

    /// <summary>
    /// The job's grain reference. <c>GetGrain&lt;T&gt;(string)</c> resolves the grain and interface
    /// types by reflection on every call (2–3 % of the ingest path's CPU in a profile); they never
    /// change, so they are resolved once and the reference is built from the grain id.
    /// </summary>
    public static IJobGrain GetJob(this IGrainFactory grains, string jobId)
    {
        var key = ToGrainKey(jobId);
        if (_types is not { } types)
        {
            var first = (GrainReference)(object)grains.GetGrain<IJobGrain>(key);
            _types = (first.GrainId.Type, first.InterfaceType);
            return (IJobGrain)first;
        }

        return (IJobGrain)grains.GetGrain(GrainId.Create(types.Grain, key), types.Interface);
    }

    public static string ToGrainKey(string jobId)
    {
        if (jobId.AsSpan().IndexOfAny('{', '}', '%') < 0)
        {
            return jobId;
        }

        var key = new StringBuilder(jobId.Length + 8);
        foreach (var c in jobId)
        {
            _ = c switch
            {
                '%' => key.Append("%25"),
                '{' => key.Append("%7B"),
                '}' => key.Append("%7D"),
                _ => key.Append(c),
            };
        }

        return key.ToString();
    }

    public static string FromGrainKey(string key)
    {
        if (!key.Contains('%', StringComparison.Ordinal))
        {
            return key;
        }

        var id = new StringBuilder(key.Length);
        for (var i = 0; i < key.Length; i++)
        {
            var escape = key[i] == '%' ? key.AsSpan(i, Math.Min(3, key.Length - i)) : default;
            var decoded = escape switch
            {
                "%25" => '%',
                "%7B" => '{',
                "%7D" => '}',
                _ => (char?)null,
            };
            if (decoded is { } c)
            {
                id.Append(c);
                i += 2;
            }
            else
            {
                id.Append(key[i]);
            }
        }

        return id.ToString();
    }
}

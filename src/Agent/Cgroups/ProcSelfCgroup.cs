namespace HpcJobs.Agent.Cgroups;

/// <summary>
/// <c>/proc/[pid]/cgroup</c>: <c>hierarchy-id:controller-list:path</c> a line. cgroup v2 is the line
/// with id 0 and an empty controller list; each v1 hierarchy names its controllers (<c>cpu,cpuacct</c>).
/// </summary>
public static class ProcSelfCgroup
{
    /// <summary>The path of the v2 hierarchy (<c>0::/...</c>), or null.</summary>
    public static string? Unified(ReadOnlySpan<char> text)
    {
        foreach (var range in text.Split('\n'))
        {
            var line = text[range];
            if (line.StartsWith("0::"))
            {
                return line[3..].Trim().ToString();
            }
        }

        return null;
    }

    /// <summary>The path of the v1 hierarchy that holds <paramref name="controller"/>, or null.</summary>
    public static string? Controller(ReadOnlySpan<char> text, string controller)
    {
        foreach (var range in text.Split('\n'))
        {
            var line = text[range];
            var first = line.IndexOf(':');
            if (first < 0)
            {
                continue;
            }

            var rest = line[(first + 1)..];
            var second = rest.IndexOf(':');
            if (second < 0)
            {
                continue;
            }

            foreach (var name in rest[..second].Split(','))
            {
                if (rest[..second][name].SequenceEqual(controller))
                {
                    return rest[(second + 1)..].Trim().ToString();
                }
            }
        }

        return null;
    }
}

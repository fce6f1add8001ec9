using System.Globalization;

namespace HpcJobs.Agent.Cgroups;

/// <summary>
/// The kernel's flat keyed format, one <c>key value</c> pair a line: <c>cpu.stat</c>,
/// <c>memory.stat</c>, <c>memory.events</c> (v2) and <c>memory.stat</c>, <c>memory.oom_control</c> (v1).
/// </summary>
public static class KeyedValues
{
    /// <summary>The value of <paramref name="key"/>; null when the key is absent or its value is not an unsigned integer.</summary>
    public static ulong? Find(ReadOnlySpan<char> text, ReadOnlySpan<char> key)
    {
        foreach (var range in text.Split('\n'))
        {
            var line = text[range];
            var space = line.IndexOf(' ');
            if (space <= 0 || !line[..space].SequenceEqual(key))
            {
                continue;
            }

            return ulong.TryParse(line[(space + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                ? value
                : null;
        }

        return null;
    }
}

using System.Globalization;

namespace HpcJobs.Agent.Cgroups;

/// <summary>
/// A file holding one unsigned integer and a newline: <c>memory.current</c>, <c>memory.peak</c> (v2),
/// <c>cpuacct.usage</c>, <c>memory.usage_in_bytes</c>, <c>memory.max_usage_in_bytes</c> (v1).
/// </summary>
public static class SingleValue
{
    public static ulong? Parse(ReadOnlySpan<char> text) =>
        ulong.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
}

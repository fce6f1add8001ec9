using System.Globalization;

namespace HpcJobs.Agent.Cgroups;

/// <summary>
/// The kernel's CPU list format (<c>cpuset.cpus</c>, <c>cpuset.cpus.effective</c>,
/// <c>cpuset.effective_cpus</c>): comma-separated CPUs and inclusive ranges, e.g. <c>0-3,8,10-11</c>.
/// </summary>
public static class CpuList
{
    /// <summary>How many CPUs the list names; null when the text is not a CPU list. An empty list is 0.</summary>
    public static int? Count(ReadOnlySpan<char> text)
    {
        text = text.Trim();
        var count = 0;
        foreach (var range in text.Split(','))
        {
            var part = text[range].Trim();
            if (part.IsEmpty)
            {
                if (text.IsEmpty)
                {
                    return 0;
                }

                return null;
            }

            var dash = part.IndexOf('-');
            if (dash < 0)
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    return null;
                }

                count++;
                continue;
            }

            if (!int.TryParse(part[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
                || !int.TryParse(part[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var last)
                || last < first)
            {
                return null;
            }

            count += last - first + 1;
        }

        return count;
    }
}

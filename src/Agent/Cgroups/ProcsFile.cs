using System.Globalization;

namespace HpcJobs.Agent.Cgroups;

/// <summary><c>cgroup.procs</c>: one process id a line.</summary>
public static class ProcsFile
{
    public static void AddTo(ReadOnlySpan<char> text, ISet<int> pids)
    {
        foreach (var range in text.Split('\n'))
        {
            if (int.TryParse(text[range].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                pids.Add(pid);
            }
        }
    }
}

using HpcJobs.Agent.Cgroups;

namespace HpcJobs.Agent.Collection;

/// <summary>A job's figures for one interval, ready for a sample.</summary>
public sealed record JobUsage(double CpuUsage, long MemoryUsageMb, long? MemoryPeakMb, long? OomKills);

/// <summary>
/// Turns two reads of a job's counters into usage. <c>cpu_usage</c> = ΔCPU time ÷ (Δwall time × the
/// job's CPUs) × 100, clamped to 0–100; the first read of a job (and the first after its counter went
/// backwards: a new cgroup under the same name) only primes. Memory figures are whole MiB, rounded down.
/// </summary>
public sealed class UsageCalculator
{
    private const double BytesPerMb = 1024 * 1024;

    private Dictionary<string, Prior> _prior = new(StringComparer.Ordinal);
    private Dictionary<string, Prior> _next = new(StringComparer.Ordinal);

    /// <summary>Usage since the job's previous read, or null when this read only primes.</summary>
    /// <param name="timestamp">A <see cref="TimeProvider.GetTimestamp"/> value taken at the read.</param>
    public JobUsage? Next(JobCgroup job, CgroupCounters counters, long timestamp, long frequency)
    {
        if (counters.CpuNanoseconds is not { } cpu || counters.MemoryBytes is not { } memory)
        {
            return null;
        }

        _next[job.JobId] = new Prior(job.Key, cpu, timestamp);
        if (!_prior.TryGetValue(job.JobId, out var prior) || prior.Key != job.Key || cpu < prior.CpuNanoseconds || timestamp <= prior.Timestamp)
        {
            return null;
        }

        var wallNanoseconds = (timestamp - prior.Timestamp) * (1e9 / frequency);
        var percent = (cpu - prior.CpuNanoseconds) / (wallNanoseconds * counters.Cpus) * 100;
        return new JobUsage(
            Math.Round(Math.Clamp(percent, 0, 100), 2),
            Mb(memory),
            counters.PeakBytes is { } peak ? Mb(peak) : null,
            counters.OomKills is { } kills ? (long)Math.Min(kills, long.MaxValue) : null);
    }

    /// <summary>Ends a round of reads: a job not read in it is forgotten, so it primes again if it comes back.</summary>
    public void EndRound()
    {
        (_prior, _next) = (_next, _prior);
        _next.Clear();
    }

    private static long Mb(ulong bytes) => (long)(bytes / BytesPerMb);

    private sealed record Prior(string Key, ulong CpuNanoseconds, long Timestamp);
}

using System.Globalization;
using HpcJobs.Agent.Cgroups;
using HpcJobs.Agent.Gpus;

namespace HpcJobs.Agent.Collection;

/// <summary>One read of every job cgroup of the node, and of the GPU tools when a job has a sample.</summary>
/// <param name="procRoot">Where <c>PID/cgroup</c> files are read: <c>/proc</c>, or a test's directory.</param>
public sealed class Collector(string cgroupRoot, string procRoot, string node, IReadOnlyList<GpuTool> gpuTools, TimeProvider time)
{
    private readonly CgroupReader _reader = new(cgroupRoot);
    private readonly UsageCalculator _usage = new();
    private ProcessJobs? _processJobs;

    public async Task<IntervalReading> CollectAsync(CancellationToken cancel)
    {
        var jobs = SlurmCgroups.Discover(cgroupRoot, node);
        var at = time.GetUtcNow();
        var usages = new List<(JobCgroup Job, JobUsage Usage)>(jobs.Count);
        foreach (var job in jobs)
        {
            var counters = _reader.Read(job);
            if (_usage.Next(job, counters, time.GetTimestamp(), time.TimestampFrequency) is { } usage)
            {
                usages.Add((job, usage));
            }
        }

        _usage.EndRound();
        var gpus = usages.Count > 0 ? await ReadGpusAsync(usages, cancel) : null;
        var timestamp = Timestamp(at);
        var samples = new List<AgentSample>(usages.Count);
        foreach (var (job, usage) in usages)
        {
            JobGpuUsage? gpu = null;
            gpus?.TryGetValue(job.JobId, out gpu);
            samples.Add(new AgentSample(job.JobId, node, timestamp, usage.CpuUsage, usage.MemoryUsageMb,
                gpu?.Usage, gpu?.MemoryMb, usage.MemoryPeakMb, usage.OomKills));
        }

        return new IntervalReading(at, samples, [.. jobs.Select(j => j.JobId)]);
    }

    /// <summary>RFC 3339 UTC to the microsecond, the service's finest precision: the sample's identity.</summary>
    public static string Timestamp(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        var micro = new DateTime(utc.Ticks - (utc.Ticks % 10), DateTimeKind.Utc);
        return micro.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
    }

    private async Task<Dictionary<string, JobGpuUsage>?> ReadGpusAsync(List<(JobCgroup Job, JobUsage Usage)> usages, CancellationToken cancel)
    {
        var parts = new List<GpuSnapshot>(gpuTools.Count);
        foreach (var tool in gpuTools)
        {
            if (await tool.ReadAsync(cancel) is { } snapshot)
            {
                parts.Add(snapshot);
            }
        }

        if (parts.Count == 0)
        {
            return null;
        }

        var gpus = GpuSnapshot.Combine(parts);
        if (gpus.Processes.Count == 0)
        {
            return null;
        }

        _processJobs ??= new ProcessJobs(_reader, procRoot);
        var jobOfPid = _processJobs.Find(gpus.Processes.Select(p => p.Pid).ToHashSet(), [.. usages.Select(u => u.Job)]);
        return GpuAttribution.Assign(gpus, jobOfPid);
    }
}

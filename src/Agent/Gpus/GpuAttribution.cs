namespace HpcJobs.Agent.Gpus;

/// <summary>A job's GPU figures; either may be null when no GPU of the job reports it.</summary>
public sealed record JobGpuUsage(double? Usage, long? MemoryMb);

/// <summary>
/// Gives each GPU to the jobs that run a compute process on it: a process belongs to the job whose
/// cgroup (or a cgroup below it) lists its pid. A job's <c>gpu_usage</c> is the mean utilisation of its
/// GPUs; its <c>gpu_memory_mb</c> the sum of its GPUs' used memory — of the whole GPU when the job
/// is alone on it, of the job's own processes when jobs share it (and the tool reports them).
/// </summary>
public static class GpuAttribution
{
    public static Dictionary<string, JobGpuUsage> Assign(GpuSnapshot snapshot, IReadOnlyDictionary<int, string> jobOfPid)
    {
        var devices = new Dictionary<string, GpuDevice>(StringComparer.Ordinal);
        foreach (var device in snapshot.Devices)
        {
            devices.TryAdd(device.Key, device);
        }

        var jobsOfGpu = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var gpusOfJob = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var processMemory = new Dictionary<(string Job, string Gpu), double?>();
        foreach (var process in snapshot.Processes)
        {
            if (!jobOfPid.TryGetValue(process.Pid, out var job) || !devices.ContainsKey(process.GpuKey))
            {
                continue;
            }

            if (!jobsOfGpu.TryGetValue(process.GpuKey, out var jobs))
            {
                jobsOfGpu[process.GpuKey] = jobs = new HashSet<string>(StringComparer.Ordinal);
            }

            jobs.Add(job);
            if (!gpusOfJob.TryGetValue(job, out var gpus))
            {
                gpusOfJob[job] = gpus = [];
            }

            if (!gpus.Contains(process.GpuKey))
            {
                gpus.Add(process.GpuKey);
            }

            var key = (job, process.GpuKey);
            processMemory.TryGetValue(key, out var sum);
            processMemory[key] = process.UsedMemoryMb is { } used ? (sum ?? 0) + used : sum;
        }

        var result = new Dictionary<string, JobGpuUsage>(StringComparer.Ordinal);
        foreach (var (job, gpus) in gpusOfJob)
        {
            double utilization = 0, memory = 0;
            int withUtilization = 0, withMemory = 0;
            foreach (var gpu in gpus)
            {
                var device = devices[gpu];
                if (device.Utilization is { } u)
                {
                    utilization += u;
                    withUtilization++;
                }

                var used = jobsOfGpu[gpu].Count == 1 ? device.MemoryUsedMb ?? processMemory[(job, gpu)] : processMemory[(job, gpu)];
                if (used is { } m)
                {
                    memory += m;
                    withMemory++;
                }
            }

            result[job] = new JobGpuUsage(
                withUtilization > 0 ? Math.Round(Math.Clamp(utilization / withUtilization, 0, 100), 2) : null,
                withMemory > 0 ? (long)Math.Floor(memory) : null);
        }

        return result;
    }
}

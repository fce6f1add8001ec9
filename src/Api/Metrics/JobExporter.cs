using System.Collections.Concurrent;
using System.Text;
using HpcJobs.Grains;
using Microsoft.Extensions.Options;

namespace HpcJobs.Api.Metrics;

/// <summary>
/// The per-job and per-node series of the jobs activated on this silo. Job grains keep it current
/// (it is one of their observers); a scrape renders it from memory, so it never touches the
/// database and costs O(active jobs on this silo). Ended jobs stay for a grace period, deleted and
/// deactivated ones leave at once, so a job's series are exported by exactly one silo.
/// </summary>
public sealed class JobExporter(TimeProvider time, IOptions<MetricsOptions> options, IOptions<EfficiencyOptions> efficiency) : IJobObserverPart
{
    private const double BytesPerMegabyte = 1024 * 1024;

    private readonly ConcurrentDictionary<string, Series> _jobs = new(StringComparer.Ordinal);

    /// <summary>Jobs whose series this silo currently exports.</summary>
    public int Count => _jobs.Count;

    public void OnCreated(JobView job) => Track(job);

    public void OnChanged(JobView job) => Track(job);

    /// <summary>
    /// In place, on the job's existing series: a sample builds no series object. A job without one
    /// is not exported by this silo (it has ended past its grace, was deleted or deactivated, and
    /// its grain takes no more samples); its next activation gives a full view.
    /// </summary>
    public void OnUsageChanged(string jobId, JobUsageChange change)
    {
        if (_jobs.TryGetValue(jobId, out var series))
        {
            series.Update(change);
        }
    }

    public void OnTransition(JobView job, JobState from) => Track(job);

    public void OnDeleted(JobView job) => _jobs.TryRemove(job.Id, out _);

    public void OnDeactivated(string jobId) => _jobs.TryRemove(jobId, out _);

    internal void Write(StringBuilder text)
    {
        var now = time.GetUtcNow();
        var jobs = Snapshot(now);
        var exposition = new Exposition(text);

        exposition.Family("hpc_job_runtime_seconds", "gauge", "Runtime of the job in seconds: now minus start while running, end minus start once ended, 0 while pending.");
        foreach (var job in jobs)
        {
            exposition.Line("hpc_job_runtime_seconds", job.Labels, Runtime(job.Job, now));
        }

        exposition.Family("hpc_job_cpu_usage_percent", "gauge", "Latest CPU usage of the job, percent (0-100).");
        foreach (var job in jobs)
        {
            exposition.Line("hpc_job_cpu_usage_percent", job.Labels, job.Latest?.CpuUsage ?? 0);
        }

        exposition.Family("hpc_job_memory_usage_bytes", "gauge", "Latest memory usage of the job, bytes (reported MB x 1048576).");
        foreach (var job in jobs)
        {
            exposition.Line("hpc_job_memory_usage_bytes", job.Labels, (job.Latest?.MemoryUsageMb ?? 0) * BytesPerMegabyte);
        }

        exposition.Family("hpc_job_gpu_usage_percent", "gauge", "Latest GPU usage of the job, percent (0-100); only jobs that report GPU usage.");
        foreach (var job in jobs)
        {
            if (job.Latest?.GpuUsage is { } gpu)
            {
                exposition.Line("hpc_job_gpu_usage_percent", job.Labels, gpu);
            }
        }

        WriteNodes(exposition, jobs);
        WriteWaste(exposition, jobs, now);
    }

    /// <summary>
    /// The waste the flags show, bounded by flags and users, never by jobs: running jobs per flag,
    /// and per user the GPUs its running jobs hold and how many of those sit in jobs flagged idle.
    /// no_data is judged again at the scrape, so a job that stopped reporting shows it.
    /// </summary>
    private void WriteWaste(Exposition exposition, List<Exported> exported, DateTimeOffset now)
    {
        var flagged = JobFlags.All.ToDictionary(f => f, _ => 0, StringComparer.Ordinal);
        var gpus = new SortedDictionary<string, (long Allocated, long Idle)>(StringComparer.Ordinal);
        foreach (var entry in exported)
        {
            var job = entry.Job;
            if (job.State != JobState.Running)
            {
                continue;
            }

            // The judged flags, with no_data judged at the scrape: no JSON parsed, no summary recomputed per scrape.
            var allocation = job.Allocation ?? JobAllocation.None;
            var flags = Flagging.AsOf(entry.Flags, entry.LastSampleAt, job.State, job.StartTime, now, efficiency.Value);
            foreach (var flag in flags)
            {
                flagged[flag]++;
            }

            if (allocation.Gpus is > 0 and var held)
            {
                var (allocated, idle) = gpus.GetValueOrDefault(job.User);
                gpus[job.User] = (allocated + held, idle + (flags.Contains(JobFlags.IdleGpu) ? held : 0));
            }
        }

        exposition.Family("hpc_jobs_flagged", "gauge", "Running jobs on this silo with each efficiency flag (every flag present, 0 included).");
        foreach (var flag in JobFlags.All)
        {
            exposition.Line("hpc_jobs_flagged", Exposition.Labels(("flag", flag)), flagged[flag]);
        }

        exposition.Family("hpc_user_gpus_allocated", "gauge", "GPUs allocated to the user's running jobs on this silo.");
        var users = gpus.Keys.ToDictionary(u => u, u => Exposition.Labels(("user", u)), StringComparer.Ordinal);
        foreach (var (user, totals) in gpus)
        {
            exposition.Line("hpc_user_gpus_allocated", users[user], totals.Allocated);
        }

        exposition.Family("hpc_user_gpus_idle", "gauge", "GPUs allocated to the user's running jobs on this silo that are flagged idle_gpu.");
        foreach (var (user, totals) in gpus)
        {
            exposition.Line("hpc_user_gpus_idle", users[user], totals.Idle);
        }
    }

    private static void WriteNodes(Exposition exposition, List<Exported> exported)
    {
        var nodes = new Dictionary<string, NodeTotals>(StringComparer.Ordinal);
        foreach (var entry in exported)
        {
            var job = entry.Job;
            var latest = entry.Latest;
            if (job.State != JobState.Running)
            {
                continue;
            }

            for (var n = 0; n < job.Nodes.Count; n++)
            {
                var node = job.Nodes[n];
                if (IndexOf(job.Nodes, node) != n)
                {
                    continue; // a node listed twice counts once
                }

                ref var totals = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(nodes, node, out _);
                totals.Jobs++;
                totals.Cpu += latest?.CpuUsage ?? 0;
                totals.MemoryBytes += (latest?.MemoryUsageMb ?? 0) * BytesPerMegabyte;
                if (latest?.GpuUsage is { } gpu)
                {
                    totals.GpuJobs++;
                    totals.Gpu += gpu;
                }
            }
        }

        var labels = nodes.ToDictionary(n => n.Key, n => Exposition.Labels(("node", n.Key)), StringComparer.Ordinal);
        exposition.Family("hpc_node_cpu_usage_percent", "gauge", "Mean CPU usage, percent (0-100), of the running jobs on the node that this silo hosts.");
        foreach (var (node, totals) in nodes)
        {
            exposition.Line("hpc_node_cpu_usage_percent", labels[node], totals.Cpu / totals.Jobs);
        }

        exposition.Family("hpc_node_memory_usage_bytes", "gauge", "Memory used by the running jobs on the node that this silo hosts, bytes.");
        foreach (var (node, totals) in nodes)
        {
            exposition.Line("hpc_node_memory_usage_bytes", labels[node], totals.MemoryBytes);
        }

        exposition.Family("hpc_node_gpu_usage_percent", "gauge", "Mean GPU usage, percent (0-100), of the running jobs on the node that report GPU usage.");
        foreach (var (node, totals) in nodes.Where(n => n.Value.GpuJobs > 0))
        {
            exposition.Line("hpc_node_gpu_usage_percent", labels[node], totals.Gpu / totals.GpuJobs);
        }

        // The contract's name ends in _count, which Prometheus reserves for histograms; hpc_node_jobs is the conventional twin.
        foreach (var name in new[] { "hpc_node_job_count", "hpc_node_jobs" })
        {
            exposition.Family(name, "gauge", "Running jobs on the node that this silo hosts.");
            foreach (var (node, totals) in nodes)
            {
                exposition.Line(name, labels[node], totals.Jobs);
            }
        }
    }

    private static int IndexOf(IReadOnlyList<string> nodes, string node)
    {
        for (var i = 0; i < nodes.Count; i++)
        {
            if (string.Equals(nodes[i], node, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private List<Exported> Snapshot(DateTimeOffset now)
    {
        var grace = options.Value.EndedJobGrace;
        var exported = new List<Exported>(_jobs.Count);
        foreach (var (id, entry) in _jobs)
        {
            if (entry.EndTime is { } end && end + grace <= now)
            {
                // Compare-and-remove: a job whose lifecycle changed meanwhile has a new entry and keeps it.
                _jobs.TryRemove(new KeyValuePair<string, Series>(id, entry));
                continue;
            }

            exported.Add(entry.Read());
        }

        return exported;
    }

    private void Track(JobView job)
    {
        if (job.EndTime is { } end && end + options.Value.EndedJobGrace <= time.GetUtcNow())
        {
            _jobs.TryRemove(job.Id, out _);
            return;
        }

        // A sample changes only values; the escaped label set is rebuilt only when the state changes.
        _jobs.AddOrUpdate(
            job.Id,
            static (_, job) => new Series(job, LabelsOf(job)),
            static (_, previous, job) => new Series(job, previous.State == job.State ? previous.Labels : LabelsOf(job)),
            job);
    }

    private static string LabelsOf(JobView job) => Exposition.Labels(
        ("job_id", job.Id), ("user", job.User), ("node", job.Nodes.Count > 0 ? job.Nodes[0] : string.Empty), ("state", job.State.ToWire()));

    /// <summary>
    /// A job's series: its lifecycle (the view, replaced with a new entry at every full view) and its
    /// usage, which samples update in place. The job's grain writes on its turn while scrapes read,
    /// so the usage is read and written under the entry's own monitor: a scrape sees one sample's
    /// usage, summary and flags together, and the entry needs no lock object of its own.
    /// </summary>
    private sealed class Series(JobView job, string labels)
    {
        private UsageSample? _latest = job.Latest;
        // Of the summary, the scrape needs only this (no_data): the summary itself is 264 bytes a job.
        // The times as UTC ticks (memory per active job).
        private long _lastSampleAt = UtcTicks.Of(job.Summary?.LastSampleAt);
        private IReadOnlyList<string>? _flags = job.Flags;
        private readonly long _start = UtcTicks.Of(job.StartTime);
        private readonly long _end = UtcTicks.Of(job.EndTime);

        // The lifecycle the scrape reads, not the view: a view (144 bytes) kept its first sample and
        // summary referenced for nothing once the first commit replaced them.
        public string User { get; } = job.User;

        public IReadOnlyList<string> Nodes { get; } = job.Nodes;

        public JobState State { get; } = job.State;

        public DateTimeOffset StartTime => UtcTicks.At(_start);

        public DateTimeOffset? EndTime => UtcTicks.AtOrNull(_end);

        public JobAllocation? Allocation { get; } = job.Allocation;

        public string Labels { get; } = labels;

        public void Update(JobUsageChange change)
        {
            lock (this)
            {
                (_latest, _lastSampleAt, _flags) = (change.Latest, UtcTicks.Of(change.LastSampleAt), change.Flags);
            }
        }

        public Exported Read()
        {
            lock (this)
            {
                return new Exported(this, Labels, _latest, UtcTicks.AtOrNull(_lastSampleAt), _flags);
            }
        }
    }

    /// <summary>One job's values at a scrape.</summary>
    private readonly record struct Exported(Series Job, string Labels, UsageSample? Latest, DateTimeOffset? LastSampleAt, IReadOnlyList<string>? Flags);

    private static double Runtime(Series job, DateTimeOffset now) => job.State switch
    {
        JobState.Pending => 0,
        JobState.Running => Math.Max(0, (now - job.StartTime).TotalSeconds),
        _ => Math.Max(0, ((job.EndTime ?? now) - job.StartTime).TotalSeconds),
    };

    private struct NodeTotals
    {
        public int Jobs;
        public double Cpu;
        public double MemoryBytes;
        public int GpuJobs;
        public double Gpu;
    }
}

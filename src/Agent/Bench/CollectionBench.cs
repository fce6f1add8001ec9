using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HpcJobs.Agent.Collection;
using HpcJobs.Agent.Gpus;
using HpcJobs.Agent.Sending;
using Microsoft.Extensions.Logging.Abstractions;

namespace HpcJobs.Agent.Bench;

/// <summary>
/// <c>--bench</c>: the cost of one interval's collection (discovery, every cgroup file, the GPU tool,
/// GPU attribution through cgroup.procs, the batch JSON) with 128 jobs and 8 GPUs on a fake tree.
/// Only the collection is timed, not the benchmark's own writes of new counter values between intervals.
/// </summary>
public static partial class CollectionBench
{
    public const int Jobs = 128;
    public const int Gpus = 8;
    private const int Warmup = 5;
    private const int Intervals = 200;

    public static async Task<int> RunAsync(TextWriter output)
    {
        using var tree = new FakeCgroupTree(Jobs, Gpus);
        var tools = new[] { GpuTool.Nvidia(tree.NvidiaSmi, TimeSpan.FromSeconds(10), NullLogger.Instance) };
        var collector = new Collector(tree.Root, "bench-node", tools, TimeProvider.System);
        var process = Process.GetCurrentProcess();

        var samples = 0;
        var gpuSamples = 0;
        long bodyBytes = 0;
        for (var i = 0; i < Warmup; i++)
        {
            tree.Advance(TimeSpan.FromSeconds(30));
            await collector.CollectAsync(CancellationToken.None);
        }

        var self = TimeSpan.Zero;
        var children = TimeSpan.Zero;
        var worst = TimeSpan.Zero;
        var processTime = TimeSpan.Zero;
        var wall = TimeSpan.Zero;
        for (var i = 0; i < Intervals; i++)
        {
            tree.Advance(TimeSpan.FromSeconds(30));
            process.Refresh();
            var (selfBefore, childBefore) = (Usage(Self), Usage(Children));
            var processBefore = process.TotalProcessorTime;
            var started = Stopwatch.GetTimestamp();

            var collection = await collector.CollectAsync(CancellationToken.None);
            var body = AgentJson.Batch(collection.Samples);

            wall += Stopwatch.GetElapsedTime(started);
            process.Refresh();
            processTime += process.TotalProcessorTime - processBefore;
            var spent = Usage(Self) - selfBefore;
            self += spent;
            worst = spent > worst ? spent : worst;
            children += Usage(Children) - childBefore;
            samples = collection.Samples.Count;
            gpuSamples = collection.Samples.Count(s => s.GpuUsage is not null);
            bodyBytes = body.Length;
        }

        GC.Collect();
        process.Refresh();
        var (rss, peak) = ResidentMemory();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
            agent collection benchmark: {Jobs} jobs (cgroup v2, step and task cgroups), {Gpus} GPUs (fake nvidia-smi), {Intervals} intervals after {Warmup} warm-up
            samples per interval: {samples} ({gpuSamples} with GPU fields), batch body {bodyBytes} bytes
            agent CPU per interval: mean {self.TotalMilliseconds / Intervals:0.00} ms, max {worst.TotalMilliseconds:0.00} ms (getrusage); Process.TotalProcessorTime mean {processTime.TotalMilliseconds / Intervals:0.00} ms
            GPU tool child processes CPU per interval: mean {children.TotalMilliseconds / Intervals:0.00} ms (the fake nvidia-smi; a real one costs what it costs)
            wall time per interval: mean {wall.TotalMilliseconds / Intervals:0.00} ms
            resident memory: {rss / 1048576.0:0.0} MB now, {peak / 1048576.0:0.0} MB peak (VmRSS / VmHWM)
            """));
        return 0;
    }

    private const int Self = 0;
    private const int Children = -1;

    private static TimeSpan Usage(int who)
    {
        if (GetRusage(who, out var usage) != 0)
        {
            return TimeSpan.Zero;
        }

        return TimeSpan.FromMicroseconds((usage.UserSeconds + usage.SystemSeconds) * 1_000_000.0 + usage.UserMicroseconds + usage.SystemMicroseconds);
    }

    private static (long Rss, long Peak) ResidentMemory()
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kilobytes(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kilobytes(line);
            }
        }

        return (rss, peak);
    }

    private static long Kilobytes(string line) =>
        long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetRusage(int who, out Rusage usage);

    [StructLayout(LayoutKind.Sequential)]
    private struct Rusage
    {
        public long UserSeconds;
        public long UserMicroseconds;
        public long SystemSeconds;
        public long SystemMicroseconds;
        public Rest Others;
    }

    [InlineArray(14)]
    private struct Rest
    {
        private long _element;
    }
}

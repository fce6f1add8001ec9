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
/// GPU attribution through cgroup.procs, the batch JSON) with 128 jobs and 8 GPUs on a fake tree, in
/// this process; then the real agent (<c>--dry-run</c>, its whole host) on the same tree for its CPU
/// per interval and resident memory. The benchmark's own writes of new counter values between
/// intervals are not timed.
/// </summary>
public static partial class CollectionBench
{
    public const int Jobs = 128;
    public const int Gpus = 8;
    private const int Warmup = 5;
    private const int Intervals = 200;
    private const int AgentIntervals = 20;

    public static async Task<int> RunAsync(TextWriter output)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"agent collection benchmark: {Jobs} jobs (cgroup v2, step and task cgroups each), {Gpus} GPUs (fake nvidia-smi), {Environment.ProcessorCount} CPUs"));
        await InProcessAsync(output, foreign: false, hints: true);
        await InProcessAsync(output, foreign: true, hints: true);
        await InProcessAsync(output, foreign: true, hints: false);
        await AgentProcessAsync(output);
        return 0;
    }

    private static async Task InProcessAsync(TextWriter output, bool foreign, bool hints)
    {
        using var tree = new FakeCgroupTree(Jobs, Gpus, foreign);
        if (!hints)
        {
            Directory.Delete(tree.ProcRoot, recursive: true);
        }

        var tools = new[] { GpuTool.Nvidia(tree.NvidiaSmi, TimeSpan.FromSeconds(10), NullLogger.Instance) };
        var collector = new Collector(tree.Root, tree.ProcRoot, "bench-node", tools, TimeProvider.System);
        var process = Process.GetCurrentProcess();
        for (var i = 0; i < Warmup; i++)
        {
            tree.Advance(TimeSpan.FromSeconds(30));
            await collector.CollectAsync(CancellationToken.None);
        }

        TimeSpan self = TimeSpan.Zero, children = TimeSpan.Zero, worst = TimeSpan.Zero, processTime = TimeSpan.Zero, wall = TimeSpan.Zero;
        int samples = 0, gpuSamples = 0, bodyBytes = 0;
        for (var i = 0; i < Intervals; i++)
        {
            tree.Advance(TimeSpan.FromSeconds(30));
            process.Refresh();
            var (selfBefore, childBefore, processBefore) = (Usage(Self), Usage(Children), process.TotalProcessorTime);
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
            (samples, gpuSamples, bodyBytes) = (collection.Samples.Count, collection.Samples.Count(s => s.GpuUsage is not null), body.Length);
        }

        var (rss, peak) = ResidentMemory("self");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
            in process, {Scenario(foreign, hints)} ({Intervals} intervals after {Warmup} warm-up):
              samples per interval: {samples} ({gpuSamples} with GPU fields), batch body {bodyBytes} bytes
              agent CPU per interval: mean {self.TotalMilliseconds / Intervals:0.00} ms, max {worst.TotalMilliseconds:0.00} ms (getrusage); Process.TotalProcessorTime mean {processTime.TotalMilliseconds / Intervals:0.00} ms
              GPU tool child processes CPU per interval: mean {children.TotalMilliseconds / Intervals:0.00} ms (2 runs of the fake nvidia-smi)
              wall time per interval: mean {wall.TotalMilliseconds / Intervals:0.00} ms
              resident memory of this process: {rss / 1048576.0:0.0} MB, peak {peak / 1048576.0:0.0} MB
            """));
    }

    private static string Scenario(bool foreign, bool hints) => (foreign, hints) switch
    {
        (false, _) => "typical: every GPU process in a job, /proc/PID/cgroup readable",
        (true, true) => "one GPU process in no job, /proc/PID/cgroup readable",
        (true, false) => "worst case: one GPU process in no job and no /proc/PID/cgroup (hidepid), every job's cgroup.procs read",
    };

    /// <summary>The real agent, host and all, in --dry-run on a 1 s interval; stopped by its pid when measured.</summary>
    private static async Task AgentProcessAsync(TextWriter output)
    {
        using var tree = new FakeCgroupTree(Jobs, Gpus, foreignGpuProcess: false);
        var spool = Directory.CreateTempSubdirectory("hpc-agent-bench-spool-").FullName;
        var self = Environment.ProcessPath!;
        var dll = Path.Combine(AppContext.BaseDirectory, "HpcJobs.Agent.dll");
        var start = Path.GetFileNameWithoutExtension(self) == "dotnet"
            ? new ProcessStartInfo(self, $"\"{dll}\" --dry-run")
            : new ProcessStartInfo(self, "--dry-run");
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        start.Environment["HPC_SERVICE_URL"] = "http://127.0.0.1:9";
        start.Environment["NODE_NAME"] = "bench-node";
        start.Environment["INTERVAL_SECONDS"] = "1";
        start.Environment["CGROUP_ROOT"] = tree.Root;
        start.Environment["SPOOL_DIR"] = spool;
        start.Environment["EVENT_SPOOL_DIR"] = spool;
        start.Environment["NVIDIA_SMI"] = tree.NvidiaSmi;
        start.Environment["ROCM_SMI"] = Path.Combine(tree.Root, "no-rocm-smi");

        using var agent = Process.Start(start)!;
        var lines = 0;
        agent.OutputDataReceived += (_, e) => Interlocked.Increment(ref lines);
        agent.ErrorDataReceived += (_, _) => { };
        agent.BeginOutputReadLine();
        agent.BeginErrorReadLine();
        try
        {
            // Past start-up and the first intervals (JIT), then a measured stretch.
            await WaitForLinesAsync(() => Volatile.Read(ref lines), 2 * 5, agent);
            var (before, at) = (CpuTime(agent.Id), Volatile.Read(ref lines));
            await WaitForLinesAsync(() => Volatile.Read(ref lines), at + (2 * AgentIntervals), agent);
            var spent = CpuTime(agent.Id) - before;
            var intervals = (Volatile.Read(ref lines) - at) / 2.0;
            var (rss, peak) = ResidentMemory(agent.Id.ToString(CultureInfo.InvariantCulture));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
                real agent process (--dry-run, INTERVAL_SECONDS=1, whole host), {intervals:0} intervals after 5:
                  agent CPU per interval: mean {spent.TotalMilliseconds / intervals:0.00} ms (/proc/PID/stat, 10 ms ticks)
                  resident memory: {rss / 1048576.0:0.0} MB, peak {peak / 1048576.0:0.0} MB (VmRSS / VmHWM)
                """));
        }
        finally
        {
            agent.Kill();
            await agent.WaitForExitAsync();
            Directory.Delete(spool, recursive: true);
        }
    }

    private static async Task WaitForLinesAsync(Func<int> lines, int target, Process agent)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (lines() < target)
        {
            if (agent.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("the agent stopped printing requests");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>utime + stime of a process, from /proc/PID/stat (in clock ticks of 10 ms).</summary>
    private static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromMilliseconds(ticks * 10);
    }

    private const int Self = 0;
    private const int Children = -1;

    private static TimeSpan Usage(int who) =>
        GetRusage(who, out var usage) != 0
            ? TimeSpan.Zero
            : TimeSpan.FromMicroseconds((usage.UserSeconds + usage.SystemSeconds) * 1_000_000.0 + usage.UserMicroseconds + usage.SystemMicroseconds);

    private static (long Rss, long Peak) ResidentMemory(string pid)
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
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

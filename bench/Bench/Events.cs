using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace HpcJobs.Bench;

/// <summary>
/// <c>events &lt;url&gt; &lt;tasks&gt; &lt;connections&gt;</c>: a job array of <c>tasks</c> tasks
/// starting at once — one <c>job-started</c> per task (<c>&lt;array&gt;_&lt;i&gt;</c>, a hostlist
/// node list, an allocation), all queued at the same moment over <c>connections</c> connections —
/// then the same tasks' <c>job-finished</c>. Prints events/s, errors and latency percentiles of each.
/// With <c>BENCH_CPU_PIDS</c> (space-separated <c>label=pid</c>, e.g. <c>silo=… db=…</c> with the PostgreSQL postmaster), also
/// the CPU milliseconds per event of each of those processes and their children during each phase
/// (from /proc: the children of a postmaster are its backends).
/// </summary>
internal static class Events
{
    public static async Task RunAsync(Uri url, int tasks, int connections)
    {
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = url,
            Timeout = TimeSpan.FromMinutes(2),
        };
        var array = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

        // Warm-up on other ids for 10 s, then a pause for the tiered JIT to finish: a service that has
        // run a while (measured: in the first ~20 s, re-JIT takes a sixth of the CPU).
        var warm = Stopwatch.StartNew();
        for (var round = 0; warm.Elapsed < TimeSpan.FromSeconds(10); round++)
        {
            await PhaseAsync(client, "warm-up", 2000, connections, i => Started($"w{array}r{round}_{i}", i), print: false);
            await PhaseAsync(client, "warm-up", 2000, connections, i => Finished($"w{array}r{round}_{i}", i), print: false);
        }

        await Task.Delay(TimeSpan.FromSeconds(3));
        await PhaseAsync(client, "job-started", tasks, connections, i => Started($"{array}_{i}", i));
        await PhaseAsync(client, "job-finished", tasks, connections, i => Finished($"{array}_{i}", i));
    }

    private static (string Path, string Body) Started(string id, int i) =>
        ("/v1/events/job-started", string.Create(CultureInfo.InvariantCulture,
            $$"""{"job_id":"{{id}}","user":"u{{i % 200}}","node_list":"cn[{{(i % 500) * 2 + 1:D4}}-{{(i % 500) * 2 + 2:D4}}]","cpu_allocation":64,"memory_allocation_mb":128000,"gpu_allocation":0,"partition":"cpu","account":"a{{i % 20}}","cluster":"bench","time_limit_minutes":60,"restart_count":0}"""));

    private static (string Path, string Body) Finished(string id, int i) =>
        ("/v1/events/job-finished", string.Create(CultureInfo.InvariantCulture,
            $$"""{"job_id":"{{id}}","exit_code":{{(i % 10 == 0 ? 1 : 0)}},"raw_state":"{{(i % 10 == 0 ? "FAILED" : "COMPLETED")}}"}"""));

    private static async Task PhaseAsync(
        HttpClient client, string name, int count, int connections, Func<int, (string Path, string Body)> request, bool print = true)
    {
        var latencies = new double[count];
        long next = -1, errors = 0;
        var cpuBefore = CpuTicks();
        var watch = Stopwatch.StartNew();
        async Task WorkerAsync()
        {
            int i;
            while ((i = (int)Interlocked.Increment(ref next)) < count)
            {
                var (path, body) = request(i);
                using var content = new StringContent(body, Encoding.UTF8, "application/json");
                var started = Stopwatch.GetTimestamp();
                using var response = await client.PostAsync(path, content);
                _ = await response.Content.ReadAsStringAsync();
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }

        // Every connection's worker starts at once: the whole array arrives together.
        await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => Task.Run(WorkerAsync)));
        var seconds = watch.Elapsed.TotalSeconds;
        if (!print)
        {
            return;
        }

        var cpuAfter = CpuTicks();
        var cpu = string.Concat(cpuAfter.Select(p => string.Create(CultureInfo.InvariantCulture,
            $" cpu_ms_per_event_{p.Key}={(p.Value - cpuBefore.GetValueOrDefault(p.Key)) * 1000.0 / TicksPerSecond / count:F3}")));

        Array.Sort(latencies);
        double Percentile(double p) => latencies[Math.Min(count - 1, (int)Math.Ceiling(p * count) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT {name} events={count} connections={connections} events_per_s={count / seconds:F0} errors={errors} p50_ms={Percentile(0.50):F1} p99_ms={Percentile(0.99):F1} max_ms={latencies[^1]:F1}{cpu}"));
    }

    private const double TicksPerSecond = 100; // USER_HZ

    /// <summary>utime + stime of each BENCH_CPU_PIDS process plus its live children, by label.</summary>
    private static Dictionary<string, long> CpuTicks()
    {
        var result = new Dictionary<string, long>();
        var pids = (Environment.GetEnvironmentVariable("BENCH_CPU_PIDS") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (pids.Length == 0)
        {
            return result;
        }

        var stats = new List<(string Pid, string Parent, long Ticks)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var text = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
                stats.Add((Path.GetFileName(dir), fields[1], long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
            }
        }

        foreach (var entry in pids)
        {
            var (label, pid) = (entry[..entry.IndexOf('=')], entry[(entry.IndexOf('=') + 1)..]);
            result[label] = stats.Where(s => s.Pid == pid || s.Parent == pid).Sum(s => s.Ticks);
        }

        return result;
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace HpcJobs.Silo.Tests;

/// <summary>
/// Tests that stop the shared PostgreSQL server. The collection runs alone, after the parallel
/// ones, so no other test's database disappears under it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PostgresOutageCollection
{
    public const string Name = "postgres-outage";
}

/// <summary>PostgreSQL stopped and started again under sample load, the service left running.</summary>
[Collection(PostgresOutageCollection.Name)]
public sealed class PostgresOutageResilienceTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(5);

    [SkippableFact]
    public async Task Service_Answers503AndRecoversWithoutRestart_WhenPostgresStopsUnderLoad()
    {
        var settings = await Resilience.NewSettingsAsync(new PostgresBackend());
        var server = (await PostgresServer.GetAsync())!;
        var jobs = Enumerable.Range(0, 20).Select(i => $"o-{i}").ToList();
        var load = new ResilienceLoad();
        var health = new ConcurrentQueue<Resilience.HealthProbe>();
        await using var service = await ServiceProcess.StartAsync(settings);
        await Ingest.CreateJobsAsync(service.Client, jobs);

        TimeSpan stopReturned, startCalled, startReturned;
        TimeSpan? healthyAt = null;
        var down = false;
        using (var stop = new CancellationTokenSource())
        {
            var running = load.RunAsync(service.Client, jobs, writers: 16, stop.Token);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(2));
                down = true;
                server.Stop("fast");
                stopReturned = load.Clock.Elapsed;

                while (load.Clock.Elapsed < stopReturned + Outage)
                {
                    health.Enqueue(await Resilience.ProbeHealthAsync(service.Client, load.Clock));
                    await Task.Delay(250);
                }

                startCalled = load.Clock.Elapsed;
                server.Start();
                down = false;
                startReturned = load.Clock.Elapsed;

                while (load.Clock.Elapsed < startReturned + TimeSpan.FromSeconds(30))
                {
                    var probe = await Resilience.ProbeHealthAsync(service.Client, load.Clock);
                    health.Enqueue(probe);
                    if (probe.Status == 200)
                    {
                        healthyAt = probe.End;
                        break;
                    }

                    await Task.Delay(100);
                }

                // Load for ~5 s after the restart, and at least 2 s after health came back.
                var until = Max(startReturned + Outage, (healthyAt ?? startReturned) + TimeSpan.FromSeconds(2));
                if (until > load.Clock.Elapsed)
                {
                    await Task.Delay(until - load.Clock.Elapsed);
                }
            }
            finally
            {
                stop.Cancel();
                await running;
                if (down)
                {
                    // Never leave the shared server stopped, whatever failed above.
                    server.Start();
                }
            }
        }

        var answers = load.Answers.ToList();
        var during = answers.Where(a => a.Start >= stopReturned && a.End <= startCalled).ToList();
        var failed = during.Where(a => a.Status == 503).ToList();
        var after = answers.Where(a => a.Start >= startReturned).ToList();
        var healthDuring = health.Where(p => p.Start >= stopReturned && p.End <= startCalled).ToList();
        var firstAccepted = after.Where(a => a.Status == 201).Select(a => (TimeSpan?)a.End).Min();
        var stored = await Resilience.CountStoredAsync(service.Client, load.Ingest.Acknowledged.Keys);

        output.WriteLine($"PostgreSQL stopped at {stopReturned.TotalSeconds:F2} s, started at {startCalled.TotalSeconds:F2} s (pg_ctl start returned at {startReturned.TotalSeconds:F2} s)");
        output.WriteLine($"before stop:     {ResilienceLoad.Summarize(answers.Where(a => a.End < stopReturned))}");
        output.WriteLine($"while down:      {ResilienceLoad.Summarize(during)}");
        output.WriteLine($"straddling:      {ResilienceLoad.Summarize(answers.Where(a => a.Start < startReturned && !during.Contains(a) && a.End >= stopReturned))}");
        output.WriteLine($"after restart:   {ResilienceLoad.Summarize(after)}");
        output.WriteLine($"503s while down: {failed.Count}, max latency {Ms(failed.Select(a => a.Latency))} ms, mean {(failed.Count > 0 ? failed.Average(a => a.Latency.TotalMilliseconds) : 0):F1} ms; max latency of any answer while down {Ms(during.Select(a => a.Latency))} ms");
        output.WriteLine($"health while down: {string.Join(", ", healthDuring.GroupBy(p => $"{p.Status}/{p.State}").Select(g => $"{g.Key} x {g.Count()}"))}, max latency {Ms(healthDuring.Select(p => p.End - p.Start))} ms");
        output.WriteLine($"health 200 again {Seconds(healthyAt - startReturned)} after pg_ctl start returned ({Seconds(healthyAt - startCalled)} after it was called); first 201 {Seconds(firstAccepted - startReturned)} after");
        output.WriteLine($"acknowledged {load.Ingest.AcknowledgedCount}, stored {stored}");
        output.WriteLine(Resilience.LogSummary(service.Output));

        Assert.True(during.Count > 0, "no sample POST started and ended while PostgreSQL was down");
        var unexpected = during.Where(a => a.Status != 503 || a.Error != "unavailable").ToList();
        Assert.True(
            unexpected.Count == 0,
            $"{unexpected.Count} of {during.Count} sample POSTs while PostgreSQL was down did not answer 503 unavailable: "
            + $"{ResilienceLoad.Summarize(unexpected)}; e.g. {unexpected.FirstOrDefault()}\n{Resilience.Tail(service.Output)}");
        Assert.True(
            failed.Max(a => a.Latency) < TimeSpan.FromSeconds(5),
            $"slowest 503 took {Ms(failed.Select(a => a.Latency))} ms");

        Assert.NotEmpty(healthDuring);
        Assert.All(healthDuring, p =>
        {
            Assert.Equal(503, p.Status);
            Assert.Equal("unhealthy", p.State);
        });
        Assert.True(healthyAt is not null, $"/v1/health not 200 within 30 s of PostgreSQL coming back\n{Resilience.Tail(service.Output)}");
        Assert.True(
            firstAccepted is not null,
            $"no sample accepted after PostgreSQL came back: {ResilienceLoad.Summarize(after)}\n{Resilience.Tail(service.Output)}");
        Assert.False(service.HasExited, "the service exited during the outage");
        await load.Ingest.AssertAllStoredAsync(service.Client);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static string Ms(IEnumerable<TimeSpan> latencies) =>
        latencies.Select(l => l.TotalMilliseconds).DefaultIfEmpty(0).Max().ToString("F0", System.Globalization.CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan? time) =>
        time is { } t ? $"{t.TotalSeconds:F2} s" : "never";
}

/// <summary>The SQLite file on a full disk (a tiny tmpfs): writes answer 503 until space is freed.</summary>
public sealed class SqliteDiskFullResilienceTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Service_Answers503AndRecovers_WhenSqliteDiskIsFull()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "needs a Linux tmpfs mount");
        Skip.IfNot(Environment.UserName == "root", "needs root to mount a small tmpfs (chmod does not stop a root process from writing)");
        var directory = Directory.CreateTempSubdirectory("hpc-full-").FullName;
        var (mounted, why) = Resilience.Run("mount", $"-t tmpfs -o size=4M tmpfs {directory}");
        if (!mounted)
        {
            Directory.Delete(directory);
        }

        Skip.IfNot(mounted, $"cannot mount a 4 MB tmpfs to fill: {why}");
        ServiceProcess? service = null;
        try
        {
            var settings = new Dictionary<string, string>
            {
                ["DATABASE_TYPE"] = "sqlite",
                ["DATABASE_URL"] = Path.Combine(directory, "jobs.db"),
            };
            service = await ServiceProcess.StartAsync(settings);
            var client = service.Client;
            await Ingest.CreateJobsAsync(client, ["full-1"]);
            var load = new ResilienceLoad();
            for (var i = 0; i < 20; i++)
            {
                Assert.Equal(201, (await load.PostSampleAsync(client, "full-1")).Status);
            }

            var filler = Path.Combine(directory, "filler");
            var filled = Resilience.Fill(filler);
            output.WriteLine($"filled the tmpfs with {filled} bytes; database files: {Resilience.Files(directory)}");

            // Samples land in pages the WAL already has for a while; post until the disk refuses one.
            var watch = Stopwatch.StartNew();
            ResilienceLoad.Answer? refused = null;
            var acceptedOnFullDisk = 0;
            while (watch.Elapsed < TimeSpan.FromSeconds(60) && refused is null)
            {
                var answer = await load.PostSampleAsync(client, "full-1");
                if (answer.Status == 201)
                {
                    acceptedOnFullDisk++;
                }
                else
                {
                    refused = answer;
                }
            }

            output.WriteLine($"{acceptedOnFullDisk} samples accepted after the disk filled; then {refused}");
            Assert.True(refused is not null, $"no sample refused within 60 s of filling the disk\n{Resilience.Tail(service.Output)}");
            var whileFull = new List<ResilienceLoad.Answer>();
            for (var i = 0; i < 20; i++)
            {
                whileFull.Add(await load.PostSampleAsync(client, "full-1"));
            }

            var healthWhileFull = await Resilience.ProbeHealthAsync(client, load.Clock);
            output.WriteLine($"next 20 samples on the full disk: {ResilienceLoad.Summarize(whileFull)}; health {healthWhileFull.Status}/{healthWhileFull.State}");
            Assert.True(
                refused.Status == 503 && refused.Error == "unavailable",
                $"full disk answered {refused}\n{Resilience.Tail(service.Output)}");
            Assert.All(whileFull.Where(a => a.Status != 201), a => Assert.Equal((503, "unavailable"), (a.Status, a.Error)));

            var sqliteLine = await Resilience.WaitForLogAsync(service, Resilience.SqliteFailure(), TimeSpan.FromSeconds(5));
            output.WriteLine($"log: {sqliteLine}");
            Assert.True(sqliteLine is not null, $"no log line about the SQLite failure\n{Resilience.Tail(service.Output)}");

            File.Delete(filler);
            var freed = Stopwatch.StartNew();
            ResilienceLoad.Answer? accepted = null;
            while (freed.Elapsed < TimeSpan.FromSeconds(30) && accepted is null)
            {
                var answer = await load.PostSampleAsync(client, "full-1");
                if (answer.Status == 201)
                {
                    accepted = answer;
                }
                else
                {
                    await Task.Delay(100);
                }
            }

            output.WriteLine($"first 201 {freed.Elapsed.TotalSeconds:F2} s after the space was freed");
            Assert.True(accepted is not null, $"no sample accepted within 30 s of freeing the disk\n{Resilience.Tail(service.Output)}");
            for (var i = 0; i < 20; i++)
            {
                Assert.Equal(201, (await load.PostSampleAsync(client, "full-1")).Status);
            }

            Assert.Equal(200, (await Resilience.ProbeHealthAsync(client, load.Clock)).Status);
            var stored = await Resilience.CountStoredAsync(client, ["full-1"]);
            output.WriteLine($"acknowledged {load.Ingest.AcknowledgedCount}, stored {stored}; answers {ResilienceLoad.Summarize(load.Answers)}");
            output.WriteLine(Resilience.LogSummary(service.Output));
            await load.Ingest.AssertAllStoredAsync(client);
        }
        finally
        {
            if (service is not null)
            {
                await service.DisposeAsync();
            }

            var (unmounted, error) = Resilience.Run("umount", directory);
            if (!unmounted)
            {
                output.WriteLine($"umount {directory} failed ({error}); detaching it lazily");
                Resilience.Run("umount", $"-l {directory}");
            }

            Directory.Delete(directory, recursive: true);
        }
    }
}

/// <summary>SIGTERM while samples are being written: a clean, quick exit that keeps every acknowledged sample.</summary>
public abstract class SigtermResilienceTests<TBackend>(ITestOutputHelper output)
    where TBackend : IBackend, new()
{
    private readonly TBackend _backend = new();

    [SkippableFact]
    public async Task Sigterm_ExitsWithin10sWithCode0AndKeepsAcknowledgedSamples_DuringLoad()
    {
        var settings = await Resilience.NewSettingsAsync(_backend);
        var jobs = Enumerable.Range(0, 20).Select(i => $"t-{i}").ToList();
        var load = new ResilienceLoad();
        TimeSpan elapsed;
        TimeSpan sigterm;
        int exitCode;
        string log;
        await using (var service = await ServiceProcess.StartAsync(settings))
        {
            await Ingest.CreateJobsAsync(service.Client, jobs);
            using var stop = new CancellationTokenSource();
            var running = load.RunAsync(service.Client, jobs, writers: 32, stop.Token);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(2));
                sigterm = load.Clock.Elapsed;
                elapsed = await service.TerminateAsync(TimeSpan.FromSeconds(15));
            }
            finally
            {
                stop.Cancel();
                await running;
            }

            exitCode = service.ExitCode;
            log = service.Output;
        }

        var answers = load.Answers.ToList();
        output.WriteLine($"{_backend.Name}: SIGTERM to exit {elapsed.TotalSeconds:F2} s, exit code {exitCode}");
        output.WriteLine($"before SIGTERM: {ResilienceLoad.Summarize(answers.Where(a => a.End < sigterm))}");
        output.WriteLine($"after SIGTERM:  {ResilienceLoad.Summarize(answers.Where(a => a.End >= sigterm))}");
        output.WriteLine(Resilience.LogSummary(log));
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"exit took {elapsed.TotalSeconds:F1} s after SIGTERM\n{Resilience.Tail(log)}");
        Assert.True(exitCode == 0, $"exit code {exitCode}\n{Resilience.Tail(log)}");
        Assert.True(load.Ingest.AcknowledgedCount > 20, $"only {load.Ingest.AcknowledgedCount} samples acknowledged before SIGTERM");

        await using var restarted = await ServiceProcess.StartAsync(settings);
        var stored = await Resilience.CountStoredAsync(restarted.Client, jobs);
        output.WriteLine($"acknowledged {load.Ingest.AcknowledgedCount}, stored after restart {stored}");
        await load.Ingest.AssertAllStoredAsync(restarted.Client);
    }
}

public sealed class SqliteSigtermResilienceTests(ITestOutputHelper output) : SigtermResilienceTests<SqliteBackend>(output);

public sealed class PostgresSigtermResilienceTests(ITestOutputHelper output) : SigtermResilienceTests<PostgresBackend>(output);

/// <summary>Shared pieces of the resilience tests.</summary>
internal static partial class Resilience
{
    /// <summary>A new database, and fixed ports: a restarted silo comes back at the same address.</summary>
    public static async Task<Dictionary<string, string>> NewSettingsAsync(IBackend backend) =>
        new(await backend.CreateDatabaseAsync())
        {
            ["PORT"] = FreePort.Next().ToString(),
            ["SILO_PORT"] = FreePort.Next().ToString(),
            ["GATEWAY_PORT"] = FreePort.Next().ToString(),
        };

    public static async Task<HealthProbe> ProbeHealthAsync(HttpClient client, Stopwatch clock)
    {
        var started = clock.Elapsed;
        try
        {
            using var response = await client.GetAsync("/v1/health");
            var body = await response.Content.ReadAsStringAsync();
            string? state = null;
            try
            {
                using var document = JsonDocument.Parse(body);
                state = document.RootElement.TryGetProperty("status", out var status) ? status.GetString() : null;
            }
            catch (JsonException)
            {
                state = "(not JSON) " + body;
            }

            return new HealthProbe(started, clock.Elapsed, (int)response.StatusCode, state);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return new HealthProbe(started, clock.Elapsed, 0, $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>How many samples the service holds for these jobs.</summary>
    public static async Task<long> CountStoredAsync(HttpClient client, IEnumerable<string> jobs)
    {
        long total = 0;
        foreach (var job in jobs)
        {
            using var response = await client.GetAsync($"/v1/jobs/{job}/metrics?limit=10000");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            total += body.RootElement.GetProperty("samples").GetArrayLength();
        }

        return total;
    }

    /// <summary>Writes to <paramref name="path"/> until the file system refuses; returns the bytes written.</summary>
    public static long Fill(string path)
    {
        long written = 0;
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        foreach (var size in new[] { 65536, 4096, 512, 1 })
        {
            var chunk = new byte[size];
            try
            {
                while (true)
                {
                    file.Write(chunk);
                    written += size;
                }
            }
            catch (IOException)
            {
                // Full at this granularity; try smaller writes.
            }
        }

        return written;
    }

    public static string Files(string directory) =>
        string.Join(", ", new DirectoryInfo(directory).GetFiles().Select(f => $"{f.Name} {f.Length}"));

    public static (bool Ok, string Output) Run(string file, string arguments)
    {
        try
        {
            var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            return (process.ExitCode == 0, $"exit {process.ExitCode}: {stdout.Result}{stderr.Result}".Trim());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (false, e.Message);
        }
    }

    public static async Task<string?> WaitForLogAsync(ServiceProcess service, Regex pattern, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var match = pattern.Match(service.Output);
            if (match.Success || watch.Elapsed > timeout)
            {
                return match.Success ? match.Value : null;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>The log's distinct lines (numbers and ids blurred) with counts, most frequent first.</summary>
    public static string LogSummary(string log)
    {
        var groups = log.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Trim())
            .Where(l => l.Length > 0)
            .GroupBy(l => Digits().Replace(l.Length > 160 ? l[..160] : l, "#"))
            .OrderByDescending(g => g.Count())
            .Take(25)
            .Select(g => $"  {g.Count(),6} x {g.Key}");
        return $"service log: {log.Count(c => c == '\n')} lines, {log.Length / 1024} KiB; most frequent distinct lines:\n" + string.Join("\n", groups);
    }

    public static string Tail(string log, int lines = 80)
    {
        var all = log.Split('\n');
        return "service log (tail):\n" + string.Join("\n", all.Skip(Math.Max(0, all.Length - lines)));
    }

    [GeneratedRegex(@"\d+")]
    private static partial Regex Digits();

    /// <summary>The storage layer's own log line about a refused SQLite write, with the reason on the next line(s).</summary>
    [GeneratedRegex(@"SQLite (write failed|batch of \d+ writes failed)[^\n]*\n?[^\n]*")]
    public static partial Regex SqliteFailure();

    public sealed record HealthProbe(TimeSpan Start, TimeSpan End, int Status, string? State);
}

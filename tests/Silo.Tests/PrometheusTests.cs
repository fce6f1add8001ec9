using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace HpcJobs.Silo.Tests;

/// <summary>
/// GET /metrics of the real service process, read by Prometheus' own tools: promtool's parser and
/// linter, a Prometheus server scraping it, and two silos of one cluster scraped side by side.
/// </summary>
public sealed class PrometheusTests(ITestOutputHelper output)
{
    private const double BytesPerMb = 1048576;

    /// <summary>
    /// The two names the contract keeps from the original service although Prometheus' naming rules
    /// reserve their suffixes; promtool's linter reports exactly these and nothing else.
    /// </summary>
    private static readonly string[] _knownLint =
    [
        "hpc_job_state_total non-counter metrics should not have \"_total\" suffix",
        "hpc_node_job_count non-histogram and non-summary metrics should not have \"_count\" suffix",
    ];

    private static readonly string[] _states = ["pending", "running", "completed", "failed", "cancelled"];

    private static readonly string[] _jobFamilies =
        ["hpc_job_runtime_seconds", "hpc_job_cpu_usage_percent", "hpc_job_memory_usage_bytes", "hpc_job_gpu_usage_percent"];

    [SkippableFact]
    public async Task Exposition_PassesPromtool_WithHostileLabelValuesRoundTripping()
    {
        var promtool = PrometheusTools.Require("promtool");
        await using var backend = new SqliteBackend();
        await using var service = await ServiceProcess.StartAsync(await backend.CreateDatabaseAsync());

        // Ids: printable, no '/'. Users and nodes: anything but NUL.
        var jobs = new[]
        {
            new HostileJob("quote\"d\\back\\\\slash\\n-literal", "us\"er\\\nsecond line\\n", ["node\"1\\", "n2"], "running", 12.5, 1000, 40),
            new HostileJob("ünï©ødé 😀 # x=\"y\", z", "tab\tcr\rdel\u007f ctl\u0001 sep\u2028 end\\", ["n\n"], "running", 0, 0, 0),
            new HostileJob("12345_7.0 \"x\"", "\"", ["\\"], "pending", null, 0, null),
            new HostileJob("done\\\"", "\\\\", ["end\"ed"], "completed", 99, 81920, 100),
            new HostileJob("plain-12345", "plain user", ["plain-node"], "running", 1, 1, null),
        };
        foreach (var job in jobs)
        {
            await CreateJobAsync(service.Client, job.Id, job.User, job.Nodes, job.State == "pending" ? "pending" : "running");
            if (job.Cpu is { } cpu)
            {
                await PostSampleAsync(service.Client, job.Id, cpu, job.MemoryMb, job.Gpu);
            }

            if (job.State == "completed")
            {
                await PatchAsync(service.Client, job.Id, new { state = "completed" });
            }
        }

        var text = await service.Client.GetStringAsync("/metrics");
        var (exitCode, lint) = await PrometheusTools.RunAsync(promtool, ["check", "metrics"], text, TimeSpan.FromSeconds(30));

        output.WriteLine($"promtool check metrics exited {exitCode}:\n{lint}");
        Assert.True(exitCode is 0 or 3, $"promtool check metrics exited {exitCode} (1 = the exposition does not parse):\n{lint}\n--- exposition ---\n{text}");
        var unknown = lint.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !_knownLint.Contains(l)).ToList();
        Assert.True(unknown.Count == 0, $"promtool reported more than the two known lint findings:\n{string.Join("\n", unknown)}");
        var scrape = MetricsExposition.Parse(text);
        foreach (var job in jobs)
        {
            foreach (var family in _jobFamilies)
            {
                var series = scrape.ForJob(family, job.Id);
                if (family == "hpc_job_gpu_usage_percent" && job.Gpu is null)
                {
                    Assert.Empty(series);
                    continue;
                }

                var one = Assert.Single(series);
                AssertLabels(one, ("job_id", job.Id), ("user", job.User), ("node", job.Nodes[0]), ("state", job.State));
            }

            Assert.Equal(job.Cpu ?? 0, scrape.ForJob("hpc_job_cpu_usage_percent", job.Id)[0].Value);
            Assert.Equal(job.MemoryMb * BytesPerMb, scrape.ForJob("hpc_job_memory_usage_bytes", job.Id)[0].Value);
            if (job.Gpu is { } gpu)
            {
                Assert.Equal(gpu, scrape.ForJob("hpc_job_gpu_usage_percent", job.Id)[0].Value);
            }
        }

        foreach (var node in new[] { "node\"1\\", "n2", "n\n", "plain-node" })
        {
            Assert.Equal(1, scrape.Single("hpc_node_job_count", "node", node));
        }
    }

    [SkippableFact]
    public async Task EndedJobSeries_GoneAfterTheGracePeriod_WhileActiveJobsStay()
    {
        await using var backend = new SqliteBackend();
        var settings = new Dictionary<string, string>(await backend.CreateDatabaseAsync()) { ["METRICS_ENDED_JOB_GRACE_SECONDS"] = "2" };
        await using var service = await ServiceProcess.StartAsync(settings);
        var (ended, active, pending) = ("grace-ended", "grace-active", "grace-pending");
        await CreateJobAsync(service.Client, ended, "u", ["n1"]);
        await PostSampleAsync(service.Client, ended, 25, 100, 5);
        await CreateJobAsync(service.Client, active, "u", ["n1"]);
        await PostSampleAsync(service.Client, active, 35, 200, null);
        await CreateJobAsync(service.Client, pending, "u", ["n2"], "pending");

        await PatchAsync(service.Client, ended, new { state = "completed" });
        var sinceEnd = Stopwatch.StartNew();
        var (_, during) = await ScrapeAsync(service.Client);

        Assert.True(sinceEnd.Elapsed < TimeSpan.FromSeconds(1.5), $"the first scrape took {sinceEnd.Elapsed}");
        foreach (var family in _jobFamilies)
        {
            Assert.Equal("completed", Assert.Single(during.ForJob(family, ended)).Label("state"));
        }

        Assert.Equal(3, during.Named("hpc_job_runtime_seconds").Count());

        await Task.Delay(TimeSpan.FromSeconds(3) - sinceEnd.Elapsed);
        var (_, after) = await ScrapeAsync(service.Client);

        Assert.Empty(after.AllForJob(ended));
        Assert.Equal(3, after.AllForJob(active).Count);
        Assert.Equal(3, after.AllForJob(pending).Count);
        Assert.Equal(2, after.Named("hpc_job_runtime_seconds").Count());

        // The ended job still counts as stored; every state is present, the empty ones as 0.
        var expected = new Dictionary<string, double> { ["pending"] = 1, ["running"] = 1, ["completed"] = 1, ["failed"] = 0, ["cancelled"] = 0 };
        var counts = (await ScrapeUntilAsync([service], s => SameCounts(s[0], expected), TimeSpan.FromSeconds(10)))[0];
        foreach (var name in new[] { "hpc_job_state_total", "hpc_jobs" })
        {
            Assert.Equal(expected, counts.ByState(name));
        }
    }

    /// <summary>Active jobs besides restart-running and restart-pending, spread over several re-activation pages.</summary>
    private static readonly string[] _restartPaged = ["restart-page-0", "restart-page-1", "restart-page-2", "restart-page-3", "restart-page-4"];

    /// <summary>
    /// After a restart, every pending and running job is re-activated (so exported) without a client
    /// touching it: 7 active jobs in pages of 2 (ACTIVATION_PAGE_SIZE), with an ended and a deleted job
    /// between them in id order that must not come back.
    /// </summary>
    [SkippableTheory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Restart_ActiveJobSeriesAndCounts_ExportedWithoutTheJobsBeingTouched(string backendName)
    {
        await using IBackend backend = backendName == "sqlite" ? new SqliteBackend() : new PostgresBackend();
        var settings = new Dictionary<string, string>(await backend.CreateDatabaseAsync()) { ["ACTIVATION_PAGE_SIZE"] = "2" };
        await using (var first = await ServiceProcess.StartAsync(settings))
        {
            await CreateJobAsync(first.Client, "restart-running", "u", ["rn1", "rn2"]);
            await PostSampleAsync(first.Client, "restart-running", 55, 1024, 7);
            await CreateJobAsync(first.Client, "restart-pending", "u", ["rn3"], "pending");
            for (var i = 0; i < _restartPaged.Length; i++)
            {
                await CreateJobAsync(first.Client, _restartPaged[i], "u", ["rn5"], i % 2 == 0 ? "running" : "pending");
            }

            await CreateJobAsync(first.Client, "restart-page-1a", "u", ["rn6"]);
            await PatchAsync(first.Client, "restart-page-1a", new { state = "completed" });
            await CreateJobAsync(first.Client, "restart-deleted", "u", ["rn4"]);
            using var deleted = await first.Client.DeleteAsync("/v1/jobs/restart-deleted");
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
            await first.TerminateAsync(TimeSpan.FromSeconds(30));
        }

        await using var second = await ServiceProcess.StartAsync(settings);
        var scrape = (await ScrapeUntilAsync([second], s => RestartProblems(s[0]).Count == 0, TimeSpan.FromSeconds(15)))[0];

        // The contract: per-job series exist for every pending and running job, not only for those a
        // client happened to touch since the start; "jobs ever created" survives restarts.
        var problems = RestartProblems(scrape);
        Assert.True(problems.Count == 0, $"15 s after a restart ({scrape.Named("hpc_job_runtime_seconds").Count()} jobs exported):\n{string.Join("\n", problems)}");
    }

    private static List<string> RestartProblems(MetricsExposition scrape)
    {
        var problems = new List<string>();
        var running = scrape.ForJob("hpc_job_cpu_usage_percent", "restart-running");
        if (running.Count != 1 || running[0].Value != 55 || running[0].Label("state") != "running")
        {
            problems.Add($"running job: expected one hpc_job_cpu_usage_percent 55 with state running, got [{string.Join("; ", running)}]");
        }

        if (scrape.ForJob("hpc_job_memory_usage_bytes", "restart-running") is not [{ Value: 1024 * BytesPerMb }])
        {
            problems.Add($"running job: expected hpc_job_memory_usage_bytes {1024 * BytesPerMb}, got [{string.Join("; ", scrape.ForJob("hpc_job_memory_usage_bytes", "restart-running"))}]");
        }

        if (scrape.Single("hpc_node_job_count", "node", "rn2") != 1)
        {
            problems.Add($"node rn2 (second node of the running job): hpc_node_job_count {scrape.Single("hpc_node_job_count", "node", "rn2")}");
        }

        var pending = scrape.ForJob("hpc_job_cpu_usage_percent", "restart-pending");
        if (pending.Count != 1 || pending[0].Label("state") != "pending")
        {
            problems.Add($"pending job: expected one series with state pending, got [{string.Join("; ", pending)}]");
        }

        var missing = _restartPaged.Where(id => scrape.ForJob("hpc_job_cpu_usage_percent", id).Count != 1).ToList();
        if (missing.Count > 0)
        {
            problems.Add($"active jobs on later pages not exported: {string.Join(", ", missing)}");
        }

        foreach (var gone in new[] { "restart-page-1a", "restart-deleted" })
        {
            if (scrape.ForJob("hpc_job_cpu_usage_percent", gone).Count != 0)
            {
                problems.Add($"{gone} (not active) was re-activated: {string.Join("; ", scrape.ForJob("hpc_job_cpu_usage_percent", gone))}");
            }
        }

        var counts = scrape.ByState("hpc_job_state_total");
        if (!_states.All(s => counts.TryGetValue(s, out var v) && v == s switch { "running" => 4, "pending" => 3, "completed" => 1, _ => 0 }))
        {
            problems.Add($"hpc_job_state_total: expected pending=3 running=4 completed=1 others 0, got {string.Join(" ", counts.Select(c => $"{c.Key}={c.Value}"))}");
        }

        if (scrape.Single("hpc_job_total") != 9)
        {
            problems.Add($"hpc_job_total: expected 9 (a counter across restarts), got {scrape.Single("hpc_job_total")}");
        }

        if (scrape.Single("hpc_silo_job_activation_completed_total") != 1 || scrape.Single("hpc_silo_job_activation_last_jobs") != 7)
        {
            problems.Add(
                $"activation: expected one finished pass of 7 jobs, got {scrape.Single("hpc_silo_job_activation_completed_total")} " +
                $"passes, last of {scrape.Single("hpc_silo_job_activation_last_jobs")} jobs");
        }

        return problems;
    }

    [SkippableFact]
    public async Task Prometheus_ScrapesTheService_AndAnswersTheDashboardQueries()
    {
        var binary = PrometheusTools.Require("prometheus");
        var budget = Stopwatch.StartNew();
        await using var backend = new SqliteBackend();
        await using var service = await ServiceProcess.StartAsync(await backend.CreateDatabaseAsync());
        var jobs = new (string Id, string Node, double Cpu, long MemoryMb)[]
        {
            ("e2e-1", "e2e-a", 10, 81920 + 1024),
            ("e2e-2", "e2e-a", 20, 90000),
            ("e2e-3", "e2e-b", 60, 1024),
        };
        foreach (var (id, node, cpu, memory) in jobs)
        {
            await CreateJobAsync(service.Client, id, "alice", [node]);
            await PostSampleAsync(service.Client, id, cpu, memory, null);
        }

        // Ended, and still exported during its grace period: the state label must keep it out of the running averages.
        await CreateJobAsync(service.Client, "e2e-done", "bob", ["e2e-a"]);
        await PostSampleAsync(service.Client, "e2e-done", 90, 2048, null);
        await PatchAsync(service.Client, "e2e-done", new { state = "completed" });

        await using var prometheus = await PrometheusServer.StartAsync(binary, $"127.0.0.1:{service.Port}", TimeSpan.FromSeconds(30));
        var expected = new Dictionary<string, double>
        {
            ["avg(hpc_job_cpu_usage_percent{state=\"running\"})"] = 30,
            ["count(hpc_job_memory_usage_bytes > 80 * 1024 * 1024 * 1024)"] = 2,
            ["hpc_job_state_total{state=\"running\"}"] = 3,
            ["hpc_job_state_total{state=\"completed\"}"] = 1,
            ["avg(hpc_job_cpu_usage_percent{state=\"running\", node=\"e2e-a\"})"] = 15,
            ["sum(hpc_node_job_count{node=\"e2e-a\"})"] = 2,
            ["hpc_job_total"] = 4,
        };
        var actual = new Dictionary<string, double?>();
        while (true)
        {
            foreach (var query in expected.Keys)
            {
                actual[query] = await prometheus.QueryAsync(query);
            }

            if (expected.All(e => actual[e.Key] is { } value && Math.Abs(value - e.Value) < 1e-9) || budget.Elapsed > TimeSpan.FromSeconds(60))
            {
                break;
            }

            await Task.Delay(500);
        }

        var report = string.Join("\n", expected.Select(e => $"{e.Key}: expected {e.Value}, got {actual[e.Key]?.ToString(CultureInfo.InvariantCulture) ?? "no result"}"));
        output.WriteLine(report);
        Assert.True(
            expected.All(e => actual[e.Key] is { } value && Math.Abs(value - e.Value) < 1e-9),
            $"{report}\n--- targets ---\n{await prometheus.TargetsAsync()}\n--- prometheus ---\n{prometheus.Output}");
    }

    /// <summary>Also through PgBouncer in transaction pooling mode: membership, reminders and job rows with no session state.</summary>
    [SkippableTheory]
    [InlineData("postgres")]
    [InlineData("pgbouncer")]
    public async Task TwoSilos_ExportEachJobExactlyOnce_AndAgreeOnStateCounts(string backendName)
    {
        await using IBackend backend = backendName == "postgres" ? new PostgresBackend() : new PgBouncerBackend();
        var settings = new Dictionary<string, string>(await backend.CreateDatabaseAsync())
        {
            ["CLUSTER_ID"] = "p" + Guid.NewGuid().ToString("N")[..8],
        };
        await using var a = await ServiceProcess.StartAsync(settings);
        await using var b = await ServiceProcess.StartAsync(settings);
        ServiceProcess[] silos = [a, b];
        var ids = Enumerable.Range(0, 30).Select(i => $"two-{i}").ToList();
        for (var i = 0; i < ids.Count; i++)
        {
            await CreateJobAsync(silos[i % 2].Client, ids[i], "u", [$"two-node-{i}"]);
        }

        for (var i = 0; i < ids.Count; i++)
        {
            await PostSampleAsync(silos[(i + 1) % 2].Client, ids[i], i + 0.5, i + 1, null);
        }

        var scrapes = new[] { (await ScrapeAsync(a.Client)).Scrape, (await ScrapeAsync(b.Client)).Scrape };

        for (var i = 0; i < ids.Count; i++)
        {
            var series = scrapes.SelectMany(s => s.ForJob("hpc_job_cpu_usage_percent", ids[i])).ToList();
            Assert.True(series.Count == 1, $"{ids[i]} exported {series.Count} times across the two silos: {string.Join("; ", series)}");
            Assert.Equal(i + 0.5, series[0].Value);
            Assert.Single(scrapes.SelectMany(s => s.Where("hpc_node_job_count", "node", $"two-node-{i}")));
        }

        Assert.Equal(30, scrapes.Sum(s => s.Named("hpc_job_runtime_seconds").Count()));

        var counts = await ScrapeUntilAsync(
            silos,
            s => s.All(scrape => SameCounts(scrape, running: 30) && scrape.Single("hpc_job_total") == 30),
            TimeSpan.FromSeconds(10));
        foreach (var scrape in counts)
        {
            Assert.Equal(
                "pending=0 running=30 completed=0 failed=0 cancelled=0 total=30",
                string.Join(" ", _states.Select(st => $"{st}={scrape.ByState("hpc_job_state_total").GetValueOrDefault(st, -1)}")) + $" total={scrape.Single("hpc_job_total")}");
            Assert.Equal(scrape.ByState("hpc_job_state_total"), scrape.ByState("hpc_jobs"));
        }
    }

    /// <summary>
    /// No hot rows, and no lost updates either: creates and transitions racing on two silos (each write
    /// bumps a counter shard chosen by its connection) leave hpc_job_total and every per-state count
    /// exact on both silos. 2,000 jobs here, 20,000 with STRESS_TEST=1 (the figure in docs/capacity.md).
    /// </summary>
    [SkippableFact]
    public async Task TwoSilos_ConcurrentCreatesAndTransitions_LeaveExactCounts()
    {
        var settings = new Dictionary<string, string>(await new PostgresBackend().CreateDatabaseAsync())
        {
            ["CLUSTER_ID"] = "n" + Guid.NewGuid().ToString("N")[..8],
        };
        await using var a = await ServiceProcess.StartAsync(settings);
        await using var b = await ServiceProcess.StartAsync(settings);
        ServiceProcess[] silos = [a, b];
        var jobs = StressSettings.Count(2_000, 20_000);
        const int Writers = 32;
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, jobs), new ParallelOptions { MaxDegreeOfParallelism = Writers }, async (i, _) =>
        {
            // Creates alternate between the silos; every third job then completes through the other one.
            var id = $"hot-{i}";
            await CreateJobAsync(silos[i % 2].Client, id, "u", ["hot-node"], i % 5 == 0 && i % 3 != 0 ? "pending" : "running");
            if (i % 3 == 0)
            {
                await PatchAsync(silos[(i + 1) % 2].Client, id, new { state = "completed" });
            }
        });
        output.WriteLine($"{jobs} creates (+{(jobs + 2) / 3} transitions) through two silos, {Writers} writers: {watch.Elapsed.TotalSeconds:F1} s, {jobs / watch.Elapsed.TotalSeconds:F0} creates/s");

        var completed = (jobs + 2) / 3;
        var pending = Enumerable.Range(0, jobs).Count(i => i % 5 == 0 && i % 3 != 0);
        var expected = new Dictionary<string, double>
        {
            ["pending"] = pending,
            ["running"] = jobs - completed - pending,
            ["completed"] = completed,
            ["failed"] = 0,
            ["cancelled"] = 0,
        };
        var scrapes = await ScrapeUntilAsync(
            silos, s => s.All(scrape => SameCounts(scrape, expected) && scrape.Single("hpc_job_total") == jobs), TimeSpan.FromSeconds(30));
        foreach (var scrape in scrapes)
        {
            Assert.Equal(
                string.Join(" ", _states.Select(st => $"{st}={expected[st]}")) + $" total={jobs}",
                string.Join(" ", _states.Select(st => $"{st}={scrape.ByState("hpc_job_state_total").GetValueOrDefault(st, -1)}")) + $" total={scrape.Single("hpc_job_total")}");
        }
    }

    /// <summary>
    /// The second silo to start leaves — stopped (a rolling upgrade) or killed. The job-count grain lives
    /// on the first (it was activated there before the second joined), so what leaves is the second
    /// silo's job grains (and, Orleans' grain directory being rebuilt, some of the survivor's own); their
    /// series must come back on the survivor without a client touching the jobs, as the contract wants
    /// series for every pending and running job.
    /// </summary>
    [SkippableTheory]
    [InlineData("stop")]
    [InlineData("kill")]
    public async Task TwoSilos_DepartedSilosActiveJobs_ExportedBySurvivorWithoutBeingTouched(string departure)
    {
        var settings = new Dictionary<string, string>(await new PostgresBackend().CreateDatabaseAsync())
        {
            ["CLUSTER_ID"] = "k" + Guid.NewGuid().ToString("N")[..8],
        };
        await using var survivor = await ServiceProcess.StartAsync(settings);
        await using var victim = await ServiceProcess.StartAsync(settings);
        // A silo that has just joined may place every new activation on the older silo until the
        // membership has settled; keep creating jobs until some of them live on the victim.
        var ids = new List<string>();
        var onVictim = new List<string>();
        var placing = Stopwatch.StartNew();
        while (onVictim.Count == 0 && placing.Elapsed < TimeSpan.FromSeconds(30))
        {
            for (var i = ids.Count; i < ids.Count + 30; i++)
            {
                await CreateJobAsync((i % 2 == 0 ? survivor : victim).Client, $"leave-{i}", "u", ["kn"], i % 3 == 0 ? "pending" : "running");
            }

            ids.AddRange(Enumerable.Range(ids.Count, 30).Select(i => $"leave-{i}"));
            var onVictimNow = (await ScrapeAsync(victim.Client)).Scrape;
            onVictim = ids.Where(id => onVictimNow.ForJob("hpc_job_cpu_usage_percent", id).Count == 1).ToList();
            if (onVictim.Count == 0)
            {
                await Task.Delay(1000);
            }
        }

        Assert.True(onVictim.Count > 0, $"in 30 s, none of {ids.Count} jobs was placed on the second silo");

        if (departure == "stop")
        {
            await victim.TerminateAsync(TimeSpan.FromSeconds(30));
        }
        else
        {
            await victim.KillAsync();
        }

        var scrape = (await ScrapeUntilAsync(
            [survivor], s => ids.All(id => s[0].ForJob("hpc_job_cpu_usage_percent", id).Count == 1), TimeSpan.FromSeconds(40)))[0];

        var missing = ids.Where(id => scrape.ForJob("hpc_job_cpu_usage_percent", id).Count != 1).ToList();
        Assert.True(
            missing.Count == 0,
            $"40 s after the {departure}, the survivor exports {ids.Count - missing.Count} of {ids.Count} active jobs; missing {missing.Count} " +
            $"({missing.Intersect(onVictim).Count()} of the {onVictim.Count} the departed silo exported, {missing.Except(onVictim).Count()} of the {ids.Count - onVictim.Count} the survivor itself exported): {string.Join(", ", missing)}");
    }

    private static bool SameCounts(MetricsExposition scrape, int running)
    {
        var counts = scrape.ByState("hpc_job_state_total");
        return counts.Count == _states.Length && _states.All(s => counts[s] == (s == "running" ? running : 0));
    }

    private static bool SameCounts(MetricsExposition scrape, Dictionary<string, double> expected) =>
        new[] { "hpc_job_state_total", "hpc_jobs" }.All(name =>
        {
            var counts = scrape.ByState(name);
            return counts.Count == expected.Count && expected.All(e => counts.TryGetValue(e.Key, out var v) && v == e.Value);
        });

    private static void AssertLabels(MetricSeries series, params (string Name, string Value)[] expected)
    {
        var actual = series.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => (l.Key, l.Value)).ToList();
        var wanted = expected.OrderBy(l => l.Name, StringComparer.Ordinal).Select(l => (l.Name, l.Value)).ToList();
        Assert.True(wanted.SequenceEqual(actual), $"{series}: expected labels {string.Join(", ", wanted.Select(l => $"{l.Item1}={MetricsExposition.Escape(l.Item2)}"))}");
    }

    private static string JobPath(string id) => "/v1/jobs/" + Uri.EscapeDataString(id);

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static async Task CreateJobAsync(HttpClient client, string id, string user, string[] nodes, string state = "running")
    {
        using var response = await client.PostAsync("/v1/jobs", Json(new { id, user, nodes, state }));
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"create {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task PostSampleAsync(HttpClient client, string id, double cpu, long memoryMb, double? gpu)
    {
        object body = gpu is { } g
            ? new { cpu_usage = cpu, memory_usage_mb = memoryMb, gpu_usage = g }
            : new { cpu_usage = cpu, memory_usage_mb = memoryMb };
        using var response = await client.PostAsync(JobPath(id) + "/metrics", Json(body));
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"sample {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task PatchAsync(HttpClient client, string id, object body)
    {
        using var response = await client.PatchAsync(JobPath(id), Json(body));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"patch {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task<(string Text, MetricsExposition Scrape)> ScrapeAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"/metrics answered {(int)response.StatusCode}: {text}");
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return (text, MetricsExposition.Parse(text));
    }

    /// <summary>Scrapes every silo until <paramref name="done"/> holds or <paramref name="timeout"/> passes; returns the last scrapes either way.</summary>
    private static async Task<MetricsExposition[]> ScrapeUntilAsync(ServiceProcess[] silos, Func<MetricsExposition[], bool> done, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var scrapes = new MetricsExposition[silos.Length];
            for (var i = 0; i < silos.Length; i++)
            {
                scrapes[i] = (await ScrapeAsync(silos[i].Client)).Scrape;
            }

            if (done(scrapes) || watch.Elapsed > timeout)
            {
                return scrapes;
            }

            await Task.Delay(250);
        }
    }

    private sealed record HostileJob(string Id, string User, string[] Nodes, string State, double? Cpu, long MemoryMb, double? Gpu);
}

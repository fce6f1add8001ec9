using System.Diagnostics;
using System.Net;
using System.Text;
using Xunit.Abstractions;

namespace HpcJobs.Silo.Tests;

/// <summary>
/// Three silo processes on one PostgreSQL database; one of them, holding a share of the active jobs,
/// is killed. The survivors must export every active job exactly once again, and the whole cluster
/// may spend about one re-activation call per active job on it (shared/ issue 15), not one per
/// active job per survivor and pass.
/// </summary>
public sealed class RecoveryClusterTests(ITestOutputHelper output)
{
    /// <summary>Self-heals of jobs dropped just after the pass reached them, and retries of calls that met the dying silo.</summary>
    private const int CallAllowance = 10;

    [SkippableFact]
    public async Task ThreeSilos_OldestKilled_SurvivorsExportEachActiveJobOnce_WithAboutOneCallPerJob()
    {
        var settings = new Dictionary<string, string>(await new PostgresBackend().CreateDatabaseAsync())
        {
            ["CLUSTER_ID"] = "v" + Guid.NewGuid().ToString("N")[..8],
            ["Logging__LogLevel__HpcJobs.Grains.DepartedSiloWatcher"] = "Information",
            ["Logging__LogLevel__HpcJobs.Grains.ActiveJobActivator"] = "Information",
        };

        // The first silo is the oldest: it runs the passes until it is killed, then the next oldest does.
        await using var victim = await ServiceProcess.StartAsync(settings);
        await using var b = await ServiceProcess.StartAsync(settings);
        await using var c = await ServiceProcess.StartAsync(settings);
        ServiceProcess[] silos = [victim, b, c];
        ServiceProcess[] survivors = [b, c];

        // A silo that has just joined may get few activations until the membership has settled: create
        // jobs in batches until every silo holds a share, the victim included.
        var count = StressSettings.Count(300, 3000);
        var ids = new List<string>();
        var placing = Stopwatch.StartNew();
        int[] held;
        while (true)
        {
            var batch = Enumerable.Range(ids.Count, count / 3).Select(i => $"rec-{i:D5}").ToList();
            await CreateJobsAsync(silos, batch);
            ids.AddRange(batch);
            held = await ExportedCountsAsync(silos, ids);
            if ((held.All(h => h >= ids.Count / 10) && ids.Count >= count) || placing.Elapsed > TimeSpan.FromSeconds(60))
            {
                break;
            }
        }

        output.WriteLine($"{ids.Count} active jobs held {string.Join(" / ", held)} (victim / b / c)");
        Assert.True(held[0] > 0, $"no job was placed on the victim in 60 s ({string.Join(" / ", held)})");
        var callsBefore = await SumAsync(survivors, "hpc_silo_job_reactivation_calls_total");
        var passesBefore = await SumAsync(survivors, "hpc_silo_job_activation_completed_total");

        await victim.KillAsync();
        var sinceKill = Stopwatch.StartNew();
        var missing = ids;
        while (missing.Count > 0 && sinceKill.Elapsed < TimeSpan.FromSeconds(90))
        {
            await Task.Delay(250);
            missing = ExportProblems(await ScrapeAllAsync(survivors), ids);
        }

        var recovered = sinceKill.Elapsed;
        Assert.True(missing.Count == 0, $"90 s after the kill, {missing.Count} of {ids.Count} jobs not exported exactly once: " +
            $"{string.Join(", ", missing.Take(20))}\n--- b ---\n{b.Output}\n--- c ---\n{c.Output}");

        // The pass has finished, and any job dropped after the pass reached it has had its second call.
        while (await SumAsync(survivors, "hpc_silo_job_activation_completed_total") == passesBefore && sinceKill.Elapsed < TimeSpan.FromSeconds(120))
        {
            await Task.Delay(250);
        }

        await Task.Delay(TimeSpan.FromSeconds(5));
        var calls = await SumAsync(survivors, "hpc_silo_job_reactivation_calls_total") - callsBefore;
        var passes = await SumAsync(survivors, "hpc_silo_job_activation_completed_total") - passesBefore;
        var problems = ExportProblems(await ScrapeAllAsync(survivors), ids);

        output.WriteLine($"every job exported once {recovered.TotalSeconds:F1} s after kill -9; {passes} pass(es), {calls} re-activation calls for {ids.Count} active jobs");
        output.WriteLine(string.Join("\n", (b.Output + c.Output).Split('\n').Where(l => l.Contains("re-activat", StringComparison.OrdinalIgnoreCase) || l.Contains("left the cluster", StringComparison.Ordinal))));
        Assert.Equal(1, passes);
        Assert.True(calls <= ids.Count + CallAllowance, $"{calls} re-activation calls for {ids.Count} active jobs after one departure");
        Assert.True(problems.Count == 0, $"after the pass, {problems.Count} jobs not exported exactly once: {string.Join(", ", problems.Take(20))}");
    }

    /// <summary>The jobs not exported by exactly one of the silos (counting their runtime series).</summary>
    private static List<string> ExportProblems(MetricsExposition[] scrapes, List<string> ids)
    {
        var exported = scrapes.SelectMany(s => s.Named("hpc_job_runtime_seconds")).GroupBy(s => s.Label("job_id")).ToDictionary(g => g.Key, g => g.Count());
        return ids.Where(id => exported.GetValueOrDefault(id) != 1).ToList();
    }

    private static async Task<int[]> ExportedCountsAsync(ServiceProcess[] silos, List<string> ids)
    {
        var wanted = ids.ToHashSet();
        var scrapes = await ScrapeAllAsync(silos);
        return [.. scrapes.Select(s => s.Named("hpc_job_runtime_seconds").Count(series => wanted.Contains(series.Label("job_id"))))];
    }

    private static async Task<double> SumAsync(ServiceProcess[] silos, string name) =>
        (await ScrapeAllAsync(silos)).Sum(s => s.Single(name) ?? 0);

    private static async Task<MetricsExposition[]> ScrapeAllAsync(ServiceProcess[] silos)
    {
        var scrapes = new MetricsExposition[silos.Length];
        for (var i = 0; i < silos.Length; i++)
        {
            using var response = await silos[i].Client.GetAsync("/metrics");
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"/metrics answered {(int)response.StatusCode}: {text}");
            scrapes[i] = MetricsExposition.Parse(text);
        }

        return scrapes;
    }

    /// <summary>Through every silo in turn, a third of them pending, eight at a time.</summary>
    private static async Task CreateJobsAsync(ServiceProcess[] silos, List<string> ids) =>
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var state = i % 3 == 0 ? "pending" : "running";
            using var response = await silos[i % silos.Length].Client.PostAsync(
                "/v1/jobs",
                new StringContent($$"""{"id":"{{ids[i]}}","user":"u","nodes":["rec-node-{{i % 7}}"],"state":"{{state}}"}""", Encoding.UTF8, "application/json"));
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"create {ids[i]}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        });
}

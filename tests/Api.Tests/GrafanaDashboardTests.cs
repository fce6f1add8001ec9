using System.Text.Json;
using System.Text.RegularExpressions;
using HpcJobs.Api.Tests.Infrastructure;

namespace HpcJobs.Api.Tests;

/// <summary>
/// config/grafana/dashboards/hpc-jobs.json asks only for series the service exports: every
/// <c>hpc_*</c> name in a panel's query is a family of <c>/metrics</c> (a histogram's
/// <c>_bucket</c> / <c>_sum</c> / <c>_count</c> included), so a renamed series cannot leave a panel empty.
/// </summary>
public sealed partial class GrafanaDashboardTests(ServiceFixture<SqliteBackend> service) : IClassFixture<ServiceFixture<SqliteBackend>>
{
    [SkippableFact]
    public async Task Dashboard_Queries_NameOnlyExportedSeries_IncludingTheWasteRow()
    {
        // A service in use: one job, a stored sample and a refused one (labelled counters appear once used).
        var id = await SampleCalls.CreateJobAsync(service.Client);
        await SampleCalls.PostSampleAsync(service.Client, id, SampleCalls.Sample(SampleCalls.Now().AddSeconds(-10), 10, 100));
        using (await service.Client.PostJsonAsync($"/v1/jobs/{id}/metrics", """{"cpu_usage":101,"memory_usage_mb":1}"""))
        {
        }

        var exported = MetricFamily().Matches(await service.Client.GetStringAsync("/metrics"))
            .Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(ServiceProcess.RepositoryRoot(), "config", "grafana", "dashboards", "hpc-jobs.json")));
        var queried = Expressions(dashboard.RootElement)
            .SelectMany(expression => MetricName().Matches(expression).Select(m => m.Value))
            .ToHashSet(StringComparer.Ordinal);

        Assert.Contains("hpc_jobs_flagged", queried);
        Assert.Contains("hpc_user_gpus_idle", queried);
        var missing = queried.Where(name => !exported.Contains(name) && !exported.Contains(HistogramPart().Replace(name, string.Empty))).ToList();
        Assert.True(missing.Count == 0, "queried but not exported: " + string.Join(", ", missing));
    }

    private static IEnumerable<string> Expressions(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name == "expr" && property.Value.ValueKind == JsonValueKind.String)
                    {
                        yield return property.Value.GetString()!;
                    }

                    foreach (var inner in Expressions(property.Value))
                    {
                        yield return inner;
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    foreach (var inner in Expressions(item))
                    {
                        yield return inner;
                    }
                }

                break;
        }
    }

    [GeneratedRegex(@"^# TYPE (\S+) ", RegexOptions.Multiline)]
    private static partial Regex MetricFamily();

    [GeneratedRegex(@"\bhpc_[a-z0-9_]+")]
    private static partial Regex MetricName();

    [GeneratedRegex("_(bucket|sum|count|total)$")]
    private static partial Regex HistogramPart();
}

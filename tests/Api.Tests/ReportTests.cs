using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using HpcJobs.Api.Tests.Infrastructure;

namespace HpcJobs.Api.Tests;

/// <summary>Fixed dates in January need a retention window that still holds them.</summary>
public sealed class ReportServiceFixture : ServiceFixture<SqliteBackend>
{
    protected override IReadOnlyDictionary<string, string> ExtraSettings => new Dictionary<string, string>
    {
        ["METRICS_RETENTION_DAYS"] = "36500",
    };
}

/// <summary><c>GET /v1/jobs/{id}/report</c>: the epilog's efficiency report, as text and as data.</summary>
public sealed class ReportTests(ReportServiceFixture service) : IClassFixture<ReportServiceFixture>
{
    private static readonly DateTimeOffset Start = new(2026, 1, 15, 8, 0, 0, TimeSpan.Zero);

    [SkippableFact]
    public async Task Report_Text_IsTheExpectedFile_ForAFixedJob()
    {
        var id = await FixedJobAsync("report-text");

        using var response = await service.Client.GetAsync($"/v1/jobs/{id}/report");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Contains("Accept", response.Headers.Vary);
        var expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "report-gpu-job.txt")).Replace("{id}", id, StringComparison.Ordinal);
        if (expected != text)
        {
            File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "report-gpu-job.actual.txt"), text.Replace(id, "{id}", StringComparison.Ordinal));
        }

        Assert.Equal(expected, text);
    }

    [SkippableFact]
    public async Task Report_Json_HoldsTheSameContent_WhenAsked()
    {
        var id = await FixedJobAsync("report-json");
        var text = await service.Client.GetStringAsync($"/v1/jobs/{id}/report");

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/jobs/{id}/report");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await service.Client.SendAsync(request);
        var report = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(id, report.GetProperty("job_id").GetString());
        Assert.Equal("completed", report.GetProperty("state").GetString());
        Assert.Equal(0, report.GetProperty("exit_code").GetInt32());
        Assert.Equal(7200, report.GetProperty("runtime_seconds").GetDouble());
        Assert.Equal(240, report.GetProperty("time_limit_minutes").GetInt64());
        Assert.Equal(50, report.GetProperty("time_limit_used_percent").GetDouble());
        Assert.Equal(16, report.GetProperty("cpu").GetProperty("allocated_cpus").GetInt32());
        Assert.Equal(2, report.GetProperty("gpu").GetProperty("allocated_gpus").GetInt32());
        Assert.Equal(65536, report.GetProperty("memory").GetProperty("allocated_mb").GetInt64());
        Assert.Equal(480, report.GetProperty("sample_count").GetInt64());

        // Each flag with the very sentence the text prints.
        var flags = report.GetProperty("flags").EnumerateArray().ToList();
        Assert.Equal(["idle_gpu", "low_cpu", "memory_overallocated"], flags.Select(f => f.GetProperty("flag").GetString()));
        foreach (var flag in flags)
        {
            Assert.Contains($"    {flag.GetProperty("flag").GetString()}: {flag.GetProperty("advice").GetString()}\n", text, StringComparison.Ordinal);
        }

        // The job's own figures, as GET /v1/jobs/{id} has them.
        var job = await (await service.Client.GetAsync($"/v1/jobs/{id}")).ReadJsonAsync();
        Assert.Equal(job.GetProperty("avg_cpu_usage").GetDouble(), report.GetProperty("cpu").GetProperty("avg_usage_percent").GetDouble());
        Assert.Equal(job.GetProperty("summary").GetProperty("gpu_hours_used").GetDouble(), report.GetProperty("gpu").GetProperty("gpu_hours_used").GetDouble());
        Assert.Equal(job.GetProperty("summary").GetProperty("coverage").GetDouble(), report.GetProperty("coverage").GetDouble());
    }

    [SkippableTheory]
    [InlineData(null, "text/plain")]
    [InlineData("text/plain", "text/plain")]
    [InlineData("*/*", "text/plain")]
    [InlineData("text/html", "text/plain")]
    [InlineData("application/json", "application/json")]
    [InlineData("text/plain;q=0.5, application/json", "application/json")]
    [InlineData("application/json;q=0.5, text/plain", "text/plain")]
    public async Task Report_Negotiates_TextUnlessJsonIsPreferred(string? accept, string mediaType)
    {
        var id = await FixedJobAsync("report-accept");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/jobs/{id}/report");
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        using var response = await service.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
    }

    [SkippableFact]
    public async Task Report_Answers404WithErrorBody_ForAnUnknownJob()
    {
        using var response = await service.Client.GetAsync("/v1/jobs/no-such-job/report");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.ReadJsonAsync();
        Assert.Equal("not_found", body.GetProperty("error").GetString());
        Assert.Equal("job 'no-such-job' not found", body.GetProperty("message").GetString());
    }

    /// <summary>
    /// A finished two-node GPU job with fixed times and samples: 16 cores, 64 GiB and 2 GPUs for two
    /// hours of a four-hour limit, a sample every 30 s from each node, little CPU, GPUs idle.
    /// </summary>
    private async Task<string> FixedJobAsync(string prefix)
    {
        var id = prefix + "-" + Guid.NewGuid().ToString("N")[..8];
        await ExpectOkAsync(service.Client.PostJsonAsync("/v1/events/job-started", $$"""
            {"job_id":"{{id}}","user":"alice","node_list":"gpu[01-02]","timestamp":"2026-01-15T08:00:00Z",
             "cpu_allocation":16,"memory_allocation_mb":65536,"gpu_allocation":2,"gpu_vendor":"nvidia",
             "partition":"gpu","account":"physics","cluster":"alps","qos":"normal","time_limit_minutes":240}
            """));

        var samples = new StringBuilder("{\"samples\":[");
        for (var i = 0; i < 240; i++)
        {
            var at = Start.AddSeconds(15 + (i * 30)).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            samples.Append(i == 0 ? string.Empty : ",")
                .Append(CultureInfo.InvariantCulture, $$"""{"job_id":"{{id}}","node":"gpu01","timestamp":"{{at}}","cpu_usage":{{20 + (i % 5)}},"memory_usage_mb":{{4000 + (i * 10)}},"gpu_usage":2}""")
                .Append(CultureInfo.InvariantCulture, $$""",{"job_id":"{{id}}","node":"gpu02","timestamp":"{{at}}","cpu_usage":10,"memory_usage_mb":3000,"gpu_usage":1}""");
        }

        var batch = await ExpectOkAsync(service.Client.PostJsonAsync("/v1/metrics", samples.Append("]}").ToString()));
        Assert.Equal(480, batch.GetProperty("accepted").GetInt32());
        await ExpectOkAsync(service.Client.PostJsonAsync("/v1/events/job-finished", $$"""{"job_id":"{{id}}","timestamp":"2026-01-15T10:00:00Z","exit_code":0}"""));
        return id;
    }

    private static async Task<JsonElement> ExpectOkAsync(Task<HttpResponseMessage> call)
    {
        using var response = await call;
        var body = await response.ReadJsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return body;
    }
}

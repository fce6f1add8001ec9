using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using Xunit.Abstractions;

namespace HpcJobs.Silo.Tests;

/// <summary>The HTML pages of a real service process, as headless Chromium renders them.</summary>
public sealed class JobPagesTests(ITestOutputHelper output)
{
    private const string ReadToken = "pages-read-token-0123456789";
    private const string WriteToken = "pages-write-token-0123456789";

    [SkippableFact]
    public async Task JobPage_PlotsOnePointPerSample_AndShowsTheFlags_InHeadlessChromium()
    {
        var chromium = HeadlessChromium.Find();
        await using var service = await StartAsync([]);
        var id = "page-" + Guid.NewGuid().ToString("N")[..8];
        var start = DateTimeOffset.UtcNow.AddHours(-2);
        await StartJobAsync(service.Client, id, "alice", ["gpu01", "gpu02"], start);

        // Two nodes reporting at different rates: each polyline must hold exactly its node's samples.
        var samples = new List<string>();
        for (var i = 0; i < 230; i++)
        {
            samples.Add(Sample(id, "gpu01", start.AddSeconds(15 + (i * 30)), cpu: 70 + (i % 20), memory: 2000 + (i * 5), gpu: i % 3));
        }

        for (var i = 0; i < 110; i++)
        {
            samples.Add(Sample(id, "gpu02", start.AddSeconds(20 + (i * 60)), cpu: 60, memory: 3000, gpu: 1.5));
        }

        await PostSamplesAsync(service.Client, samples);
        var history = await JsonAsync(service.Client, $"/v1/jobs/{id}/metrics?limit=10000");
        var perNode = history.GetProperty("samples").EnumerateArray()
            .GroupBy(s => s.GetProperty("node").GetString()!)
            .ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(new Dictionary<string, int> { ["gpu01"] = 230, ["gpu02"] = 110 }, perNode);
        var flags = (await JsonAsync(service.Client, $"/v1/jobs/{id}")).GetProperty("flags").EnumerateArray().Select(f => f.GetString()!).ToList();

        var url = $"http://127.0.0.1:{service.Port}/jobs/{id}";
        var dom = await ParseAsync(await chromium.DumpDomAsync(url));

        foreach (var plot in new[] { "plot-cpu", "plot-memory", "plot-gpu" })
        {
            var lines = dom.QuerySelectorAll($"#{plot} svg polyline.series");
            var drawn = lines.ToDictionary(l => l.GetAttribute("data-node")!, l => Points(l.GetAttribute("points")!));
            Assert.Equal(perNode, drawn);
            Assert.Equal(["gpu01 (230 samples)", "gpu02 (110 samples)"], dom.QuerySelectorAll($"#{plot} ul.legend li").Take(2).Select(li => li.TextContent.Trim()));
        }

        var allocation = Assert.Single(dom.QuerySelectorAll("#plot-memory svg line.allocation"));
        Assert.Contains("allocated to the job: 65536 MB", dom.QuerySelector("#plot-memory ul.legend")!.TextContent, StringComparison.Ordinal);
        Assert.NotEqual(allocation.GetAttribute("y1"), dom.QuerySelector("#plot-memory svg line.axis")!.GetAttribute("y1"));

        // GPUs idle (about 1 % of 2) and memory far below its allocation, for two hours: both flags, each with its advice.
        Assert.Equal(["idle_gpu", "memory_overallocated"], flags);
        var shown = dom.QuerySelectorAll("#flags li[data-flag]").ToDictionary(li => li.GetAttribute("data-flag")!, li => li.TextContent);
        Assert.Equal(flags, shown.Keys);
        Assert.Matches(@"^idle_gpu: the job used 1(\.\d)? % of its 2 GPUs; request fewer or none \(--gres=gpu:0\)\.$", shown["idle_gpu"]);
        Assert.StartsWith("memory_overallocated: memory peaked at ", shown["memory_overallocated"], StringComparison.Ordinal);

        Assert.Equal("Job " + id, dom.QuerySelector("h1")!.TextContent);
        Assert.NotEmpty(dom.QuerySelectorAll("#audit tbody tr"));

        var screenshot = Path.Combine(AppContext.BaseDirectory, "artifacts", "job-page.png");
        await chromium.ScreenshotAsync(url, screenshot, 1280, 1600);
        output.WriteLine("screenshot of /jobs/{id}: " + screenshot);
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is (nearly) empty");

        var list = await ParseAsync(await chromium.DumpDomAsync($"http://127.0.0.1:{service.Port}/jobs?user=alice"));
        var link = Assert.Single(list.QuerySelectorAll("table.jobs tbody tr a"));
        Assert.Equal($"/jobs/{id}", link.GetAttribute("href"));
        var flagged = await ParseAsync(await chromium.DumpDomAsync($"http://127.0.0.1:{service.Port}/jobs?flag=idle_gpu"));
        Assert.Single(flagged.QuerySelectorAll("table.jobs tbody tr"));
        Assert.Equal("idle_gpu", flagged.QuerySelector("select[name=flag] option[selected]")!.GetAttribute("value"));
        var unflagged = await ParseAsync(await chromium.DumpDomAsync($"http://127.0.0.1:{service.Port}/jobs?flag=low_cpu&user="));
        Assert.Empty(unflagged.QuerySelectorAll("table.jobs tbody tr"));
        var listShot = Path.Combine(AppContext.BaseDirectory, "artifacts", "job-list.png");
        await chromium.ScreenshotAsync($"http://127.0.0.1:{service.Port}/jobs", listShot, 1280, 900);
        output.WriteLine("screenshot of /jobs: " + listShot);
    }

    [SkippableFact]
    public async Task JobPage_OfARequeuedJob_DrawsEachAttemptAsItsOwnLine_AndMarksWhereTheNextStarts()
    {
        var chromium = HeadlessChromium.Find();
        await using var service = await StartAsync([]);
        var id = "requeue-" + Guid.NewGuid().ToString("N")[..8];
        var first = DateTimeOffset.UtcNow.AddHours(-3);
        var second = first.AddHours(1);
        await StartJobAsync(service.Client, id, "carol", ["n1"], first);
        await PostSamplesAsync(service.Client, Enumerable.Range(0, 12).Select(i => Sample(id, "n1", first.AddMinutes(1 + i), 50, 1000, 0)));
        await SendEventAsync(service.Client, "job-finished", new() { ["job_id"] = id, ["timestamp"] = Time(first.AddMinutes(20)), ["raw_state"] = "PREEMPTED", ["exit_code"] = 1 });
        await SendEventAsync(service.Client, "job-started", new() { ["job_id"] = id, ["user"] = "carol", ["node_list"] = new[] { "n1" }, ["timestamp"] = Time(second), ["restart_count"] = 1 });
        await PostSamplesAsync(service.Client, Enumerable.Range(0, 7).Select(i => Sample(id, "n1", second.AddMinutes(1 + i), 90, 2000, 0)));

        var dom = await ParseAsync(await chromium.DumpDomAsync($"http://127.0.0.1:{service.Port}/jobs/{id}"));

        foreach (var plot in new[] { "plot-cpu", "plot-memory" })
        {
            var lines = dom.QuerySelectorAll($"#{plot} svg polyline.series")
                .ToDictionary(l => l.GetAttribute("data-attempt")!, l => (l.GetAttribute("data-node"), Points(l.GetAttribute("points")!)));
            Assert.Equal(new Dictionary<string, (string?, int)> { ["1"] = ("n1", 12), ["2"] = ("n1", 7) }, lines);
            var marker = Assert.Single(dom.QuerySelectorAll($"#{plot} svg text.marker"));
            Assert.Equal("attempt 2", marker.TextContent);
            Assert.Single(dom.QuerySelectorAll($"#{plot} svg line.marker"));
            Assert.Equal(["n1, attempt 1 (12 samples)", "n1, attempt 2 (7 samples)"], dom.QuerySelectorAll($"#{plot} ul.legend li").Take(2).Select(li => li.TextContent.Trim()));
        }

        Assert.Single(dom.QuerySelectorAll("#attempts tbody tr"));
    }

    [SkippableFact]
    public async Task Pages_ShowMarkupInIdsUsersAndNodes_AsText()
    {
        var chromium = HeadlessChromium.Find();
        await using var service = await StartAsync([]);
        var id = "x<script>alert('id')<script>&\"" + Guid.NewGuid().ToString("N")[..6];
        const string user = "<script>alert(\"user\")</script> & 'q'";
        const string node = "n<img src=x onerror=alert(1)>&\"'";
        var start = DateTimeOffset.UtcNow.AddMinutes(-10);
        await StartJobAsync(service.Client, id, user, [node], start);
        await PostSamplesAsync(service.Client, [Sample(id, node, start.AddMinutes(1), 10, 100, 5), Sample(id, node, start.AddMinutes(2), 20, 200, 5)]);

        var page = await ParseAsync(await chromium.DumpDomAsync($"http://127.0.0.1:{service.Port}/jobs/{Uri.EscapeDataString(id)}"));
        Assert.Empty(page.QuerySelectorAll("script"));
        Assert.Empty(page.QuerySelectorAll("img"));
        Assert.Equal("Job " + id, page.QuerySelector("h1")!.TextContent);
        Assert.StartsWith(user + " · running", page.QuerySelector("header p")!.TextContent, StringComparison.Ordinal);
        Assert.Contains(page.QuerySelectorAll("#summary td"), td => td.TextContent == node);
        Assert.All(page.QuerySelectorAll("svg polyline.series"), line => Assert.Equal(node, line.GetAttribute("data-node")));

        var list = await ParseAsync(await chromium.DumpDomAsync($"http://127.0.0.1:{service.Port}/jobs?user={Uri.EscapeDataString(user)}"));
        Assert.Empty(list.QuerySelectorAll("script"));
        Assert.Empty(list.QuerySelectorAll("img"));
        var link = Assert.Single(list.QuerySelectorAll("table.jobs tbody a"));
        Assert.Equal(id, link.TextContent);
        Assert.Equal("/jobs/" + Uri.EscapeDataString(id), link.GetAttribute("href"));
        Assert.Equal(user, list.QuerySelector("input[name=user]")!.GetAttribute("value"));

        // The markup as sent, before any browser repairs it: nothing but text.
        var raw = await service.Client.GetStringAsync("/jobs/" + Uri.EscapeDataString(id));
        Assert.DoesNotContain("<script", raw, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", raw, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ListPage_PagesThroughTheFilteredJobs_AndExplainsABadFilter()
    {
        await using var service = await StartAsync([]);
        var start = DateTimeOffset.UtcNow.AddMinutes(-30);
        for (var i = 0; i < 5; i++)
        {
            await StartJobAsync(service.Client, $"pager-{i}", "pager", ["cn01"], start.AddMinutes(i));
        }

        await StartJobAsync(service.Client, "someone-else", "other", ["cn01"], start);

        // Newest first, two a page; the links keep the filter.
        var seen = new List<string>();
        var url = "/jobs?user=pager&limit=2&node=";
        var pages = 0;
        while (url is not null)
        {
            var page = await ParseAsync(await service.Client.GetStringAsync(url));
            seen.AddRange(page.QuerySelectorAll("table.jobs tbody tr").Select(row => row.GetAttribute("data-job")!));
            Assert.Equal(pages > 0, page.QuerySelector("nav.pages a[rel=prev]") is not null);
            url = page.QuerySelector("nav.pages a[rel=next]")?.GetAttribute("href");
            Assert.True(url is null || url.Contains("user=pager", StringComparison.Ordinal), url);
            pages++;
        }

        Assert.Equal(3, pages);
        Assert.Equal(["pager-4", "pager-3", "pager-2", "pager-1", "pager-0"], seen);

        using var bad = await service.Client.GetAsync("/jobs?state=exploded");
        var html = await ParseAsync(await bad.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("state", html.QuerySelector("[role=alert]")!.TextContent, StringComparison.Ordinal);
        Assert.NotNull(html.QuerySelector("form.filters"));

        using var unknown = await service.Client.GetAsync("/jobs/no-such-job");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("text/html", unknown.Content.Headers.ContentType?.MediaType);
        Assert.Equal("There is no job 'no-such-job'.", (await ParseAsync(await unknown.Content.ReadAsStringAsync())).QuerySelector("main p")!.TextContent);
    }

    [Fact]
    public async Task Pages_WithTokensSet_AskForAReadToken_AndKeepItInAStrictHttpOnlyCookie()
    {
        await using var service = await StartAsync(new() { ["API_READ_TOKENS"] = ReadToken, ["API_WRITE_TOKENS"] = WriteToken });
        var id = "secret-" + Guid.NewGuid().ToString("N")[..8];
        await StartJobAsync(service.Client, id, "carol", ["cn01"], DateTimeOffset.UtcNow.AddMinutes(-5), WriteToken);

        // A client that neither follows redirects nor keeps cookies: each step is seen as the browser gets it.
        using var browser = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = service.Client.BaseAddress };

        foreach (var path in new[] { "/jobs", $"/jobs/{id}" })
        {
            using var form = await browser.GetAsync(path);
            var html = await form.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.Unauthorized, form.StatusCode);
            Assert.Equal("text/html", form.Content.Headers.ContentType?.MediaType);
            Assert.Contains("name=\"token\"", html, StringComparison.Ordinal);
            Assert.Contains($"name=\"return\" value=\"{path}\"", html, StringComparison.Ordinal);
            // The path asked for comes back to be returned to; nothing of the job's data does.
            var data = html.Replace($"value=\"{path}\"", string.Empty, StringComparison.Ordinal);
            Assert.DoesNotContain(id, data, StringComparison.Ordinal);
            Assert.DoesNotContain("carol", data, StringComparison.Ordinal);
            Assert.DoesNotContain("<table", data, StringComparison.Ordinal);
        }

        using var wrong = await PostTokenAsync(browser, "not-a-token-0123456789", "/jobs");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("not a read or write token", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(wrong.Headers.Contains("Set-Cookie"));

        using var right = await PostTokenAsync(browser, ReadToken, "/jobs?user=carol");
        Assert.Equal(HttpStatusCode.SeeOther, right.StatusCode);
        Assert.Equal("/jobs?user=carol", right.Headers.Location?.OriginalString);
        var setCookie = Assert.Single(right.Headers.GetValues("Set-Cookie"));
        output.WriteLine("Set-Cookie: " + setCookie);
        var attributes = setCookie.Split(';', StringSplitOptions.TrimEntries);
        Assert.StartsWith("hpc_jobs_token=", attributes[0], StringComparison.Ordinal);
        Assert.Contains("httponly", attributes, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", attributes, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("path=/jobs", attributes, StringComparer.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", attributes, StringComparer.OrdinalIgnoreCase); // plain HTTP here

        var cookie = attributes[0];
        using var list = await GetWithCookieAsync(browser, "/jobs?user=carol", cookie);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Contains(id, await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var page = await GetWithCookieAsync(browser, $"/jobs/{id}", cookie);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var reportLink = (await ParseAsync(await page.Content.ReadAsStringAsync())).QuerySelector("header a[href$='/report']")!.GetAttribute("href")!;
        using var report = await GetWithCookieAsync(browser, reportLink, cookie);
        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        Assert.StartsWith($"Efficiency report for job {id}", await report.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The cookie is for the pages only: the API still wants the header.
        using var api = await GetWithCookieAsync(browser, $"/v1/jobs/{id}", cookie);
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);

        // A cookie holding a token that is no longer (or never was) valid: the form again, saying so.
        using var stale = await GetWithCookieAsync(browser, "/jobs", "hpc_jobs_token=revoked-token-0123456789");
        Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
        Assert.Contains("saved token is not a valid read token", await stale.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Only a page of this service is a place to return to.
        using var elsewhere = await PostTokenAsync(browser, ReadToken, "//evil.example/jobs");
        Assert.Equal("/jobs", elsewhere.Headers.Location?.OriginalString);
    }

    private static async Task<ServiceProcess> StartAsync(Dictionary<string, string> extra)
    {
        var settings = new Dictionary<string, string>(await new SqliteBackend().CreateDatabaseAsync());
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return await ServiceProcess.StartAsync(settings);
    }

    private static async Task StartJobAsync(HttpClient client, string id, string user, string[] nodes, DateTimeOffset start, string? token = null)
    {
        var body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["job_id"] = id,
            ["user"] = user,
            ["node_list"] = nodes,
            ["timestamp"] = Time(start),
            ["cpu_allocation"] = 8,
            ["memory_allocation_mb"] = 65536,
            ["gpu_allocation"] = 2,
            ["gpu_vendor"] = "nvidia",
            ["partition"] = "gpu",
            ["account"] = "physics",
            ["time_limit_minutes"] = 240,
        });
        using var response = await SendAsync(client, HttpMethod.Post, "/v1/events/job-started", body, token ?? WriteToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private static async Task SendEventAsync(HttpClient client, string kind, Dictionary<string, object> body)
    {
        using var response = await SendAsync(client, HttpMethod.Post, "/v1/events/" + kind, JsonSerializer.Serialize(body), WriteToken);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Contains("\"status\":\"updated\"", text, StringComparison.Ordinal);
    }

    private static async Task PostSamplesAsync(HttpClient client, IEnumerable<string> samples)
    {
        using var response = await SendAsync(client, HttpMethod.Post, "/v1/metrics", "{\"samples\":[" + string.Join(",", samples) + "]}", WriteToken);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Contains("\"rejected\":[]", text, StringComparison.Ordinal);
    }

    private static string Sample(string id, string node, DateTimeOffset at, double cpu, long memory, double gpu) =>
        JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["job_id"] = id,
            ["node"] = node,
            ["timestamp"] = Time(at),
            ["cpu_usage"] = cpu,
            ["memory_usage_mb"] = memory,
            ["gpu_usage"] = gpu,
        });

    private static async Task<JsonElement> JsonAsync(HttpClient client, string path)
    {
        using var response = await SendAsync(client, HttpMethod.Get, path, null, ReadToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string? json, string token)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        // Sent also to services without tokens, which ignore it.
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }

    private static Task<HttpResponseMessage> PostTokenAsync(HttpClient client, string token, string returnPath) =>
        client.PostAsync("/jobs/token", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token, ["return"] = returnPath }));

    private static Task<HttpResponseMessage> GetWithCookieAsync(HttpClient client, string path, string cookie)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Cookie", cookie);
        return client.SendAsync(request);
    }

    private static int Points(string points) => points.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;

    private static async Task<IDocument> ParseAsync(string html) => await new HtmlParser().ParseDocumentAsync(html);

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

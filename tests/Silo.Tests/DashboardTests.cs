using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace HpcJobs.Silo.Tests;

/// <summary>ORLEANS_DASHBOARD=1: the Orleans Dashboard under /dashboard of a real service process, as a browser shows it.</summary>
public sealed class DashboardTests
{
    [SkippableFact]
    public async Task Dashboard_ShowsTheSilo_InHeadlessChromium()
    {
        var chromium = HeadlessChromium.Find();
        var siloPort = FreePort.Next();
        await using var service = await StartAsync(siloPort, []);

        // The page is a script that polls the dashboard's JSON API; the DOM holds the silo once a poll has answered.
        var dom = string.Empty;
        for (var attempt = 0; attempt < 3 && !dom.Contains($"127.0.0.1:{siloPort}", StringComparison.Ordinal); attempt++)
        {
            dom = await chromium.DumpDomAsync($"http://127.0.0.1:{service.Port}{DashboardSetup.Path}/#/silos");
        }

        Assert.Contains("Orleans Dashboard", dom, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{siloPort}", dom, StringComparison.Ordinal);
        Assert.Contains("Active", dom, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboard_NeedsAReadToken_WhenTokensAreSet()
    {
        var siloPort = FreePort.Next();
        await using var service = await StartAsync(siloPort, new() { ["API_READ_TOKENS"] = "reader-token-0123456789", ["API_WRITE_TOKENS"] = "writer-token-0123456789" });

        using var anonymous = await service.Client.GetAsync($"{DashboardSetup.Path}/");
        using var anonymousApi = await service.Client.GetAsync($"{DashboardSetup.Path}/DashboardCounters");
        using var page = await SendAsync(service.Client, $"{DashboardSetup.Path}/", "reader-token-0123456789");

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymousApi.StatusCode);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var hosts = await SilosAsync(service.Client, "reader-token-0123456789");
        Assert.StartsWith($"127.0.0.1:{siloPort}@", Assert.Single(hosts), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("0", false)]
    [InlineData("1", true)]
    [InlineData("true", true)]
    public void DashboardSettings_Load_IsOffUnlessAskedFor(string? value, bool enabled) =>
        Assert.Equal(enabled, DashboardSettings.Load(Configuration(value)).Enabled);

    [Fact]
    public void DashboardSettings_Load_NamesTheVariable_WhenTheValueIsInvalid()
    {
        var error = Assert.Throws<SettingsException>(() => DashboardSettings.Load(Configuration("yes")));

        Assert.Equal("invalid setting ORLEANS_DASHBOARD='yes': must be 1 or 0", error.Message);
    }

    private static IConfiguration Configuration(string? value) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [DashboardSettings.Variable] = value }).Build();

    private static async Task<ServiceProcess> StartAsync(int siloPort, Dictionary<string, string> extra)
    {
        var settings = new Dictionary<string, string>(await new SqliteBackend().CreateDatabaseAsync())
        {
            [DashboardSettings.Variable] = "1",
            ["SILO_PORT"] = siloPort.ToString(),
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return await ServiceProcess.StartAsync(settings);
    }

    /// <summary>The silos the dashboard's API lists, once its first counters are in (it collects them every second).</summary>
    private static async Task<List<string?>> SilosAsync(HttpClient client, string token)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var counters = await SendAsync(client, $"{DashboardSetup.Path}/DashboardCounters", token);
            Assert.Equal(HttpStatusCode.OK, counters.StatusCode);
            using var body = JsonDocument.Parse(await counters.Content.ReadAsStringAsync());
            var hosts = body.RootElement.GetProperty("hosts").EnumerateArray().Select(h => h.GetProperty("siloAddress").GetString()).ToList();
            if (hosts.Count > 0 || deadline.Elapsed > TimeSpan.FromSeconds(15))
            {
                return hosts;
            }

            await Task.Delay(250);
        }
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, string path, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client.SendAsync(request);
    }
}

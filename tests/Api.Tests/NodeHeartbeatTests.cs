using System.Net;
using System.Text.Json;
using HpcJobs.Api.Tests.Infrastructure;
using static HpcJobs.Api.Tests.Infrastructure.SampleCalls;

namespace HpcJobs.Api.Tests;

/// <summary>
/// <c>POST /v1/nodes/{node}/heartbeat</c>, <c>GET /v1/nodes</c> and the node series of <c>/metrics</c>,
/// on each backend: a heartbeat is stored (last heartbeat, the jobs it listed), a malformed one is a
/// 400 naming the field and changes nothing.
/// </summary>
public abstract class NodeHeartbeatTests<TBackend>(ServiceFixture<TBackend> service) : IClassFixture<ServiceFixture<TBackend>>
    where TBackend : IBackend, new()
{
    private HttpClient Client => service.Client;

    public static TheoryData<string, string> BadBodies => new()
    {
        { "{}", "jobs" },
        { """{"jobs":null}""", "jobs" },
        { """{"jobs":"12345"}""", "jobs" },
        { """{"jobs":[12345]}""", "jobs" },
        { """{"jobs":[""]}""", "jobs" },
        { """{"jobs":["a/b"]}""", "jobs" },
        { """{"jobs":["ok","a\u0001b"]}""", "jobs" },
        { $$"""{"jobs":["{{new string('j', 256)}}"]}""", "jobs" },
        { $$"""{"jobs":[{{string.Join(",", Enumerable.Range(0, 10_001).Select(i => $"\"{i}\""))}}]}""", "jobs" },
        { """{"jobs":[],"timestamp":"yesterday"}""", "timestamp" },
        { """{"jobs":[],"timestamp":12}""", "timestamp" },
        { """{"jobs":[],"timestamp":"2099-01-01T00:00:00Z"}""", "timestamp" },
        { "[]", "body" },
    };

    private static string NewNode() => "hb-" + Guid.NewGuid().ToString("N")[..12];

    private async Task<JsonElement> HeartbeatAsync(string node, params string[] jobs)
    {
        using var response = await Client.PostJsonAsync($"/v1/nodes/{Uri.EscapeDataString(node)}/heartbeat", JsonSerializer.Serialize(new { jobs }));
        var body = await response.ReadJsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"heartbeat answered {(int)response.StatusCode}: {body}");
        return body;
    }

    private async Task<JsonElement?> FindNodeAsync(string node)
    {
        using var response = await Client.GetAsync("/v1/nodes");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.ReadJsonAsync();
        Assert.Equal(body.GetProperty("nodes").GetArrayLength(), body.GetProperty("total").GetInt32());
        foreach (var item in body.GetProperty("nodes").EnumerateArray())
        {
            if (item.GetProperty("node").GetString() == node)
            {
                return item;
            }
        }

        return null;
    }

    [SkippableFact]
    public async Task Heartbeat_Answers200_WithTheNodeItsReceivedTimeAndJobCount()
    {
        var node = NewNode();
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        var body = await HeartbeatAsync(node, "12345", "12345_7", "12345", "not-a-known-job");

        Assert.Equal(node, body.GetProperty("node").GetString());
        Assert.Equal(3, body.GetProperty("job_count").GetInt32());
        var received = ParseTime(body.GetProperty("received_at"));
        Assert.InRange(received, before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.EndsWith("Z", body.GetProperty("received_at").GetString());
    }

    [SkippableFact]
    public async Task ListNodes_ShowsEachNodesLastHeartbeatAndListedJobs_InNameOrder()
    {
        var prefix = NewNode();
        await HeartbeatAsync(prefix + "-b", "2", "1");
        await HeartbeatAsync(prefix + "-a");
        var second = await HeartbeatAsync(prefix + "-b", "3", "1");

        using var response = await Client.GetAsync("/v1/nodes");
        var body = await response.ReadJsonAsync();
        var ours = body.GetProperty("nodes").EnumerateArray()
            .Where(n => n.GetProperty("node").GetString()!.StartsWith(prefix, StringComparison.Ordinal)).ToArray();
        var all = body.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("node").GetString()!).ToArray();

        Assert.Equal(all.Order(StringComparer.Ordinal), all);
        Assert.Equal([prefix + "-a", prefix + "-b"], ours.Select(n => n.GetProperty("node").GetString()));
        Assert.Equal(0, ours[0].GetProperty("job_count").GetInt32());
        Assert.Equal(["1", "3"], ours[1].GetProperty("jobs").EnumerateArray().Select(j => j.GetString()));
        Assert.Equal(2, ours[1].GetProperty("job_count").GetInt32());
        Assert.Equal(second.GetProperty("received_at").GetString(), ours[1].GetProperty("last_heartbeat").GetString());
        Assert.True(ParseTime(ours[1].GetProperty("heartbeating_since")) <= ParseTime(ours[1].GetProperty("last_heartbeat")));
    }

    [SkippableTheory]
    [MemberData(nameof(BadBodies))]
    public async Task Heartbeat_Answers400NamingTheField_AndStoresNothing_ForABadBody(string json, string field)
    {
        var node = NewNode();

        using var response = await Client.PostJsonAsync($"/v1/nodes/{node}/heartbeat", json);
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("validation_error", body.GetProperty("error").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("message").GetString()));
        Assert.True(body.GetProperty("details").TryGetProperty(field, out _), $"details do not name {field}: {body}");
        Assert.Null(await FindNodeAsync(node));
    }

    [SkippableFact]
    public async Task Heartbeat_Answers400_ForMalformedJson_AndLeavesTheStoredNodeAsItWas()
    {
        var node = NewNode();
        await HeartbeatAsync(node, "1");

        using var malformed = await Client.PostJsonAsync($"/v1/nodes/{node}/heartbeat", "{\"jobs\":[\"2\"");
        using var tooMany = await Client.PostJsonAsync($"/v1/nodes/{node}/heartbeat", """{"jobs":["2",7]}""");

        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("invalid_request", (await malformed.ReadJsonAsync()).GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        var stored = await FindNodeAsync(node);
        Assert.Equal(["1"], stored!.Value.GetProperty("jobs").EnumerateArray().Select(j => j.GetString()));
    }

    [SkippableTheory]
    [InlineData("a%01b")]
    [InlineData("%20")]
    public async Task Heartbeat_Answers400NamingNode_ForABadNodeName(string node)
    {
        using var response = await Client.PostJsonAsync($"/v1/nodes/{node}/heartbeat", """{"jobs":[]}""");
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(body.GetProperty("details").TryGetProperty("node", out _), body.ToString());
    }

    [SkippableFact]
    public async Task Heartbeat_Answers400NamingTheHeader_ForABadWriteHeader()
    {
        var node = NewNode();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/nodes/{node}/heartbeat")
        {
            Content = new StringContent("""{"jobs":[]}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("X-Source", new string('a', 256));

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.ReadJsonAsync()).GetProperty("details").TryGetProperty("X-Source", out _));
        Assert.Null(await FindNodeAsync(node));
    }

    [SkippableFact]
    public async Task Heartbeat_AcceptsATimestampInThePast_AndStillJudgesByTheServersClock()
    {
        var node = NewNode();

        using var response = await Client.PostJsonAsync($"/v1/nodes/{node}/heartbeat", $$"""{"timestamp":"{{Wire(Now().AddHours(-3))}}","jobs":["1"]}""");
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.InRange(ParseTime(body.GetProperty("received_at")), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));
    }

    [SkippableFact]
    public async Task Metrics_ExportsEachNodesLastHeartbeatAndJobCount()
    {
        var node = NewNode();
        await HeartbeatAsync(node, "1");
        var last = await HeartbeatAsync(node, "1", "2");
        var expected = ParseTime(last.GetProperty("received_at")).ToUnixTimeMilliseconds() / 1000.0;

        var scrape = await ScrapeUntilAsync(s => s.Single("hpc_node_heartbeat_jobs", "node", node) == 2);

        Assert.Equal("gauge", scrape.Types["hpc_node_last_heartbeat_timestamp_seconds"]);
        Assert.Equal("gauge", scrape.Types["hpc_node_heartbeat_jobs"]);
        Assert.Equal(expected, scrape.Single("hpc_node_last_heartbeat_timestamp_seconds", "node", node));
        Assert.Equal(2, scrape.Single("hpc_node_heartbeat_jobs", "node", node));
        Assert.Single(scrape.Where("hpc_node_heartbeat_jobs", "node", node));
    }

    private async Task<MetricsExposition> ScrapeUntilAsync(Func<MetricsExposition, bool> done)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(15);
        while (true)
        {
            using var response = await Client.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var scrape = MetricsExposition.Parse(await response.Content.ReadAsStringAsync());
            if (done(scrape) || DateTimeOffset.UtcNow > deadline)
            {
                return scrape;
            }

            await Task.Delay(200);
        }
    }
}

public sealed class SqliteNodeHeartbeatTests(ServiceFixture<SqliteBackend> service) : NodeHeartbeatTests<SqliteBackend>(service);

public sealed class PostgresNodeHeartbeatTests(ServiceFixture<PostgresBackend> service) : NodeHeartbeatTests<PostgresBackend>(service);

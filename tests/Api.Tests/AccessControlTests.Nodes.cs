using System.Net;
using System.Net.Http.Headers;

namespace HpcJobs.Api.Tests;

public sealed partial class AccessControlTests
{
    public static TheoryData<string, string> NodeForbiddenRoutes => new()
    {
        { "GET", "/v1/jobs" },
        { "GET", "/v1/jobs/{id}" },
        { "GET", "/v1/jobs/{id}/metrics" },
        { "GET", "/metrics" },
        { "POST", "/v1/jobs" },
        { "PATCH", "/v1/jobs/{id}" },
        { "DELETE", "/v1/jobs/{id}" },
    };

    [SkippableFact]
    public async Task NodeToken_MayPostSamples_OnBothIngestRoutes()
    {
        var id = await CreateAsync();
        using var single = await SendWithAsync(HttpMethod.Post, $"/v1/jobs/{id}/metrics", """{"cpu_usage":1,"memory_usage_mb":1}""", TokenServiceFixture.NodeToken);
        using var batch = await SendWithAsync(HttpMethod.Post, "/v1/metrics", $$"""{"samples":[{"job_id":"{{id}}","cpu_usage":2,"memory_usage_mb":2}]}""", TokenServiceFixture.NodeToken);

        Assert.Equal(HttpStatusCode.Created, single.StatusCode);
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        Assert.Contains("\"accepted\":1", await batch.Content.ReadAsStringAsync());
    }

    [SkippableTheory]
    [MemberData(nameof(NodeForbiddenRoutes))]
    public async Task NodeToken_Answers403Forbidden_OutsideIngest(string method, string route)
    {
        using var response = await SendAsync(method, route, TokenServiceFixture.NodeToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"error\":\"forbidden\"", await response.Content.ReadAsStringAsync());
    }

    [SkippableFact]
    public async Task NodeToken_ChangesNothing_WhenForbidden()
    {
        var id = await CreateAsync();
        using var denied = await SendWithAsync(HttpMethod.Patch, $"/v1/jobs/{id}", """{"state":"failed"}""", TokenServiceFixture.NodeToken);
        using var job = await SendWithAsync(HttpMethod.Get, $"/v1/jobs/{id}", null, TokenServiceFixture.ReadToken);

        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Contains("\"state\":\"running\"", await job.Content.ReadAsStringAsync());
    }

    [SkippableFact]
    public async Task NodeToken_RecordsItsNodeOnTheSample_WhenNodeIsAbsent()
    {
        var id = await CreateAsync(["other-node", "n"]);
        using var single = await SendWithAsync(HttpMethod.Post, $"/v1/jobs/{id}/metrics", """{"cpu_usage":1,"memory_usage_mb":1}""", TokenServiceFixture.NodeToken);
        using var history = await SendWithAsync(HttpMethod.Get, $"/v1/jobs/{id}/metrics", null, TokenServiceFixture.ReadToken);

        Assert.Equal(HttpStatusCode.Created, single.StatusCode);
        Assert.Contains("\"node\":\"n\"", await single.Content.ReadAsStringAsync());
        Assert.Contains("\"node\":\"n\"", await history.Content.ReadAsStringAsync());
    }

    [SkippableFact]
    public async Task NodeToken_Answers403AndStoresNothing_ForAJobNotOnItsNodeOrASampleOfAnotherNode()
    {
        var foreign = await CreateAsync(["other-node"]);
        var own = await CreateAsync(["n", "other-node"]);
        using var foreignJob = await SendWithAsync(HttpMethod.Post, $"/v1/jobs/{foreign}/metrics", """{"cpu_usage":1,"memory_usage_mb":1}""", TokenServiceFixture.NodeToken);
        using var otherNode = await SendWithAsync(HttpMethod.Post, $"/v1/jobs/{own}/metrics", """{"cpu_usage":1,"memory_usage_mb":1,"node":"other-node"}""", TokenServiceFixture.NodeToken);
        using var foreignHistory = await SendWithAsync(HttpMethod.Get, $"/v1/jobs/{foreign}/metrics", null, TokenServiceFixture.ReadToken);
        using var ownHistory = await SendWithAsync(HttpMethod.Get, $"/v1/jobs/{own}/metrics", null, TokenServiceFixture.ReadToken);

        Assert.Equal(HttpStatusCode.Forbidden, foreignJob.StatusCode);
        Assert.Contains("\"error\":\"forbidden\"", await foreignJob.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, otherNode.StatusCode);
        Assert.Contains("\"error\":\"forbidden\"", await otherNode.Content.ReadAsStringAsync());
        Assert.Contains("\"total\":0", await foreignHistory.Content.ReadAsStringAsync());
        Assert.Contains("\"total\":0", await ownHistory.Content.ReadAsStringAsync());
    }

    [SkippableFact]
    public async Task NodeToken_StoresItsOwnJobsAndRejectsTheRestByIndex_InAMixedBatch()
    {
        var own = await CreateAsync(["n"]);
        var foreign = await CreateAsync(["other-node"]);
        var now = DateTimeOffset.UtcNow;
        string At(int seconds) => now.AddSeconds(-seconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        using var batch = await SendWithAsync(HttpMethod.Post, "/v1/metrics", $$"""
            {"samples":[
              {"job_id":"{{own}}","cpu_usage":1,"memory_usage_mb":1,"timestamp":"{{At(3)}}"},
              {"job_id":"{{foreign}}","cpu_usage":2,"memory_usage_mb":2,"timestamp":"{{At(3)}}"},
              {"job_id":"{{own}}","cpu_usage":3,"memory_usage_mb":3,"timestamp":"{{At(2)}}","node":"n"},
              {"job_id":"{{own}}","cpu_usage":4,"memory_usage_mb":4,"timestamp":"{{At(1)}}","node":"other-node"}
            ]}
            """, TokenServiceFixture.NodeToken);
        var body = System.Text.Json.JsonDocument.Parse(await batch.Content.ReadAsStringAsync()).RootElement;
        using var ownHistory = await SendWithAsync(HttpMethod.Get, $"/v1/jobs/{own}/metrics", null, TokenServiceFixture.ReadToken);
        using var foreignHistory = await SendWithAsync(HttpMethod.Get, $"/v1/jobs/{foreign}/metrics", null, TokenServiceFixture.ReadToken);

        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        Assert.Equal(2, body.GetProperty("accepted").GetInt64());
        Assert.Equal(
            [(1, "forbidden"), (3, "forbidden")],
            body.GetProperty("rejected").EnumerateArray().Select(r => (r.GetProperty("index").GetInt32(), r.GetProperty("error").GetString())));
        Assert.Contains("\"total\":2", await ownHistory.Content.ReadAsStringAsync());
        Assert.Contains("\"total\":0", await foreignHistory.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// A node's own prolog and epilog (and the agent flushing their spool) report with the node's
    /// token: only jobs that run on the node, a new one only on a node list holding it.
    /// </summary>
    [SkippableFact]
    public async Task NodeToken_MayReportEvents_OnlyForJobsOnItsNode()
    {
        var own = "ev-own-" + Guid.NewGuid().ToString("N")[..8];
        var foreign = "ev-foreign-" + Guid.NewGuid().ToString("N")[..8];
        using var startOwn = await SendWithAsync(HttpMethod.Post, "/v1/events/job-started", $$"""{"job_id":"{{own}}","user":"u","node_list":"n,m"}""", TokenServiceFixture.NodeToken);
        using var startForeign = await SendWithAsync(HttpMethod.Post, "/v1/events/job-started", $$"""{"job_id":"{{foreign}}","user":"u","node_list":"other-node"}""", TokenServiceFixture.NodeToken);
        var elsewhere = await CreateAsync(["other-node"]);
        using var takeOver = await SendWithAsync(HttpMethod.Post, "/v1/events/job-started", $$"""{"job_id":"{{elsewhere}}","user":"u","node_list":["n"]}""", TokenServiceFixture.NodeToken);
        using var finishForeign = await SendWithAsync(HttpMethod.Post, "/v1/events/job-finished", $$"""{"job_id":"{{elsewhere}}","exit_code":0}""", TokenServiceFixture.NodeToken);
        using var finishOwn = await SendWithAsync(HttpMethod.Post, "/v1/events/job-finished", $$"""{"job_id":"{{own}}","exit_code":0}""", TokenServiceFixture.NodeToken);
        using var ownJob = await SendWithAsync(HttpMethod.Get, $"/v1/jobs/{own}", null, TokenServiceFixture.ReadToken);
        using var foreignJob = await SendWithAsync(HttpMethod.Get, $"/v1/jobs/{foreign}", null, TokenServiceFixture.ReadToken);
        using var elsewhereJob = await SendWithAsync(HttpMethod.Get, $"/v1/jobs/{elsewhere}", null, TokenServiceFixture.ReadToken);
        using var audit = await SendWithAsync(HttpMethod.Get, $"/v1/jobs/{own}/audit", null, TokenServiceFixture.ReadToken);

        Assert.Equal(HttpStatusCode.OK, startOwn.StatusCode);
        Assert.Equal(HttpStatusCode.OK, finishOwn.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, startForeign.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, takeOver.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, finishForeign.StatusCode);
        Assert.Contains("\"error\":\"forbidden\"", await takeOver.Content.ReadAsStringAsync());
        Assert.Contains("\"state\":\"completed\"", await ownJob.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, foreignJob.StatusCode);
        var elsewhereText = await elsewhereJob.Content.ReadAsStringAsync();
        Assert.Contains("\"state\":\"running\"", elsewhereText);
        Assert.Contains("\"nodes\":[\"other-node\"]", elsewhereText);
        Assert.Contains("\"changed_by\":\"node:n\"", await audit.Content.ReadAsStringAsync());
    }

    private async Task<HttpResponseMessage> SendWithAsync(HttpMethod method, string path, string? json, string? token)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = Json(json);
        }

        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await service.Client.SendAsync(request);
    }
}

using System.Net;

namespace HpcJobs.Api.Tests;

public sealed partial class AccessControlTests
{
    [SkippableFact]
    public async Task NodeToken_MayPostHeartbeats_ForItsOwnNodeOnly()
    {
        using var own = await SendWithAsync(HttpMethod.Post, "/v1/nodes/n/heartbeat", """{"jobs":["1"]}""", TokenServiceFixture.NodeToken);
        using var other = await SendWithAsync(HttpMethod.Post, "/v1/nodes/other-node/heartbeat", """{"jobs":["2"]}""", TokenServiceFixture.NodeToken);
        using var write = await SendWithAsync(HttpMethod.Post, "/v1/nodes/other-node/heartbeat", """{"jobs":["3"]}""", TokenServiceFixture.WriteToken);
        using var read = await SendWithAsync(HttpMethod.Post, "/v1/nodes/n/heartbeat", """{"jobs":["4"]}""", TokenServiceFixture.ReadToken);
        using var list = await SendWithAsync(HttpMethod.Get, "/v1/nodes", null, TokenServiceFixture.ReadToken);
        var nodes = await list.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Contains("\"error\":\"forbidden\"", await other.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, write.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, read.StatusCode);
        Assert.Contains("\"jobs\":[\"1\"]", nodes);
        Assert.Contains("\"jobs\":[\"3\"]", nodes);
        Assert.DoesNotContain("\"2\"", nodes);
        Assert.DoesNotContain("\"4\"", nodes);
    }

    [SkippableFact]
    public async Task NodeToken_MayNotListNodes()
    {
        using var response = await SendWithAsync(HttpMethod.Get, "/v1/nodes", null, TokenServiceFixture.NodeToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}

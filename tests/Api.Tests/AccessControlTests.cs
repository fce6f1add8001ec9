using System.Net;
using System.Net.Http.Headers;
using HpcJobs.Api.Tests.Infrastructure;

namespace HpcJobs.Api.Tests;

public sealed class TokenServiceFixture : ServiceFixture<SqliteBackend>
{
    public const string WriteToken = "write-token-0123456789abcdef";
    public const string ReadToken = "read-token-0123456789abcdef";

    public const string NodeToken = "node-token-n-0123456789abcdef";
    public const string OtherNodeToken = "node-token-other-0123456789abcdef";

    private readonly string _nodeFile = NodeTokenFiles.Write($"# test nodes\n{NodeToken} n\n\n{OtherNodeToken} other-node\n");

    protected override IReadOnlyDictionary<string, string> ExtraSettings => new Dictionary<string, string>
    {
        ["API_WRITE_TOKENS"] = $"other-write-token-0000000000, {WriteToken}",
        ["API_READ_TOKENS"] = ReadToken,
        ["API_NODE_TOKENS_FILE"] = _nodeFile,
    };
}

/// <summary>Node token files in a directory of their own: the file watcher covers its directory recursively.</summary>
public static class NodeTokenFiles
{
    public static string Write(string content)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("hpc-node-tokens-").FullName, "node-tokens");
        File.WriteAllText(path, content);
        return path;
    }
}

public sealed partial class AccessControlTests(TokenServiceFixture service) : IClassFixture<TokenServiceFixture>
{
    public static TheoryData<string, string, bool> Routes => new()
    {
        { "GET", "/v1/jobs", false },
        { "GET", "/v1/jobs/{id}", false },
        { "GET", "/v1/jobs/{id}/metrics", false },
        { "GET", "/v1/jobs/{id}/report", false },
        { "GET", "/metrics", false },
        { "POST", "/v1/jobs", true },
        { "PATCH", "/v1/jobs/{id}", true },
        { "POST", "/v1/jobs/{id}/metrics", true },
        { "DELETE", "/v1/jobs/{id}", true },
    };

    private async Task<string> CreateAsync(string[]? nodes = null)
    {
        var id = "acl-" + Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs")
        {
            Content = new StringContent(
                $$"""{"id":"{{id}}","user":"u","nodes":{{System.Text.Json.JsonSerializer.Serialize(nodes ?? ["n"])}}}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TokenServiceFixture.WriteToken);
        using var response = await service.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return id;
    }

    private async Task<HttpResponseMessage> SendAsync(string method, string route, string? token)
    {
        var id = await CreateAsync();
        var request = new HttpRequestMessage(new HttpMethod(method), route.Replace("{id}", id, StringComparison.Ordinal));
        request.Content = method switch
        {
            "POST" when route == "/v1/jobs" => Json($$"""{"id":"{{id}}-new","user":"u","nodes":["n"]}"""),
            "POST" => Json("""{"cpu_usage":1,"memory_usage_mb":1}"""),
            "PATCH" => Json("""{"state":"completed"}"""),
            _ => null,
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await service.Client.SendAsync(request);
    }

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");

    [SkippableTheory]
    [MemberData(nameof(Routes))]
    public async Task Route_Answers401WithErrorBody_WithoutToken(string method, string route, bool mutating)
    {
        _ = mutating;
        using var response = await SendAsync(method, route, null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("\"error\":\"unauthorized\"", await response.Content.ReadAsStringAsync());
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
    }

    [SkippableTheory]
    [MemberData(nameof(Routes))]
    public async Task Route_Answers401_WithWrongToken(string method, string route, bool mutating)
    {
        _ = mutating;
        using var response = await SendAsync(method, route, "not-a-valid-token-at-all-000");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [SkippableTheory]
    [MemberData(nameof(Routes))]
    public async Task Route_FollowsReadTokenRights(string method, string route, bool mutating)
    {
        using var response = await SendAsync(method, route, TokenServiceFixture.ReadToken);

        if (mutating)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        else
        {
            Assert.True(response.IsSuccessStatusCode, $"{method} {route}: {(int)response.StatusCode}");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Routes))]
    public async Task Route_Succeeds_WithWriteToken(string method, string route, bool mutating)
    {
        _ = mutating;
        using var response = await SendAsync(method, route, TokenServiceFixture.WriteToken);

        Assert.True(response.IsSuccessStatusCode, $"{method} {route}: {(int)response.StatusCode}");
    }

    [SkippableFact]
    public async Task Health_IsOpen_WithoutToken()
    {
        using var response = await service.Client.GetAsync("/v1/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [SkippableFact]
    public async Task Rejected_Write_ChangesNothing()
    {
        var id = await CreateAsync();
        using var patch = new HttpRequestMessage(HttpMethod.Patch, $"/v1/jobs/{id}") { Content = Json("""{"state":"failed"}""") };
        using var denied = await service.Client.SendAsync(patch);
        using var read = new HttpRequestMessage(HttpMethod.Get, $"/v1/jobs/{id}");
        read.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TokenServiceFixture.ReadToken);
        using var job = await service.Client.SendAsync(read);

        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        Assert.Contains("\"state\":\"running\"", await job.Content.ReadAsStringAsync());
    }
}

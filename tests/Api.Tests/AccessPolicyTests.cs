using System.Security.Claims;
using HpcJobs.Api.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HpcJobs.Api.Tests;

/// <summary>The policies and the caller's names, without a running service.</summary>
public sealed class AccessPolicyTests
{
    private const string Write = "unit-write-token-0123456789";
    private const string Read = "unit-read-token-0123456789";
    private const string Node = "unit-node-token-0123456789";

    private static readonly AccessOptions Closed = new()
    {
        WriteTokens = [Write],
        ReadTokens = [Read],
        NodeTokensFile = "/nonexistent/node-tokens",
        NodeTokens = [new NodeToken(Node, "gpu01")],
    };

    private static ClaimsPrincipal Caller(string? token, AccessOptions? options = null)
    {
        options ??= Closed;
        var tokens = new BearerTokens(Options.Create(options), new NodeTokens(Options.Create(options), NullLogger<NodeTokens>.Instance));
        return token is not null && tokens.Identify(token, "Bearer") is { } identity ? new(identity) : new();
    }

    private static async Task<bool> AllowsAsync(AccessRight right, ClaimsPrincipal user, string method, string path, string? routeNode = null, AccessOptions? options = null)
    {
        var http = new DefaultHttpContext { User = user };
        http.Request.Method = method;
        http.Request.Path = path;
        if (routeNode is not null)
        {
            http.Request.RouteValues["node"] = routeNode;
        }

        var requirement = new AccessRequirement(right);
        var context = new AuthorizationHandlerContext([requirement], user, http);
        await new AccessRequirementHandler(Options.Create(options ?? Closed)).HandleAsync(context);
        return context.HasSucceeded;
    }

    [Fact]
    public async Task IngestPolicy_AllowsNodeHeartbeat_OnlyForItsOwnNode()
    {
        Assert.True(await AllowsAsync(AccessRight.Ingest, Caller(Node), "POST", "/v1/nodes/gpu01/heartbeat", routeNode: "gpu01"));
        Assert.False(await AllowsAsync(AccessRight.Ingest, Caller(Node), "POST", "/v1/nodes/gpu02/heartbeat", routeNode: "gpu02"));
        Assert.True(await AllowsAsync(AccessRight.Ingest, Caller(Write), "POST", "/v1/nodes/gpu02/heartbeat", routeNode: "gpu02"));
        Assert.False(await AllowsAsync(AccessRight.Ingest, Caller(Read), "POST", "/v1/nodes/gpu01/heartbeat", routeNode: "gpu01"));
        Assert.False(await AllowsAsync(AccessRight.Ingest, Caller(null), "POST", "/v1/nodes/gpu01/heartbeat", routeNode: "gpu01"));
    }

    [Theory]
    [InlineData(AccessRight.Read)]
    [InlineData(AccessRight.Write)]
    [InlineData(AccessRight.Ingest)]
    [InlineData(AccessRight.Metrics)]
    [InlineData(AccessRight.Fallback)]
    public async Task Policy_AllowsEveryone_WhenNoTokenIsConfigured(AccessRight right)
    {
        Assert.True(await AllowsAsync(right, Caller(null, new AccessOptions()), "POST", "/v1/anything", options: new AccessOptions()));
    }

    [Theory]
    [InlineData("GET", null, false)]
    [InlineData("GET", Read, true)]
    [InlineData("GET", Node, false)]
    [InlineData("POST", Read, false)]
    [InlineData("DELETE", Node, false)]
    [InlineData("PUT", Write, true)]
    public async Task FallbackPolicy_NeedsReadForGetAndWriteOtherwise_WhenTokensAreSet(string method, string? token, bool allowed)
    {
        Assert.Equal(allowed, await AllowsAsync(AccessRight.Fallback, Caller(token), method, "/v1/route-added-tomorrow"));
    }

    [Fact]
    public async Task FallbackPolicy_LeavesHealthOpen_WhenTokensAreSet()
    {
        Assert.True(await AllowsAsync(AccessRight.Fallback, Caller(null), "GET", "/v1/health/ready"));
        Assert.False(await AllowsAsync(AccessRight.Fallback, Caller(null), "GET", "/v1/healthy"));
    }

    [Fact]
    public async Task MetricsPolicy_IsOpen_WhenMetricsAuthIsNone()
    {
        var none = new AccessOptions { WriteTokens = [Write], MetricsNeedToken = false };
        Assert.True(await AllowsAsync(AccessRight.Metrics, Caller(null, none), "GET", "/metrics", options: none));
        Assert.False(await AllowsAsync(AccessRight.Metrics, Caller(null), "GET", "/metrics"));
    }

    [Fact]
    public void Callers_AreNamedForTheAudit_WithoutTheirToken()
    {
        var write = new DefaultHttpContext { User = Caller(Write) };
        var node = new DefaultHttpContext { User = Caller(Node) };
        var nobody = new DefaultHttpContext();
        var expected = "token:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Write)))[..8];

        Assert.Equal(expected, write.AuditName());
        Assert.Null(write.ScopedNode());
        Assert.Equal("node:gpu01", node.AuditName());
        Assert.Equal("gpu01", node.ScopedNode());
        Assert.Equal("anonymous", nobody.AuditName());
        Assert.Null(nobody.ScopedNode());
        Assert.Null(Caller("not-a-configured-token-000").Identity?.Name);
    }

    [Theory]
    [InlineData("only-a-token-0123456789")]
    [InlineData("token-0123456789abcdef node extra")]
    [InlineData("short node")]
    [InlineData("token-0123456789abcdef n\ntoken-0123456789abcdef m")]
    public void NodeTokenFile_RejectsTheLine_WithoutEchoingIt(string content)
    {
        var error = Assert.Throws<FormatException>(() => NodeTokenFile.Parse(content.Split('\n')));

        Assert.StartsWith("line ", error.Message);
        Assert.DoesNotContain("0123456789", error.Message);
    }

    [Fact]
    public void NodeTokenFile_SkipsCommentsAndBlankLines()
    {
        var tokens = NodeTokenFile.Parse(["# nodes of rack 1", "", "  token-0123456789abcdef   gpu01  ", "\t", "token-abcdef0123456789 gpu02"]);

        Assert.Equal([new NodeToken("token-0123456789abcdef", "gpu01"), new NodeToken("token-abcdef0123456789", "gpu02")], tokens);
    }
}

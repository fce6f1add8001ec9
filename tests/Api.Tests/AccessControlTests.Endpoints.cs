using System.Net;
using HpcJobs.Api.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace HpcJobs.Api.Tests;

/// <summary>
/// Every route the service maps, found through routing itself rather than listed by hand: a route
/// added tomorrow without a policy is checked here too.
/// </summary>
public sealed partial class AccessControlTests
{
    private static readonly HashSet<(string Method, string Pattern)> NodeIngestRoutes =
    [
        ("POST", "/v1/jobs/{id}/metrics"),
        ("POST", "/v1/metrics"),
        ("POST", "/v1/nodes/{node}/heartbeat"),

        // A node's prolog and epilog report its own jobs (the grain checks which: NodeToken_MayReportEvents_OnlyForJobsOnItsNode).
        ("POST", "/v1/events/job-started"),
        ("POST", "/v1/events/job-finished"),
    ];

    /// <summary>
    /// The pages' sign-in form: open to anyone, since it is where a token is given; it grants nothing
    /// but a cookie holding a valid read or write token (JobPagesTests in Silo.Tests).
    /// </summary>
    private const string TokenForm = "/jobs/token";

    [SkippableFact]
    public async Task EveryEndpoint_FollowsTokenRights_WithEachKindOfToken()
    {
        var endpoints = RoutedEndpoints().Where(e => e.Pattern != TokenForm).ToList();
        var failures = new List<string>();
        foreach (var (method, pattern) in endpoints)
        {
            var health = pattern.StartsWith("/v1/health", StringComparison.Ordinal);
            var reads = method is "GET" or "HEAD";
            await ExpectAsync(method, pattern, null, health ? "open" : "401");
            await ExpectAsync(method, pattern, TokenServiceFixture.WriteToken, "open");
            await ExpectAsync(method, pattern, TokenServiceFixture.ReadToken, health || reads ? "open" : "401");
            await ExpectAsync(method, pattern, TokenServiceFixture.NodeToken, health || NodeIngestRoutes.Contains((method, pattern)) ? "open" : "403");
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));

        // The walk saw the routes: all of today's, each of them.
        Assert.True(endpoints.Count >= 10, $"only {endpoints.Count} endpoints found");

        async Task ExpectAsync(string method, string pattern, string? token, string expected)
        {
            var id = await CreateAsync();
            var path = pattern.Replace("{id}", id, StringComparison.Ordinal).Replace("{node}", "n", StringComparison.Ordinal);
            using var response = await SendWithAsync(new HttpMethod(method), path, method is "GET" or "HEAD" or "DELETE" ? null : "{}", token);
            var status = (int)response.StatusCode;
            var actual = status switch
            {
                401 => "401",
                403 => "403",
                _ => "open",
            };
            if (actual != expected)
            {
                failures.Add($"{method} {pattern} with {(token is null ? "no token" : token[..4])}: {status}, expected {expected}");
            }
        }
    }

    [SkippableFact]
    public async Task RouteWithoutPolicy_IsClosed_WhenTokensAreSet()
    {
        _ = service.Client;
        var policies = service.Services.GetRequiredService<IAuthorizationPolicyProvider>();
        var authorization = service.Services.GetRequiredService<IAuthorizationService>();
        var fallback = await policies.GetFallbackPolicyAsync();
        Assert.NotNull(fallback);

        // A route that names no policy gets exactly the fallback: the same combination the authorization middleware makes.
        var unguarded = await AuthorizationPolicy.CombineAsync(policies, [], []);
        Assert.Same(fallback, unguarded);

        foreach (var method in new[] { "GET", "POST", "PATCH", "DELETE" })
        {
            var context = new DefaultHttpContext();
            context.Request.Method = method;
            context.Request.Path = "/v1/route-added-tomorrow";
            var anonymous = await authorization.AuthorizeAsync(new(), context, unguarded!);
            Assert.False(anonymous.Succeeded, $"{method} without a token");
        }

        // And every mapped route is either explicit about its policy or falls back to that one.
        var sources = service.Services.GetRequiredService<EndpointDataSource>();
        foreach (var endpoint in sources.Endpoints.OfType<RouteEndpoint>())
        {
            var policy = await AuthorizationPolicy.CombineAsync(policies,
                endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>(), endpoint.Metadata.GetOrderedMetadata<AuthorizationPolicy>());
            var open = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            Assert.True(policy is not null || open, $"{endpoint.RoutePattern.RawText} has no policy");
            Assert.True(!open || endpoint.RoutePattern.RawText!.StartsWith("/v1/health", StringComparison.Ordinal) || Pattern(endpoint.RoutePattern) == TokenForm,
                $"{endpoint.RoutePattern.RawText} allows anonymous callers");
        }
    }

    private List<(string Method, string Pattern)> RoutedEndpoints()
    {
        _ = service.Client;
        var sources = service.Services.GetRequiredService<EndpointDataSource>();
        return [.. sources.Endpoints.OfType<RouteEndpoint>()
            .SelectMany(endpoint => (endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(method => (method, Pattern(endpoint.RoutePattern))))
            .Distinct()];
    }

    private static string Pattern(RoutePattern pattern)
    {
        var text = "/" + string.Join("/", pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternParameterPart parameter => "{" + parameter.Name + "}",
            _ => string.Empty,
        }))));
        return text.Length > 1 ? text.TrimEnd('/') : text;
    }
}

using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace HpcJobs.Api.Security;

/// <summary>
/// The authorization policies routes name with <c>RequireAuthorization(...)</c>. A route that names
/// none gets the fallback policy, so forgetting one closes a route instead of opening it.
/// </summary>
public static class AccessPolicies
{
    /// <summary>Read or write token.</summary>
    public const string Read = "read";

    /// <summary>Write token.</summary>
    public const string Write = "write";

    /// <summary>
    /// Write token, or a node token — for a route with a <c>{node}</c> parameter only when it is the
    /// token's node. Which jobs a node may post samples for is the ingest handler's check (it needs
    /// the job's nodes): see <see cref="CallerExtensions.ScopedNode"/>.
    /// </summary>
    public const string Ingest = "ingest";

    /// <summary><c>/metrics</c>: a read or write token, or open with <c>METRICS_AUTH=none</c>.</summary>
    public const string Metrics = "metrics";

    public static AuthorizationPolicy Policy(AccessRight right) =>
        new AuthorizationPolicyBuilder().AddRequirements(new AccessRequirement(right)).Build();
}

public enum AccessRight
{
    Read,
    Write,
    Ingest,
    Metrics,

    /// <summary>For routes that name no policy: GET and HEAD need a read token, anything else a write token; <c>/v1/health*</c> is open.</summary>
    Fallback,
}

public sealed record AccessRequirement(AccessRight Right) : IAuthorizationRequirement;

/// <summary>
/// Every policy in one place. With no token configured every requirement succeeds: the service is
/// open by default, and that is decided here rather than by leaving the middleware out.
/// </summary>
public sealed class AccessRequirementHandler(IOptions<AccessOptions> options) : AuthorizationHandler<AccessRequirement>
{
    private readonly AccessOptions _options = options.Value;

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, AccessRequirement requirement)
    {
        if (Allows(context.User, requirement.Right, context.Resource as HttpContext))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }

    private bool Allows(ClaimsPrincipal user, AccessRight right, HttpContext? http)
    {
        if (!_options.Enabled || (right == AccessRight.Metrics && !_options.MetricsNeedToken))
        {
            return true;
        }

        var canWrite = user.IsInRole(AccessRoles.Write);
        var canRead = canWrite || user.IsInRole(AccessRoles.Read);
        return right switch
        {
            AccessRight.Read or AccessRight.Metrics => canRead,
            AccessRight.Write => canWrite,
            AccessRight.Ingest => canWrite || (user.IsInRole(AccessRoles.Node) && IsOwnNode(user, http)),

            // Load balancers and orchestrators probe /v1/health/* without credentials, whoever maps them.
            AccessRight.Fallback when http is not null && http.Request.Path.StartsWithSegments("/v1/health") => true,
            AccessRight.Fallback when http is not null && (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method)) => canRead,
            _ => canWrite,
        };
    }

    private static bool IsOwnNode(ClaimsPrincipal user, HttpContext? http) =>
        http is not null && (http.GetRouteValue("node") is not string node || node == user.FindFirst(AccessRoles.NodeClaim)?.Value);
}

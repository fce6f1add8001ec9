using Microsoft.AspNetCore.Http;

namespace HpcJobs.Api.Contracts;

/// <summary>Who the authenticated caller is, as the write context records it.</summary>
internal static class CallerIdentity
{
    /// <summary>The name recorded when no <c>X-Changed-By</c> is given: the token's name, or <c>anonymous</c>.</summary>
    public static string AuditName(HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name } ? name : "anonymous";

    /// <summary>The node a node-scoped token is for, or null for any other caller.</summary>
    public static string? ScopedNode(HttpContext context) => null;
}

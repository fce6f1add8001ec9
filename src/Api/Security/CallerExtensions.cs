using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace HpcJobs.Api.Security;

/// <summary>Who made the request, for handlers that narrow a right further or record it in the audit.</summary>
public static class CallerExtensions
{
    public const string Anonymous = "anonymous";

    /// <summary>
    /// The node a node token acts for, or null for every other caller (write and read tokens, and
    /// anyone when no token is configured). An ingest handler that gets a node must accept only
    /// samples of jobs that list that node and whose <c>node</c> is that node or absent (absent then
    /// means that node), and answer 403 <c>forbidden</c> otherwise (see <c>ApiErrors.Forbidden</c>).
    /// </summary>
    public static string? ScopedNode(this HttpContext context) =>
        context.User.IsInRole(AccessRoles.Node) ? context.User.FindFirst(AccessRoles.NodeClaim)?.Value : null;

    /// <summary>
    /// The caller's name for the audit when the request has no <c>X-Changed-By</c>:
    /// <c>node:&lt;node&gt;</c> for a node token, <c>token:&lt;8 hex digits of its SHA-256&gt;</c> for a
    /// write or read token, <c>anonymous</c> when no token was needed or given. Never the token itself.
    /// </summary>
    public static string AuditName(this HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name } ? name : Anonymous;
}

using System.Text.Encodings.Web;
using HpcJobs.Api.Contracts;
using HpcJobs.Api.Errors;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HpcJobs.Api.Security;

/// <summary>
/// <c>Authorization: Bearer &lt;token&gt;</c> → a principal with the token's role and name. It decides
/// who the caller is, never what they may do (that is <see cref="AccessPolicies"/>), and it writes the
/// contract's error bodies for the 401 and 403 the authorization middleware asks for.
/// </summary>
public sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    BearerTokens tokens,
    IOptions<AccessOptions> access)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // With no token configured nobody is identified; the policies then let everyone through.
        // The pages' cookie stands in for the header on the pages only (see PageTokenCookie).
        if (!access.Value.Enabled || (BearerToken(Request) ?? PageTokenCookie.Read(Request)) is not { } token)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        return Task.FromResult(tokens.Identify(token, Scheme.Name) is { } identity
            ? AuthenticateResult.Success(new AuthenticationTicket(new(identity), Scheme.Name))
            : AuthenticateResult.Fail("the bearer token is not valid"));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = SchemeName;
        return ApiErrors.WriteAsync(Context, 401, ErrorCodes.Unauthorized, BearerToken(Request) is null
            ? "a bearer token is required (Authorization: Bearer <token>)"
            : "the bearer token is not valid");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        // A read token on a write route has been a 401 since the first release; clients rely on it.
        if (Context.User.IsInRole(AccessRoles.Read))
        {
            Response.Headers.WWWAuthenticate = SchemeName;
            return ApiErrors.WriteAsync(Context, 401, ErrorCodes.Unauthorized, "this token may only read; writing needs a write token");
        }

        return ApiErrors.WriteAsync(Context, 403, ErrorCodes.Forbidden,
            "a node token may only post samples for its node's jobs and heartbeats for its node");
    }

    private static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string prefix = "Bearer ";
        return header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && header.Length > prefix.Length
            ? header[prefix.Length..].Trim()
            : null;
    }
}

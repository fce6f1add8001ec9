using HpcJobs.Api.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace HpcJobs.Api.Pages;

/// <summary>Marks the page endpoints, whose refusals are the token form rather than a JSON 401.</summary>
internal sealed class JobPageEndpoint
{
    public static JobPageEndpoint Instance { get; } = new();
}

/// <summary>
/// The pages keep the routes' own policies (<see cref="AccessPolicies.Read"/>); only the answer to a
/// refused page request from a browser differs: the form that asks for a read token, status 401.
/// </summary>
internal sealed class PageAuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _api = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        // A caller that sent a bearer token is a program: it gets the API's answer (401 or 403 with the error body).
        if (authorizeResult.Succeeded || context.GetEndpoint()?.Metadata.GetMetadata<JobPageEndpoint>() is null
            || context.Request.Headers.Authorization.Count > 0)
        {
            return _api.HandleAsync(next, context, policy, authorizeResult);
        }

        var error = context.Request.Cookies.ContainsKey(PageTokenCookie.Name)
            ? "The saved token is not a valid read token (any more). Enter a read token."
            : null;
        return TokenForm.WriteAsync(context, ReturnPath(context.Request), error);
    }

    internal static string ReturnPath(HttpRequest request) => request.Path + request.QueryString;
}

/// <summary>The token form and its <c>POST /jobs/token</c>: a valid read or write token becomes the page cookie.</summary>
internal static class TokenForm
{
    public const string Path = "/jobs/token";

    public static Task WriteAsync(HttpContext context, string returnPath, string? error, int status = StatusCodes.Status401Unauthorized)
    {
        var page = PageLayout.Render("Sign in", html =>
        {
            using (html.Open("header"))
            {
                html.Leaf("h1", "HPC jobs");
            }

            using var main = html.Open("main");
            html.Leaf("p", "These pages need a read token (one of API_READ_TOKENS or API_WRITE_TOKENS). It is kept in a cookie for these pages only.");
            if (error is not null)
            {
                html.Leaf("p", error, ("class", "error"), ("role", "alert"));
            }

            using var form = html.Open("form", ("method", "post"), ("action", Path), ("class", "filters"));
            html.Empty("input", ("type", "hidden"), ("name", "return"), ("value", returnPath));
            using (html.Open("label"))
            {
                html.Text("token");
                html.Empty("input", ("type", "password"), ("name", "token"), ("autocomplete", "current-password"), ("required", "required"));
            }

            html.Leaf("button", "Continue", ("type", "submit"));
        });
        context.Response.StatusCode = status;
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync(page);
    }

    /// <summary>A read or write token: the cookie, then back to the page asked for. Anything else: the form again.</summary>
    public static async Task<IResult> SubmitAsync(HttpContext context, BearerTokens tokens, IOptions<AccessOptions> access)
    {
        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(context.RequestAborted) : null;
        var returnPath = LocalPageOrList(form?["return"].ToString());
        if (SameOriginForm.IsCrossSite(context.Request))
        {
            // Login CSRF: another site's page must not sign this browser in with a token of its choosing.
            await WriteAsync(context, returnPath, "Enter the token on the sign-in page of this service; a form sent from another site is refused.", StatusCodes.Status403Forbidden);
            return Results.Empty;
        }

        if (!access.Value.Enabled)
        {
            return SeeOther(context, returnPath);
        }

        var token = form?["token"].ToString().Trim();
        var identity = string.IsNullOrEmpty(token) ? null : tokens.Identify(token, PageTokenCookie.Name);
        if (identity is null || !(identity.HasClaim(identity.RoleClaimType, AccessRoles.Read) || identity.HasClaim(identity.RoleClaimType, AccessRoles.Write)))
        {
            await WriteAsync(context, returnPath, "That is not a read or write token of this service.");
            return Results.Empty;
        }

        context.Response.Cookies.Append(PageTokenCookie.Name, token!, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = context.Request.IsHttps,
            Path = PageTokenCookie.CookiePath,
            MaxAge = TimeSpan.FromDays(7),
        });
        context.Response.Headers.CacheControl = "no-store";
        return SeeOther(context, returnPath);
    }

    /// <summary>303: the browser follows with a GET, so a reload never re-posts the token.</summary>
    private static IResult SeeOther(HttpContext context, string location)
    {
        context.Response.Headers.Location = location;
        return Results.StatusCode(StatusCodes.Status303SeeOther);
    }

    /// <summary>Only a page of this service: never an absolute URL, a scheme-relative one or a path outside the pages.</summary>
    private static string LocalPageOrList(string? path) =>
        path is { Length: > 0 } p && (p == "/jobs" || p.StartsWith("/jobs/", StringComparison.Ordinal) || p.StartsWith("/jobs?", StringComparison.Ordinal))
            && !p.Contains('\\') && !p.Contains("//", StringComparison.Ordinal) && p.All(c => !char.IsControl(c)) && p != Path
            ? p
            : "/jobs";
}

/// <summary>
/// Whether a form post came from another site: the browser's <c>Sec-Fetch-Site</c> when it sends one
/// (every current browser does), else its <c>Origin</c> against the request's own host. A client that
/// sends neither is not a browser acting for someone else's page (curl, scripts), so it passes.
/// </summary>
internal static class SameOriginForm
{
    public static bool IsCrossSite(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0)
        {
            // "none" is the user's own navigation (typed or bookmarked), which a form post never is.
            return !string.Equals(site, "same-origin", StringComparison.OrdinalIgnoreCase);
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return false;
        }

        return !Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            || !string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }
}

using Microsoft.AspNetCore.Http;

namespace HpcJobs.Api.Security;

/// <summary>
/// The read token a browser keeps for the HTML pages (<c>/jobs</c>): HttpOnly, SameSite=Strict,
/// path <c>/jobs</c>. It is read only for GET and HEAD requests to those pages, so it never stands
/// for the caller on a <c>/v1</c> route and can never be used to write.
/// </summary>
public static class PageTokenCookie
{
    public const string Name = "hpc_jobs_token";
    public const string CookiePath = "/jobs";

    public static string? Read(HttpRequest request) =>
        (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
        && request.Path.StartsWithSegments(CookiePath)
        && request.Cookies.TryGetValue(Name, out var token) && token.Length > 0
            ? token
            : null;
}

using System.Diagnostics;
using HpcJobs.Api.Contracts;
using HpcJobs.Api.Errors;
using HpcJobs.Api.Json;
using HpcJobs.Api.Security;
using HpcJobs.Grains;
using HpcJobs.Grains.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace HpcJobs.Api.Pages;

/// <summary>
/// The efficiency report (<c>GET /v1/jobs/{id}/report</c>) and the HTML pages for people
/// (<c>GET /jobs</c>, <c>GET /jobs/{id}</c>): the same data as the API, read the same way (the job
/// from its grain, the history and audit from their tables), rendered on the server.
/// </summary>
public static class JobPages
{
    private const string Html = "text/html; charset=utf-8";

    // The pages carry no script at all; inline styles only, forms only to this service.
    private const string ContentSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    public static IServiceCollection AddJobPages(this IServiceCollection services) =>
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, PageAuthorizationResultHandler>();

    public static IEndpointRouteBuilder MapJobPages(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/jobs/{id}/report", GetReport).RequireAuthorization(AccessPolicies.Read);

        var pages = app.MapGroup("/jobs").ExcludeFromDescription();
        pages.MapGet("/", ListPage).RequireAuthorization(AccessPolicies.Read).WithMetadata(JobPageEndpoint.Instance);
        pages.MapGet("/{id}", JobPageAsync).RequireAuthorization(AccessPolicies.Read).WithMetadata(JobPageEndpoint.Instance);

        // The report once more under the pages, where a browser's cookie is accepted (it never is under /v1).
        pages.MapGet("/{id}/report", GetReport).RequireAuthorization(AccessPolicies.Read).WithMetadata(JobPageEndpoint.Instance);
        pages.MapPost("/token", TokenForm.SubmitAsync).AllowAnonymous().DisableAntiforgery();
        return app;
    }

    /// <summary>Plain text unless the caller prefers <c>application/json</c>.</summary>
    public static async Task<Results<ContentHttpResult, JsonHttpResult<JobReportResponse>, JsonHttpResult<ErrorResponse>>> GetReport(
        string id, HttpContext http, IGrainFactory grains, TimeProvider time)
    {
        if (JobId.Problem(id) is { } problem)
        {
            return ApiErrors.From(RequestError.Validation("id", problem));
        }

        var outcome = await grains.GetJob(id).GetAsync();
        if (outcome.Kind != OutcomeKind.Ok)
        {
            return ApiErrors.NotFound(outcome.Message!);
        }

        var report = JobReportResponse.From(JobResponse.From(outcome.Job!, time.GetUtcNow()));
        http.Response.Headers.Vary = HeaderNames.Accept;
        return PrefersJson(http.Request)
            ? TypedResults.Json(report, ApiJson.Wire.JobReportResponse)
            : TypedResults.Text(report.ToText(), "text/plain; charset=utf-8");
    }

    public static async Task<ContentHttpResult> ListPage(HttpContext http, IJobQueries index, TimeProvider time, CancellationToken cancellationToken)
    {
        Protect(http.Response);

        // An empty form field means "no filter", not the API's "must be 1 to 255 characters".
        var filters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in JobListPage.TextFilters.Prepend("flag").Prepend("state").Append("limit").Append("offset"))
        {
            if (http.Request.Query.TryGetValue(name, out var values) && values.Count > 0 && values.Any(v => !string.IsNullOrEmpty(v)))
            {
                filters[name] = values.Count == 1 ? values[0]! : string.Join(",", values.ToArray());
            }
        }

        var query = new Dictionary<string, StringValues>(filters.ToDictionary(f => f.Key, f => new StringValues(f.Value)));
        query.TryAdd("limit", JobListPage.PageSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (JobListQuery.Parse(new QueryCollection(query), out var error) is not { } parsed)
        {
            return TypedResults.Content(JobListPage.Render(new JobQuery(null, null, null, JobListPage.PageSize, 0), filters, null, error!.Message), Html, statusCode: 400);
        }

        var page = await index.ListAsync(parsed, cancellationToken);
        var now = time.GetUtcNow();
        var jobs = new JobListResponse([.. page.Jobs.Select(job => JobResponse.From(job, now))], page.Total, parsed.Limit, parsed.Offset);
        return TypedResults.Content(JobListPage.Render(parsed, filters, jobs, null), Html);
    }

    public static async Task<ContentHttpResult> JobPageAsync(
        string id, HttpContext http, IGrainFactory grains, IJobQueries index, ISampleHistory log, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        Protect(http.Response);
        if (JobId.Problem(id) is { } problem)
        {
            return TypedResults.Content(Message("Not a job id", "The job id " + problem + "."), Html, statusCode: 400);
        }

        var outcome = await grains.GetJob(id).GetAsync();
        if (outcome.Kind != OutcomeKind.Ok)
        {
            return TypedResults.Content(Message("Job not found", $"There is no job '{id}'."), Html, statusCode: 404);
        }

        var now = time.GetUtcNow();
        var job = JobResponse.From(outcome.Job!, now, withAttempts: true);

        // The history route's own cap: the newest 10,000 samples, drawn one point each.
        var samples = log.ReadRangeAsync(id, null, null, Limits.MaxHistoryLimit, cancellationToken);
        var audit = index.ReadAuditAsync(id, Limits.MaxListLimit, 0, cancellationToken);
        await Task.WhenAll(samples, audit);
        var read = Stopwatch.GetElapsedTime(started);
        var page = JobPage.Render(job, await samples, [.. (await audit).Entries.Select(AuditEntryResponse.From)], (await audit).Total, now);

        // Reads and rendering, as the server spent them (bench/Bench `page` reports them).
        var total = Stopwatch.GetElapsedTime(started);
        http.Response.Headers["Server-Timing"] = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"page;dur={total.TotalMilliseconds:0.0}, read;dur={read.TotalMilliseconds:0.0}, render;dur={(total - read).TotalMilliseconds:0.0}");
        return TypedResults.Content(page, Html);
    }

    private static string Message(string title, string text) =>
        PageLayout.Render(title, html =>
        {
            using (html.Open("header"))
            {
                html.Leaf("h1", title);
            }

            using var main = html.Open("main");
            html.Leaf("p", text);
            using var p = html.Open("p");
            html.Leaf("a", "all jobs", ("href", "/jobs"));
        });

    private static void Protect(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.CacheControl = "no-cache";
        response.Headers["Referrer-Policy"] = "same-origin";
    }

    private static bool PrefersJson(HttpRequest request)
    {
        var accept = request.GetTypedHeaders().Accept;
        foreach (var media in accept.OrderByDescending(m => m.Quality ?? 1))
        {
            if (media.Quality == 0)
            {
                continue;
            }

            if (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            if (media.MediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase)
                || media.MediaType.Equals("text/*", StringComparison.OrdinalIgnoreCase)
                || media.MediaType.Equals("*/*", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return false;
    }
}

using System.Globalization;
using HpcJobs.Api.Contracts;
using HpcJobs.Grains;
using HpcJobs.Grains.Storage;
using Microsoft.AspNetCore.Http;

namespace HpcJobs.Api.Pages;

/// <summary><c>GET /jobs</c>: the job list with the API's filters, a page at a time, each job linking to its page.</summary>
internal static class JobListPage
{
    public const int PageSize = 50;

    /// <summary>The filters the form offers, in its order (the same names as <c>GET /v1/jobs</c>).</summary>
    public static readonly string[] TextFilters = ["user", "account", "partition", "node", "cluster"];

    public static string Render(JobQuery query, IReadOnlyDictionary<string, string> filters, JobListResponse? page, string? error)
    {
        return PageLayout.Render("Jobs", html =>
        {
            using (html.Open("header"))
            {
                html.Leaf("h1", "Jobs");
                html.Leaf("p", page is null ? null : Invariant($"{page.Total} matching"));
            }

            using (html.Open("main"))
            {
                Form(html, filters);
                if (error is not null)
                {
                    html.Leaf("p", error, ("class", "error"), ("role", "alert"));
                }

                if (page is not null)
                {
                    Table(html, page);
                    Pager(html, query, filters, page);
                }
            }
        });
    }

    private static void Form(HtmlWriter html, IReadOnlyDictionary<string, string> filters)
    {
        using var form = html.Open("form", ("class", "filters"), ("method", "get"), ("action", "/jobs"));
        Choice(html, filters, "state", ["pending", "running", "completed", "failed", "cancelled"]);
        Choice(html, filters, "flag", JobFlags.All);

        foreach (var name in TextFilters)
        {
            using var label = html.Open("label");
            html.Text(name);
            html.Empty("input", ("type", "text"), ("name", name), ("value", filters.GetValueOrDefault(name)), ("maxlength", "255"));
        }

        html.Leaf("button", "Filter", ("type", "submit"));
        html.Leaf("a", "clear", ("href", "/jobs"));
    }

    private static void Choice(HtmlWriter html, IReadOnlyDictionary<string, string> filters, string name, IReadOnlyList<string> values)
    {
        using var label = html.Open("label");
        html.Text(name);
        using var select = html.Open("select", ("name", name));
        filters.TryGetValue(name, out var current);
        html.Leaf("option", "any", ("value", string.Empty));
        foreach (var value in values)
        {
            html.Leaf("option", value, ("value", value), ("selected", value == current ? "selected" : null));
        }
    }

    private static void Table(HtmlWriter html, JobListResponse page)
    {
        if (page.Jobs.Count == 0)
        {
            html.Leaf("p", "No job matches.", ("class", "muted"));
            return;
        }

        using var scroll = html.Open("div", ("class", "scroll"));
        using var table = html.Open("table", ("class", "jobs"));
        JobPage.Head(html, "Job", "User", "State", "Account", "Partition", "Nodes", "Start", "Runtime", "CPU avg", "Flags");
        using var body = html.Open("tbody");
        foreach (var job in page.Jobs)
        {
            var report = JobReportResponse.From(job);
            using var row = html.Open("tr", ("data-job", job.Id));
            using (html.Open("td", ("class", "id")))
            {
                html.Leaf("a", job.Id, ("href", "/jobs/" + Uri.EscapeDataString(job.Id)));
            }

            html.Leaf("td", job.User);
            html.Leaf("td", job.State);
            html.Leaf("td", report.Account ?? "-");
            html.Leaf("td", report.Partition ?? "-");
            html.Leaf("td", job.Nodes.Count <= 3 ? string.Join(", ", job.Nodes) : Invariant($"{job.Nodes[0]}, … ({job.Nodes.Count} nodes)"));
            html.Leaf("td", JobPage.Stamp(job.StartTime));
            html.Leaf("td", JobReportResponse.Duration(job.RuntimeSeconds));
            html.Leaf("td", job.AvgCpuUsage is { } cpu ? Invariant($"{cpu:0.0} %") : "-");
            html.Leaf("td", job.Flags.Count == 0 ? "-" : string.Join(", ", job.Flags));
        }
    }

    private static void Pager(HtmlWriter html, JobQuery query, IReadOnlyDictionary<string, string> filters, JobListResponse page)
    {
        using var nav = html.Open("nav", ("class", "pages"), ("aria-label", "pages"));
        var first = page.Jobs.Count == 0 ? 0 : query.Offset + 1;
        html.Leaf("span", Invariant($"jobs {first}–{query.Offset + page.Jobs.Count} of {page.Total}"));
        if (query.Offset > 0)
        {
            html.Leaf("a", "previous", ("href", Link(filters, query.Limit, Math.Max(0, query.Offset - query.Limit))), ("rel", "prev"));
        }

        if (query.Offset + page.Jobs.Count < page.Total)
        {
            html.Leaf("a", "next", ("href", Link(filters, query.Limit, query.Offset + query.Limit)), ("rel", "next"));
        }
    }

    private static string Link(IReadOnlyDictionary<string, string> filters, int limit, long offset)
    {
        var parameters = filters.Where(f => f.Key is not ("limit" or "offset"))
            .Select(f => new KeyValuePair<string, string?>(f.Key, f.Value))
            .Append(new("limit", limit.ToString(CultureInfo.InvariantCulture)))
            .Append(new("offset", offset.ToString(CultureInfo.InvariantCulture)));
        return "/jobs" + QueryString.Create(parameters).ToUriComponent();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

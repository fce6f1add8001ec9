namespace HpcJobs.Api.Pages;

/// <summary>The frame of every page: doctype, viewport, the inline stylesheet, a header.</summary>
internal static class PageLayout
{
    private static readonly TrustedMarkup Doctype = new("<!DOCTYPE html>\n");

    // Inline and system fonts only: the pages must work on an intranet with no internet.
    private static readonly TrustedMarkup Style = new("""
        <style>
        :root{color-scheme:light dark;--fg:#1f2328;--bg:#fff;--muted:#59636e;--line:#d1d9e0;--head:#f6f8fa;--link:#0b5cd5;--warn:#9a3b00;--warn-bg:#fff1e5}
        @media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;--line:#3d444d;--head:#151b23;--link:#4493f8;--warn:#ffb77c;--warn-bg:#2d1a0a}}
        *{box-sizing:border-box}
        html{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
        @media (min-width:1800px){html{font-size:20px}}
        body{margin:0 auto;padding:.75rem;max-width:110rem;color:var(--fg);background:var(--bg)}
        a{color:var(--link)}
        header{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:baseline;border-bottom:1px solid var(--line);margin-bottom:1rem}
        header p{margin:.25rem 0;color:var(--muted)}
        h1{font-size:1.4rem;margin:.25rem 0;overflow-wrap:anywhere}
        h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
        .scroll{overflow-x:auto}
        table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
        th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
        thead th{background:var(--head)}
        table.summary{width:auto;max-width:100%}
        table.summary th{white-space:nowrap;color:var(--muted);font-weight:600}
        td.id{overflow-wrap:break-word}
        ul.flags{list-style:none;padding:0}
        ul.flags li{border-left:.3rem solid var(--warn);background:var(--warn-bg);padding:.4rem .6rem;margin:.4rem 0}
        .flag{font-family:ui-monospace,monospace;font-weight:600;color:var(--warn)}
        .muted{color:var(--muted)}
        .error{color:var(--warn);font-weight:600}
        form.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin-bottom:1rem}
        form label{display:flex;flex-direction:column;font-size:.9rem;color:var(--muted)}
        input,select,button{font:inherit;padding:.3rem .4rem;min-width:8rem}
        nav.pages{display:flex;gap:1rem;margin:1rem 0}
        .plots{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,32rem),1fr))}
        figure{margin:0;border:1px solid var(--line);padding:.5rem}
        figcaption{font-weight:600}
        svg.plot{width:100%;height:auto;display:block}
        svg.plot text{font-size:11px;fill:var(--muted)}
        svg.plot .axis{stroke:var(--line);stroke-width:1}
        svg.plot .series{fill:none;stroke-width:1.5;stroke-linejoin:round}
        svg.plot .allocation{stroke:var(--warn);stroke-width:1.5;stroke-dasharray:6 4}
        svg.plot line.marker{stroke:var(--muted);stroke-width:1;stroke-dasharray:2 3}
        ul.legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;padding:0;margin:.25rem 0 0;font-size:.9rem}
        .swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
        .c0{stroke:#1f77b4;background:#1f77b4}.c1{stroke:#d62728;background:#d62728}.c2{stroke:#2ca02c;background:#2ca02c}.c3{stroke:#9467bd;background:#9467bd}
        .c4{stroke:#ff7f0e;background:#ff7f0e}.c5{stroke:#17becf;background:#17becf}.c6{stroke:#8c564b;background:#8c564b}.c7{stroke:#e377c2;background:#e377c2}
        .dash{stroke:var(--warn);background:var(--warn)}
        </style>
        """);

    /// <summary>Writes the page around <paramref name="body"/>; returns the whole document.</summary>
    public static string Render(string title, Action<HtmlWriter> body, int capacity = 16 * 1024)
    {
        var html = new HtmlWriter(capacity);
        html.Constant(Doctype);
        using (html.Open("html", ("lang", "en")))
        {
            using (html.Open("head"))
            {
                html.Empty("meta", ("charset", "utf-8"));
                html.Empty("meta", ("name", "viewport"), ("content", "width=device-width, initial-scale=1"));
                html.Leaf("title", title + " · HPC jobs");
                html.Constant(Style);
            }

            using (html.Open("body"))
            {
                body(html);
            }
        }

        return html.ToString();
    }
}

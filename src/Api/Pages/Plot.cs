using System.Globalization;
using System.Text;

namespace HpcJobs.Api.Pages;

/// <summary>One line of a plot: a node's values over time (or the whole job's, for samples without a node).</summary>
internal sealed record PlotSeries(string Name, List<(DateTimeOffset At, double Value)> Points, int? Attempt = null)
{
    /// <summary>The legend's name: the node, and for a requeued job the attempt too.</summary>
    public string Label => Attempt is { } attempt ? string.Create(CultureInfo.InvariantCulture, $"{Name}, attempt {attempt}") : Name;
}

/// <summary>
/// A time plot as inline SVG: one polyline per series with one point per sample (never thinned, so
/// what is drawn is what was measured), an optional horizontal limit line, and an HTML legend.
/// </summary>
internal static class Plot
{
    private const double Width = 800;
    private const double Height = 220;
    private const double Left = 76;
    private const double Right = 10;
    private const double Top = 10;
    private const double Bottom = 24;

    public static void Write(
        HtmlWriter html, string id, string title, string unit, IReadOnlyList<PlotSeries> series,
        DateTimeOffset from, DateTimeOffset to, double yMax, (double Value, string Label)? limit = null,
        IReadOnlyList<(DateTimeOffset At, string Label)>? markers = null)
    {
        using var figure = html.Open("figure", ("id", id));
        html.Leaf("figcaption", title);
        if (series.All(s => s.Points.Count == 0))
        {
            html.Leaf("p", "no samples", ("class", "muted"));
            return;
        }

        if (to <= from)
        {
            to = from.AddSeconds(1);
        }

        yMax = Math.Max(yMax, limit?.Value ?? 0);
        yMax = yMax > 0 ? yMax : 1;
        var span = (to - from).TotalSeconds;
        double X(DateTimeOffset at) => Left + (Math.Clamp((at - from).TotalSeconds, 0, span) / span * (Width - Left - Right));
        double Y(double value) => Top + ((1 - Math.Clamp(value / yMax, 0, 1)) * (Height - Top - Bottom));

        using (html.Open("svg", ("class", "plot"), ("viewBox", Invariant($"0 0 {Width} {Height}")), ("role", "img"), ("aria-label", title)))
        {
            html.Leaf("title", title);
            foreach (var fraction in new[] { 0, 0.5, 1 })
            {
                var y = Y(yMax * fraction);
                html.Empty("line", ("class", "axis"), ("x1", Number(Left)), ("x2", Number(Width - Right)), ("y1", Number(y)), ("y2", Number(y)));
                html.Leaf("text", Invariant($"{yMax * fraction:0.#} {unit}"), ("x", Number(Left - 4)), ("y", Number(y + 4)), ("text-anchor", "end"));
            }

            html.Leaf("text", Stamp(from), ("x", Number(Left)), ("y", Number(Height - 6)));
            html.Leaf("text", Stamp(to), ("x", Number(Width - Right)), ("y", Number(Height - 6)), ("text-anchor", "end"));

            if (limit is { } line)
            {
                var y = Y(line.Value);
                html.Empty("line", ("class", "allocation"), ("x1", Number(Left)), ("x2", Number(Width - Right)), ("y1", Number(y)), ("y2", Number(y)));
            }

            foreach (var (at, label) in markers ?? [])
            {
                var x = X(at);
                html.Empty("line", ("class", "marker"), ("x1", Number(x)), ("x2", Number(x)), ("y1", Number(Top)), ("y2", Number(Height - Bottom)));
                html.Leaf("text", label, ("class", "marker"), ("x", Number(x + 3)), ("y", Number(Top + 10)));
            }

            var points = new StringBuilder();
            for (var i = 0; i < series.Count; i++)
            {
                points.Clear();
                foreach (var (at, value) in series[i].Points)
                {
                    if (points.Length > 0)
                    {
                        points.Append(' ');
                    }

                    Tenths(points, X(at)).Append(',');
                    Tenths(points, Y(value));
                }

                if (series[i].Attempt is { } attempt)
                {
                    html.Empty("polyline", ("class", "series " + Colour(i)), ("data-node", series[i].Name),
                        ("data-attempt", attempt.ToString(CultureInfo.InvariantCulture)), ("points", points.ToString()));
                }
                else
                {
                    html.Empty("polyline", ("class", "series " + Colour(i)), ("data-node", series[i].Name), ("points", points.ToString()));
                }
            }
        }

        using (html.Open("ul", ("class", "legend")))
        {
            for (var i = 0; i < series.Count; i++)
            {
                using (html.Open("li"))
                {
                    html.Leaf("span", null, ("class", "swatch " + Colour(i)));
                    html.Text(Invariant($"{series[i].Label} ({series[i].Points.Count} {(series[i].Points.Count == 1 ? "sample" : "samples")})"));
                }
            }

            if (limit is { } allocated)
            {
                using (html.Open("li"))
                {
                    html.Leaf("span", null, ("class", "swatch dash"));
                    html.Text(allocated.Label);
                }
            }
        }
    }

    /// <summary>A coordinate to a tenth, without a string per number: 10,000 samples are 60,000 of them.</summary>
    private static StringBuilder Tenths(StringBuilder text, double value)
    {
        var tenths = (long)Math.Round(value * 10);
        text.Append(tenths / 10);
        return tenths % 10 == 0 ? text : text.Append('.').Append((char)('0' + (tenths % 10)));
    }

    private static string Colour(int index) => "c" + (index % 8).ToString(CultureInfo.InvariantCulture);

    private static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    private static string Number(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

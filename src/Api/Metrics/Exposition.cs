using System.Globalization;
using System.Text;

namespace HpcJobs.Api.Metrics;

/// <summary>Prometheus text format 0.0.4, written by hand for the families whose series follow the jobs.</summary>
internal sealed class Exposition(StringBuilder text)
{
    public void Family(string name, string type, string help)
    {
        text.Append("# HELP ").Append(name).Append(' ');
        foreach (var c in help)
        {
            _ = c switch
            {
                '\\' => text.Append(@"\\"),
                '\n' => text.Append(@"\n"),
                _ => text.Append(c),
            };
        }

        text.Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    /// <summary>One series: <paramref name="labels"/> comes from <see cref="Labels"/> (or is empty).</summary>
    public void Line(string name, string labels, double value)
    {
        Span<char> number = stackalloc char[32];
        value.TryFormat(number, out var length, "R", CultureInfo.InvariantCulture);
        text.Append(name).Append(labels).Append(' ').Append(number[..length]).Append('\n');
    }

    /// <summary>A label set, escaped once and reused by every family of the same series.</summary>
    public static string Labels(params ReadOnlySpan<(string Name, string Value)> labels)
    {
        var builder = new StringBuilder("{");
        foreach (var (name, value) in labels)
        {
            if (builder.Length > 1)
            {
                builder.Append(',');
            }

            builder.Append(name).Append("=\"");
            foreach (var c in value)
            {
                _ = c switch
                {
                    '\\' => builder.Append(@"\\"),
                    '"' => builder.Append("\\\""),
                    '\n' => builder.Append(@"\n"),
                    _ => builder.Append(c),
                };
            }

            builder.Append('"');
        }

        return builder.Append('}').ToString();
    }
}

using System.Globalization;
using System.Text;

namespace HpcJobs.Tests.Support;

/// <summary>One sample line of a scrape, label values unescaped.</summary>
public sealed record MetricSeries(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string Label(string name) => Labels.TryGetValue(name, out var value) ? value : throw new KeyNotFoundException($"{this} has no label '{name}'");

    public override string ToString() =>
        Name + "{" + string.Join(",", Labels.Select(l => $"{l.Key}=\"{l.Value.Replace("\n", "\\n", StringComparison.Ordinal)}\"")) + "} "
        + Value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>
/// A strict reader of the Prometheus text format 0.0.4: what Prometheus itself would refuse
/// (bad escapes, a family split in two, a TYPE after its samples, the same series twice) is a
/// <see cref="FormatException"/> naming the line, so a test never asserts on a half-understood scrape.
/// </summary>
public sealed class MetricsExposition
{
    private static readonly HashSet<string> _types = ["counter", "gauge", "histogram", "summary", "untyped"];

    private MetricsExposition(string text, List<MetricSeries> series, Dictionary<string, string> types, Dictionary<string, string> help)
    {
        Text = text;
        Series = series;
        Types = types;
        Help = help;
    }

    public string Text { get; }

    public IReadOnlyList<MetricSeries> Series { get; }

    /// <summary>The # TYPE of each family.</summary>
    public IReadOnlyDictionary<string, string> Types { get; }

    public IReadOnlyDictionary<string, string> Help { get; }

    public IEnumerable<MetricSeries> Named(string name) => Series.Where(s => s.Name == name);

    /// <summary>The series of <paramref name="name"/> whose <paramref name="label"/> is <paramref name="value"/>.</summary>
    public IReadOnlyList<MetricSeries> Where(string name, string label, string value) =>
        [.. Series.Where(s => s.Name == name && s.Labels.TryGetValue(label, out var v) && v == value)];

    public IReadOnlyList<MetricSeries> ForJob(string name, string jobId) => Where(name, "job_id", jobId);

    /// <summary>Every per-job series (any hpc_job_* family with a job_id label) of the job.</summary>
    public IReadOnlyList<MetricSeries> AllForJob(string jobId) =>
        [.. Series.Where(s => s.Name.StartsWith("hpc_", StringComparison.Ordinal) && s.Labels.TryGetValue("job_id", out var v) && v == jobId)];

    /// <summary>The value of the one series of <paramref name="name"/> with <paramref name="label"/> = <paramref name="value"/>, or null when there is none.</summary>
    public double? Single(string name, string label, string value)
    {
        var found = Where(name, label, value);
        return found.Count switch
        {
            0 => null,
            1 => found[0].Value,
            _ => throw new InvalidOperationException($"{found.Count} series of {name} with {label}=\"{value}\": {string.Join("; ", found)}"),
        };
    }

    /// <summary>The value of an unlabelled series, or null when absent.</summary>
    public double? Single(string name)
    {
        var found = Named(name).ToList();
        return found.Count switch
        {
            0 => null,
            1 when found[0].Labels.Count == 0 => found[0].Value,
            _ => throw new InvalidOperationException($"expected one unlabelled series of {name}: {string.Join("; ", found)}"),
        };
    }

    /// <summary>Per state, the value of <paramref name="name"/> (hpc_job_state_total or hpc_jobs).</summary>
    public IReadOnlyDictionary<string, double> ByState(string name) =>
        Named(name).ToDictionary(s => s.Label("state"), s => s.Value, StringComparer.Ordinal);

    public static MetricsExposition Parse(string text)
    {
        if (text.Length > 0 && !text.EndsWith('\n'))
        {
            throw new FormatException("the exposition does not end with a line feed");
        }

        var series = new List<MetricSeries>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var help = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var closedFamilies = new HashSet<string>(StringComparer.Ordinal);
        string? currentFamily = null;
        var lines = text.Split('\n');
        for (var number = 1; number < lines.Length; number++)
        {
            var line = lines[number - 1];
            try
            {
                if (line.Length == 0)
                {
                    continue;
                }

                if (line[0] == '#')
                {
                    var parts = line.Split(' ', 4);
                    if (parts.Length >= 3 && parts[0] == "#" && parts[1] is "TYPE" or "HELP")
                    {
                        var family = parts[2];
                        CheckMetricName(family);
                        var rest = parts.Length == 4 ? parts[3] : string.Empty;
                        if (parts[1] == "TYPE")
                        {
                            if (!_types.Contains(rest))
                            {
                                throw new FormatException($"unknown type '{rest}'");
                            }

                            if (!types.TryAdd(family, rest))
                            {
                                throw new FormatException($"second TYPE for {family}");
                            }

                            if (closedFamilies.Contains(family) || currentFamily == family)
                            {
                                throw new FormatException($"TYPE for {family} after its samples");
                            }
                        }
                        else if (!help.TryAdd(family, UnescapeHelp(rest)))
                        {
                            throw new FormatException($"second HELP for {family}");
                        }
                    }

                    continue;
                }

                var sample = ParseSample(line);
                var familyName = FamilyOf(sample.Name, types);
                if (familyName != currentFamily)
                {
                    if (closedFamilies.Contains(familyName))
                    {
                        throw new FormatException($"the samples of {familyName} are not one group");
                    }

                    if (currentFamily is not null)
                    {
                        closedFamilies.Add(currentFamily);
                    }

                    currentFamily = familyName;
                }

                var key = sample.Name + "{" + string.Join(",", sample.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + Escape(l.Value))) + "}";
                if (!seen.Add(key))
                {
                    throw new FormatException($"duplicate series {key}");
                }

                series.Add(sample);
            }
            catch (FormatException e)
            {
                throw new FormatException($"line {number}: {e.Message}: {line}", e);
            }
        }

        return new MetricsExposition(text, series, types, help);
    }

    /// <summary>A label value as the text format writes it.</summary>
    public static string Escape(string value) =>
        "\"" + value.Replace("\\", @"\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", @"\n", StringComparison.Ordinal) + "\"";

    private static string FamilyOf(string name, Dictionary<string, string> types)
    {
        foreach (var suffix in new[] { "_bucket", "_sum", "_count", "_created" })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal)
                && types.TryGetValue(name[..^suffix.Length], out var type)
                && type is "histogram" or "summary")
            {
                return name[..^suffix.Length];
            }
        }

        return name;
    }

    private static MetricSeries ParseSample(string line)
    {
        var i = 0;
        var name = ReadName(line, ref i, metric: true);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                if (i >= line.Length)
                {
                    throw new FormatException("unterminated label set");
                }

                if (line[i] == '}')
                {
                    i++;
                    break;
                }

                var label = ReadName(line, ref i, metric: false);
                Expect(line, ref i, '=');
                Expect(line, ref i, '"');
                var value = new StringBuilder();
                while (true)
                {
                    if (i >= line.Length)
                    {
                        throw new FormatException($"unterminated value of label {label}");
                    }

                    var c = line[i++];
                    if (c == '"')
                    {
                        break;
                    }

                    if (c == '\\')
                    {
                        if (i >= line.Length)
                        {
                            throw new FormatException("backslash at the end of the line");
                        }

                        value.Append(line[i++] switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            var other => throw new FormatException($"invalid escape \\{other} in label {label}"),
                        });
                        continue;
                    }

                    value.Append(c);
                }

                if (!labels.TryAdd(label, value.ToString()))
                {
                    throw new FormatException($"label {label} given twice");
                }

                if (i < line.Length && line[i] == ',')
                {
                    i++;
                }
                else if (i < line.Length && line[i] != '}')
                {
                    throw new FormatException($"expected ',' or '}}' at column {i + 1}");
                }
            }
        }

        Expect(line, ref i, ' ');
        var fields = line[i..].Split(' ');
        if (fields.Length is 0 or > 2 || fields[0].Length == 0)
        {
            throw new FormatException("expected a value and an optional timestamp");
        }

        if (fields.Length == 2 && !long.TryParse(fields[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
        {
            throw new FormatException($"invalid timestamp '{fields[1]}'");
        }

        return new MetricSeries(name, labels, ParseValue(fields[0]));
    }

    private static double ParseValue(string text) => text switch
    {
        "NaN" => double.NaN,
        "+Inf" or "Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new FormatException($"invalid value '{text}'"),
    };

    private static string ReadName(string line, ref int i, bool metric)
    {
        var start = i;
        while (i < line.Length && (char.IsAsciiLetter(line[i]) || line[i] == '_' || (metric && line[i] == ':') || (i > start && char.IsAsciiDigit(line[i]))))
        {
            i++;
        }

        return i > start ? line[start..i] : throw new FormatException($"expected a {(metric ? "metric" : "label")} name at column {start + 1}");
    }

    private static void CheckMetricName(string name)
    {
        var i = 0;
        if (ReadName(name, ref i, metric: true) != name)
        {
            throw new FormatException($"invalid metric name '{name}'");
        }
    }

    private static void Expect(string line, ref int i, char expected)
    {
        if (i >= line.Length || line[i] != expected)
        {
            throw new FormatException($"expected '{expected}' at column {i + 1}");
        }

        i++;
    }

    private static string UnescapeHelp(string text)
    {
        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] is '\\' or 'n')
            {
                builder.Append(text[++i] == 'n' ? '\n' : '\\');
            }
            else
            {
                builder.Append(text[i]);
            }
        }

        return builder.ToString();
    }
}

using System.Globalization;

namespace HpcJobs.Api.Events;

/// <summary>
/// Expands a Slurm hostlist expression (<c>gpu[01-04,07],login[1-2]</c>) into host names, with the
/// semantics of Slurm's <c>hostlist_create</c> / <c>scontrol show hostnames</c> (src/common/hostlist.c):
/// <list type="bullet">
/// <item>hosts are separated by commas, spaces, tabs or line breaks outside brackets;</item>
/// <item>a bracket holds comma-separated numbers and <c>lo-hi</c> ranges; every number is printed at
/// least as wide as the range's lower bound as written (<c>n[08-11]</c> → n08 … n11, <c>n[8-11]</c> →
/// n8 … n11, <c>n[1-010]</c> → n1 … n10);</item>
/// <item>several bracket groups in one name form their product, leftmost group outermost
/// (<c>r[1-2]n[01-02]</c> → r1n01 r1n02 r2n01 r2n02), and text may follow a bracket (<c>n[1-2]-ib</c>).</item>
/// </list>
/// Stricter than Slurm, because an event body is not a place to guess: duplicate hosts are dropped
/// (first occurrence kept — a job's node set cannot hold a node twice, and a duplicate would count
/// twice in per-node aggregation; <c>scontrol show hostnames</c> would print it twice); an empty name
/// (<c>a,,b</c>, a trailing comma) is an error where Slurm skips it; a reversed range, an empty bracket,
/// a non-digit inside a bracket, an unbalanced or nested bracket are errors as in Slurm. The size
/// bound is checked on the counts before any name is built, so <c>n[0-999999999]</c> costs nothing.
/// Error positions are 1-based character positions in the expression.
/// </summary>
public static class SlurmHostlist
{
    /// <summary>The bound the event routes use unless configured otherwise.</summary>
    public const int DefaultMaxHosts = 10_000;

    /// <summary>The longest host name a job may list (the contract's node name limit).</summary>
    public const int MaxHostNameLength = 255;

    public static bool TryExpand(string expression, int maxHosts, out IReadOnlyList<string> hosts, out string? error)
    {
        ArgumentNullException.ThrowIfNull(expression);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxHosts);
        hosts = [];
        if (!TryTokenize(expression, out var tokens, out error))
        {
            return false;
        }

        var parsed = new List<Pattern>(tokens.Count);
        long total = 0;
        foreach (var token in tokens)
        {
            if (!TryParse(expression, token, out var pattern, out error))
            {
                return false;
            }

            total += pattern.Count(maxHosts - total);
            if (total > maxHosts)
            {
                error = $"hostlist expands to more than {maxHosts} hosts";
                return false;
            }

            parsed.Add(pattern);
        }

        var names = new List<string>((int)total);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pattern in parsed)
        {
            foreach (var name in pattern.Expand())
            {
                if (name.Length > MaxHostNameLength)
                {
                    error = $"host name longer than {MaxHostNameLength} characters at position {pattern.Start + 1}";
                    return false;
                }

                if (seen.Add(name))
                {
                    names.Add(name);
                }
            }
        }

        hosts = names;
        return true;
    }

    /// <summary>Splits on commas and whitespace outside brackets; reports bracket balance and empty names.</summary>
    private static bool TryTokenize(string text, out List<(int Start, int Length)> tokens, out string? error)
    {
        tokens = [];
        error = null;
        var start = -1;
        var open = -1;
        var lastComma = -1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (open >= 0)
            {
                if (c == '[')
                {
                    error = $"nested '[' at position {i + 1}";
                    return false;
                }

                if (c == ']')
                {
                    open = -1;
                }

                continue;
            }

            if (c == '[')
            {
                open = i;
                start = start < 0 ? i : start;
                continue;
            }

            if (c == ']')
            {
                error = $"']' without '[' at position {i + 1}";
                return false;
            }

            if (c is ',' or ' ' or '\t' or '\n' or '\r')
            {
                if (start >= 0)
                {
                    tokens.Add((start, i - start));
                    start = -1;
                    lastComma = -1;
                }

                if (c == ',')
                {
                    if (lastComma >= 0 || tokens.Count == 0)
                    {
                        error = $"empty host name at position {i + 1}";
                        return false;
                    }

                    lastComma = i;
                }

                continue;
            }

            if (char.IsControl(c))
            {
                error = $"control character at position {i + 1}";
                return false;
            }

            start = start < 0 ? i : start;
        }

        if (open >= 0)
        {
            error = $"'[' at position {open + 1} is not closed";
            return false;
        }

        if (start >= 0)
        {
            tokens.Add((start, text.Length - start));
        }
        else if (lastComma >= 0)
        {
            error = $"empty host name after the comma at position {lastComma + 1}";
            return false;
        }

        if (tokens.Count == 0)
        {
            error = "empty hostlist";
            return false;
        }

        return true;
    }

    /// <summary>One token: literal parts and bracket groups alternating (brackets already balanced).</summary>
    private static bool TryParse(string text, (int Start, int Length) token, out Pattern pattern, out string? error)
    {
        var parts = new List<Part>();
        var end = token.Start + token.Length;
        var i = token.Start;
        while (i < end)
        {
            var open = text.IndexOf('[', i, end - i);
            if (open < 0)
            {
                parts.Add(Part.Literal(text[i..end]));
                break;
            }

            if (open > i)
            {
                parts.Add(Part.Literal(text[i..open]));
            }

            var close = text.IndexOf(']', open, end - open);
            if (!TryParseGroup(text, open + 1, close, out var ranges, out error))
            {
                pattern = default;
                return false;
            }

            parts.Add(Part.Group(ranges));
            i = close + 1;
        }

        pattern = new Pattern(token.Start, parts);
        error = null;
        return true;
    }

    private static bool TryParseGroup(string text, int from, int to, out List<NumberRange> ranges, out string? error)
    {
        ranges = [];
        var itemStart = from;
        for (var i = from; i <= to; i++)
        {
            if (i < to && text[i] != ',')
            {
                continue;
            }

            if (!TryParseRange(text, itemStart, i, out var range, out error))
            {
                return false;
            }

            ranges.Add(range);
            itemStart = i + 1;
        }

        error = null;
        return true;
    }

    /// <summary><c>7</c> or <c>01-04</c>, optionally surrounded by spaces (Slurm's strtoul allows them).</summary>
    private static bool TryParseRange(string text, int from, int to, out NumberRange range, out string? error)
    {
        range = default;
        while (from < to && text[from] == ' ')
        {
            from++;
        }

        while (to > from && text[to - 1] == ' ')
        {
            to--;
        }

        if (from == to)
        {
            error = $"empty range at position {from + 1}";
            return false;
        }

        var dash = text.IndexOf('-', from, to - from);
        var loEnd = dash < 0 ? to : dash;
        if (!TryParseNumber(text, from, loEnd, out var lo, out error))
        {
            return false;
        }

        var hi = lo;
        if (dash >= 0 && !TryParseNumber(text, dash + 1, to, out hi, out error))
        {
            return false;
        }

        if (hi < lo)
        {
            error = $"reversed range {text[from..to]} at position {from + 1}";
            return false;
        }

        range = new NumberRange(lo, hi, loEnd - from);
        return true;
    }

    private static bool TryParseNumber(string text, int from, int to, out long value, out string? error)
    {
        value = 0;
        if (from == to)
        {
            error = $"missing number at position {from + 1}";
            return false;
        }

        for (var i = from; i < to; i++)
        {
            if (!char.IsAsciiDigit(text[i]))
            {
                error = $"'{text[i]}' is not a digit at position {i + 1}";
                return false;
            }
        }

        // 18 digits always fit in a long; more is never a host index.
        if (to - from > 18 || !long.TryParse(text.AsSpan(from, to - from), NumberStyles.None, CultureInfo.InvariantCulture, out value))
        {
            error = $"number too large at position {from + 1}";
            return false;
        }

        error = null;
        return true;
    }

    private readonly record struct NumberRange(long Lo, long Hi, int Width)
    {
        public long Count => Hi - Lo + 1;
    }

    private sealed record Part(string? Text, List<NumberRange>? Ranges)
    {
        public static Part Literal(string text) => new(text, null);

        public static Part Group(List<NumberRange> ranges) => new(null, ranges);

        /// <summary>Number of values, or more than <paramref name="limit"/> as soon as it is exceeded.</summary>
        public long Count(long limit)
        {
            if (Ranges is null)
            {
                return 1;
            }

            long count = 0;
            foreach (var range in Ranges)
            {
                count += range.Count;
                if (count > limit)
                {
                    return count;
                }
            }

            return count;
        }

        public IEnumerable<string> Values()
        {
            if (Ranges is null)
            {
                yield return Text!;
                yield break;
            }

            foreach (var range in Ranges)
            {
                var format = "D" + range.Width.ToString(CultureInfo.InvariantCulture);
                for (var n = range.Lo; n <= range.Hi; n++)
                {
                    yield return n.ToString(format, CultureInfo.InvariantCulture);
                }
            }
        }
    }

    private readonly record struct Pattern(int Start, List<Part> Parts)
    {
        /// <summary>The product of the groups' counts, stopping once it exceeds <paramref name="limit"/>.</summary>
        public long Count(long limit)
        {
            long product = 1;
            foreach (var part in Parts)
            {
                var count = part.Count(limit);
                if (count > limit / product)
                {
                    return limit + 1;
                }

                product *= count;
            }

            return product;
        }

        /// <summary>Leftmost group outermost, as Slurm's recursive prefix expansion orders them.</summary>
        public IEnumerable<string> Expand() => Expand(0, "");

        private IEnumerable<string> Expand(int index, string prefix)
        {
            if (index == Parts.Count)
            {
                yield return prefix;
                yield break;
            }

            foreach (var value in Parts[index].Values())
            {
                foreach (var name in Expand(index + 1, prefix + value))
                {
                    yield return name;
                }
            }
        }
    }
}

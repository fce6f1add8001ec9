using System.Globalization;
using System.Text.RegularExpressions;

namespace HpcJobs.Api.Json;

/// <summary>Parses RFC 3339 date-times (any offset, converted to UTC, truncated to the microsecond).</summary>
public static partial class Rfc3339
{
    /// <summary>The longest text that can be one (nine fraction digits and an offset), with room to spare.</summary>
    public const int MaxLength = 40;

    public static bool TryParse(string? text, out DateTimeOffset value)
    {
        if (text is null)
        {
            value = default;
            return false;
        }

        return TryParse(text.AsSpan(), out value);
    }

    /// <summary>The same from characters, for a reader that has them without a string.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out DateTimeOffset value)
    {
        value = default;
        if (text.Length > MaxLength || !Shape().IsMatch(text))
        {
            return false;
        }

        if (!DateTimeOffset.TryParse(
                text,
                CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal,
                out var parsed))
        {
            return false;
        }

        value = Grains.Storage.MicrosecondTime.Truncate(parsed);
        return true;
    }

    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString(UtcTimeConverter.Format, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex Shape();
}

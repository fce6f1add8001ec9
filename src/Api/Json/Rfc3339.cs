using System.Globalization;
using System.Text.RegularExpressions;

namespace HpcJobs.Api.Json;

/// <summary>Parses RFC 3339 date-times (any offset, converted to UTC, truncated to the microsecond).</summary>
public static partial class Rfc3339
{
    public static bool TryParse(string? text, out DateTimeOffset value)
    {
        value = default;
        if (text is null || text.Length > 40 || !Shape().IsMatch(text))
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

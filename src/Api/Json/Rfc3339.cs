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
        return TryParseCommon(text, out value) ?? TryParseGeneral(text, out value);
    }

    /// <summary>Any text of the shape, by the regular expression and .NET's own parser.</summary>
    internal static bool TryParseGeneral(ReadOnlySpan<char> text, out DateTimeOffset value)
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

    /// <summary>
    /// The common forms read without the regular expression and the general parser (two thirds of a
    /// batch sample's parse time): ASCII digits, seconds 00–59, an offset under 14 hours, a fraction
    /// that is not exactly half-way between two ticks. The answer is the general path's, which the
    /// tests check over many generated texts; <see langword="null"/> leaves a text to that path.
    /// </summary>
    internal static bool? TryParseCommon(ReadOnlySpan<char> text, out DateTimeOffset value)
    {
        value = default;
        // yyyy-MM-ddTHH:mm:ss, then an optional fraction, then Z or ±hh:mm.
        if (text.Length < 20 || text[4] != '-' || text[7] != '-' || (text[10] | 0x20) != 't' || text[13] != ':' || text[16] != ':'
            || !TryDigits(text[..4], out var year) || !TryDigits(text[5..7], out var month) || !TryDigits(text[8..10], out var day)
            || !TryDigits(text[11..13], out var hour) || !TryDigits(text[14..16], out var minute) || !TryDigits(text[17..19], out var second)
            || second > 59)
        {
            return null;
        }

        var at = 19;
        long nanoseconds = 0;
        if (text[at] == '.')
        {
            var digits = 0;
            while (++at < text.Length && char.IsAsciiDigit(text[at]))
            {
                if (++digits > 9)
                {
                    return null;
                }

                nanoseconds = (nanoseconds * 10) + (text[at] - '0');
            }

            if (digits == 0)
            {
                return null;
            }

            for (var scale = digits; scale < 9; scale++)
            {
                nanoseconds *= 10;
            }
        }

        if (at >= text.Length)
        {
            return null;
        }

        var offsetMinutes = 0;
        if ((text[at] | 0x20) == 'z')
        {
            at++;
        }
        else if (text[at] is '+' or '-' && text.Length - at == 6 && text[at + 3] == ':'
                 && TryDigits(text.Slice(at + 1, 2), out var offsetHours) && TryDigits(text.Slice(at + 4, 2), out var offsetMinute)
                 && offsetHours < 14 && offsetMinute < 60)
        {
            offsetMinutes = (text[at] == '-' ? -1 : 1) * ((offsetHours * 60) + offsetMinute);
            at += 6;
        }
        else
        {
            return null;
        }

        if (at != text.Length || nanoseconds % 100 == 50)
        {
            return null;
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59)
        {
            return false;
        }

        var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).Ticks + ((nanoseconds + 50) / 100);
        var utc = local - (offsetMinutes * TimeSpan.TicksPerMinute);
        if (utc < DateTime.MinValue.Ticks || utc > DateTime.MaxValue.Ticks)
        {
            return null;
        }

        value = Grains.Storage.MicrosecondTime.Truncate(new DateTimeOffset(utc, TimeSpan.Zero));
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<char> text, out int number)
    {
        number = 0;
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            number = (number * 10) + (c - '0');
        }

        return true;
    }

    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString(UtcTimeConverter.Format, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex Shape();
}

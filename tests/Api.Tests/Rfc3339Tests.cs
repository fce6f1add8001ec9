using System.Globalization;
using System.Text;
using HpcJobs.Api.Json;
using Xunit;

namespace HpcJobs.Api.Tests;

/// <summary>
/// The parser of the common forms must give the general parser's answer (the regular expression and
/// .NET's own parser) for every text it answers; it may leave any text to the general one.
/// </summary>
public sealed class Rfc3339Tests
{
    public static TheoryData<string> Texts() =>
    [
        "2026-12-02T03:04:05Z",
        "2026-12-02t03:04:05z",
        "2026-12-02T03:04:05.1Z",
        "2026-12-02T03:04:05.123456Z",
        "2026-12-02T03:04:05.1234567Z",
        "2026-12-02T03:04:05.123456789Z",
        "2026-12-02T03:04:05.123456750Z",
        "2026-12-02T03:04:05.999999999Z",
        "2026-12-31T23:59:59.99999996Z",
        "2026-12-02T03:04:05+02:00",
        "2026-12-02T03:04:05-13:59",
        "2026-12-02T03:04:05+14:00",
        "2026-12-02T03:04:05-00:00",
        "2026-12-02T03:04:60Z",
        "2026-12-02T24:00:00Z",
        "2026-12-02T23:60:00Z",
        "2026-02-29T00:00:00Z",
        "2024-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59.9999999Z",
        "9999-12-31T23:59:59-01:00",
        "2026-12-02T03:04:05.Z",
        "2026-12-02T03:04:05.1234567890Z",
        "2026-12-02T03:04:05",
        "2026-12-02 03:04:05Z",
        "2026-12-02T03:04:05+0200",
        "2026-12-02T03:04:05+02:00Z",
        "2026-12-02T03:04:05Zjunk",
        "٢٠٢٦-12-02T03:04:05Z",
        "2026-12-02T03:04:05+2:00",
        "",
    ];

    [Theory]
    [MemberData(nameof(Texts))]
    public void Common_forms_agree_with_the_general_parser(string text) => AssertAgrees(text);

    [Fact]
    public void Common_forms_agree_with_the_general_parser_over_generated_texts()
    {
        var random = new Random(20261202);
        var answered = 0;
        for (var i = 0; i < 200_000; i++)
        {
            var text = Generate(random);
            answered += AssertAgrees(text) ? 1 : 0;
        }

        // Most generated texts are of the common forms: the fast parser is what they went through.
        Assert.True(answered > 100_000, $"{answered} answered by the common-form parser");
    }

    [Fact]
    public void The_public_parse_gives_the_same_from_a_string_and_from_characters()
    {
        Assert.True(Rfc3339.TryParse("2026-12-02T05:04:05.1234569+02:00", out var fromString));
        Assert.True(Rfc3339.TryParse("2026-12-02T05:04:05.1234569+02:00".AsSpan(), out var fromChars));
        Assert.Equal(new DateTimeOffset(2026, 12, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(1_234_560), fromString);
        Assert.Equal(fromString, fromChars);
    }

    /// <summary>Whether the common-form parser answered <paramref name="text"/> (and agreed).</summary>
    private static bool AssertAgrees(string text)
    {
        var general = Rfc3339.TryParseGeneral(text, out var expected);
        if (Rfc3339.TryParseCommon(text, out var value) is not { } common)
        {
            return false;
        }

        Assert.True(general == common, $"{text}: general {general}, common {common}");
        Assert.True(expected == value, $"{text}: general {expected:O}, common {value:O}");
        return true;
    }

    private static string Generate(Random random)
    {
        var text = new StringBuilder();
        var year = random.Next(10) switch
        {
            0 => random.Next(0, 3),
            1 => random.Next(9997, 10000),
            _ => random.Next(1990, 2100),
        };
        text.Append(CultureInfo.InvariantCulture, $"{year:D4}-{random.Next(0, 14):D2}-{random.Next(0, 33):D2}");
        text.Append(random.Next(8) == 0 ? 't' : 'T');
        text.Append(CultureInfo.InvariantCulture, $"{random.Next(0, 25):D2}:{random.Next(0, 61):D2}:{random.Next(0, 61):D2}");
        var digits = random.Next(-3, 11);
        if (digits >= 0)
        {
            text.Append('.');
            for (var d = 0; d < digits; d++)
            {
                // Runs of 9s and a 5 followed by 0s: the roundings at a tick's edge and half-way.
                text.Append(random.Next(4) switch { 0 => '9', 1 => d == 7 ? '5' : '0', _ => (char)('0' + random.Next(10)) });
            }
        }

        switch (random.Next(4))
        {
            case 0:
                text.Append(random.Next(2) == 0 ? 'Z' : 'z');
                break;
            default:
                text.Append(random.Next(2) == 0 ? '+' : '-')
                    .Append(CultureInfo.InvariantCulture, $"{random.Next(0, 16):D2}:{random.Next(0, 61):D2}");
                break;
        }

        return text.ToString();
    }
}

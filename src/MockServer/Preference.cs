using Microsoft.Extensions.Primitives;

namespace HpcJobs.MockServer;

/// <summary>
/// What a client asked of the mock in its <c>Prefer</c> headers (RFC 7240 syntax, Prism's
/// vocabulary): <c>code=404</c> for a documented status, <c>example=name</c> for a named example.
/// </summary>
public sealed record Preference(string? Code, string? Example)
{
    public static readonly Preference None = new(null, null);

    public static Preference Parse(StringValues headers)
    {
        string? code = null;
        string? example = null;
        foreach (var header in headers)
        {
            foreach (var part in (header ?? string.Empty).Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var equals = part.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    continue;
                }

                var value = part[(equals + 1)..].Trim().Trim('"');
                switch (part[..equals].Trim().ToLowerInvariant())
                {
                    case "code":
                        code ??= value;
                        break;
                    case "example":
                        example ??= value;
                        break;
                }
            }
        }

        return new Preference(code, example);
    }

    public override string ToString() =>
        string.Join(", ", new[] { Code is null ? null : $"code={Code}", Example is null ? null : $"example={Example}" }.OfType<string>());
}

using System.Text.Json;
using HpcJobs.Api.Json;

namespace HpcJobs.Api.Contracts;

/// <summary>
/// The fields of one JSON object, keyed by their snake_case name whichever spelling the client
/// used. A field given in both spellings is an error; unknown fields are ignored.
/// </summary>
public sealed class Fields
{
    private readonly Dictionary<string, JsonElement> _values;
    private readonly Dictionary<string, string> _errors = new(StringComparer.Ordinal);

    private Fields(Dictionary<string, JsonElement> values) => _values = values;

    public bool HasErrors => _errors.Count > 0;

    public IReadOnlyDictionary<string, string> Errors => _errors;

    public static Fields Read(JsonElement root, FieldNames names)
    {
        var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var fields = new Fields(values);
        if (root.ValueKind != JsonValueKind.Object)
        {
            fields._errors["body"] = "must be a JSON object";
            return fields;
        }

        foreach (var property in root.EnumerateObject())
        {
            if (!names.TryCanonical(property.Name, out var canonical))
            {
                continue;
            }

            if (!values.TryAdd(canonical, property.Value))
            {
                fields._errors[canonical] = "given more than once (snake_case and camelCase spellings are the same field)";
            }
        }

        return fields;
    }

    public bool Has(string name) => _values.TryGetValue(name, out var value) && value.ValueKind != JsonValueKind.Null;

    public RequestError? Error => HasErrors ? RequestError.Validation(_errors) : null;

    public void Fail(string name, string message) => _errors.TryAdd(name, message);

    public string? Text(string name, bool required, int maxLength = Limits.MaxTextLength)
    {
        if (!_values.TryGetValue(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                Fail(name, "is required");
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            Fail(name, "must be a string");
            return null;
        }

        var text = value.GetString()!;
        if (text.Length == 0 || text.Length > maxLength)
        {
            Fail(name, $"must be 1 to {maxLength} characters");
            return null;
        }

        if (text.Contains('\0', StringComparison.Ordinal))
        {
            // Any other character is stored and escaped on the way out (JSON, Prometheus labels).
            Fail(name, "must not contain NUL characters");
            return null;
        }

        return text;
    }

    public double? Number(string name, bool required, double min, double max)
    {
        if (!_values.TryGetValue(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                Fail(name, "is required");
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            Fail(name, "must be a number");
            return null;
        }

        if (!value.TryGetDouble(out var number) || !double.IsFinite(number) || number < min || number > max)
        {
            Fail(name, $"must be a number from {min} to {max}");
            return null;
        }

        return number;
    }

    public long? Integer(string name, bool required, long min, long max)
    {
        if (!_values.TryGetValue(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                Fail(name, "is required");
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
        {
            Fail(name, "must be a whole number");
            return null;
        }

        if (number < min || number > max)
        {
            Fail(name, $"must be from {min} to {max}");
            return null;
        }

        return number;
    }

    public DateTimeOffset? Time(string name)
    {
        if (!_values.TryGetValue(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String || !Rfc3339.TryParse(value.GetString(), out var time))
        {
            Fail(name, "must be an RFC 3339 time such as 2026-01-02T03:04:05Z");
            return null;
        }

        return time;
    }

    public JsonElement? Raw(string name) =>
        _values.TryGetValue(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
}

/// <summary>A request type's fields: each snake_case name and its camelCase spelling.</summary>
public sealed class FieldNames
{
    private readonly Dictionary<string, string> _canonical = new(StringComparer.Ordinal);

    public FieldNames(params string[] snakeCaseNames)
    {
        foreach (var name in snakeCaseNames)
        {
            _canonical[name] = name;
            _canonical[ToCamel(name)] = name;
        }
    }

    public bool TryCanonical(string spelling, out string canonical) => _canonical.TryGetValue(spelling, out canonical!);

    private static string ToCamel(string snake)
    {
        var parts = snake.Split('_');
        return parts[0] + string.Concat(parts.Skip(1).Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
    }
}

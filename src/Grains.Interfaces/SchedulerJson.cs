using System.Text.Json;
using System.Text.Json.Nodes;

namespace HpcJobs.Grains;

/// <summary>
/// The job's <c>scheduler</c> object, kept as JSON text (its known fields are checked by the API).
/// Events set some of its fields (<c>partition</c>, <c>raw_state</c>, <c>exit_code</c>, ...); these
/// helpers read and set them without touching the rest.
/// </summary>
public static class SchedulerJson
{
    /// <summary><paramref name="json"/> with each given field set (a null value leaves the field as it is).</summary>
    public static string? With(string? json, params (string Name, object? Value)[] fields)
    {
        if (fields.All(field => field.Value is null))
        {
            return json;
        }

        var root = Parse(json);
        foreach (var (name, value) in fields)
        {
            if (value is not null)
            {
                root[name] = value switch
                {
                    string text => JsonValue.Create(text),
                    int number => JsonValue.Create(number),
                    long number => JsonValue.Create(number),
                    _ => throw new ArgumentException($"unsupported scheduler value for {name}", nameof(fields)),
                };
            }
        }

        return root.ToJsonString();
    }

    /// <summary><paramref name="json"/> without the named fields; null when nothing is left.</summary>
    public static string? Without(string? json, IEnumerable<string> names)
    {
        if (json is null)
        {
            return null;
        }

        var root = Parse(json);
        foreach (var name in names)
        {
            root.Remove(name);
        }

        return root.Count == 0 ? null : root.ToJsonString();
    }

    public static string? Text(string? json, string name) =>
        json is not null && Parse(json)[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    public static long? Integer(string? json, string name) =>
        json is not null && Parse(json)[name] is JsonValue value && value.TryGetValue<long>(out var number) ? number : null;

    /// <summary>Whether every given field already has the given value (null values are not compared).</summary>
    public static bool Has(string? json, params (string Name, object? Value)[] fields)
    {
        var root = json is null ? null : Parse(json);
        foreach (var (name, value) in fields)
        {
            if (value is null)
            {
                continue;
            }

            var stored = root?[name] as JsonValue;
            var same = value switch
            {
                string text => stored is not null && stored.TryGetValue<string>(out var s) && s == text,
                int number => stored is not null && stored.TryGetValue<long>(out var n) && n == number,
                long number => stored is not null && stored.TryGetValue<long>(out var n) && n == number,
                _ => false,
            };
            if (!same)
            {
                return false;
            }
        }

        return true;
    }

    private static JsonObject Parse(string? json) =>
        json is null ? [] : JsonNode.Parse(json) as JsonObject ?? throw new JsonException("scheduler is not a JSON object");
}

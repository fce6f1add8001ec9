using System.Text.Json.Serialization;

namespace HpcJobs.Grains.Storage;

/// <summary>JSON held in columns: node lists and a requeued job's earlier attempts.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(IReadOnlyList<JobAttempt>))]
[JsonSerializable(typeof(Footprint))]
internal sealed partial class StorageJson : JsonSerializerContext
{
    public static string FootprintJson(Footprint footprint) => System.Text.Json.JsonSerializer.Serialize(footprint, Default.Footprint);

    public static Footprint? ReadFootprint(string? json) =>
        json is null ? null : System.Text.Json.JsonSerializer.Deserialize(json, Default.Footprint);

    /// <summary>
    /// A job's stored flags (all but the clock-dependent no_data) as the JSON array the flags column
    /// holds; null when there are none, so the flag triggers have nothing to do for most rows.
    /// </summary>
    public static string? Flags(IReadOnlyList<string> flags)
    {
        var stored = Flagging.Stored(flags);
        return stored.Count == 0 ? null : System.Text.Json.JsonSerializer.Serialize(stored, Default.IReadOnlyListString);
    }

    public static IReadOnlyList<string> Flags(string? json) =>
        json is null ? [] : System.Text.Json.JsonSerializer.Deserialize(json, Default.IReadOnlyListString) ?? [];

    public static string? Attempts(IReadOnlyList<JobAttempt> attempts) =>
        attempts.Count == 0 ? null : System.Text.Json.JsonSerializer.Serialize(attempts, Default.IReadOnlyListJobAttempt);

    public static IReadOnlyList<JobAttempt> Attempts(string? json) =>
        json is null ? [] : System.Text.Json.JsonSerializer.Deserialize(json, Default.IReadOnlyListJobAttempt) ?? [];
}

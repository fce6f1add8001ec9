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
[JsonSerializable(typeof(List<JobAttempt>))]
internal sealed partial class StorageJson : JsonSerializerContext
{
    public static string? Attempts(List<JobAttempt> attempts) =>
        attempts.Count == 0 ? null : System.Text.Json.JsonSerializer.Serialize(attempts, Default.ListJobAttempt);

    public static List<JobAttempt> Attempts(string? json) =>
        json is null ? [] : System.Text.Json.JsonSerializer.Deserialize(json, Default.ListJobAttempt) ?? [];
}

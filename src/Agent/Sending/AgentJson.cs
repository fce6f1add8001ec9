using System.Text.Json;
using System.Text.Json.Serialization;
using HpcJobs.Agent.Collection;

namespace HpcJobs.Agent.Sending;

public sealed record BatchRequest(IReadOnlyList<AgentSample> Samples);

public sealed record HeartbeatRequest(string Timestamp, IReadOnlyList<string> Jobs);

public sealed record BatchRejection(int Index, string Error, string Message);

public sealed record BatchResponse(long Accepted, long Duplicates, IReadOnlyList<BatchRejection>? Rejected);

/// <summary>Source-generated JSON for the agent's requests and the batch answer: snake_case, absent fields left out.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(BatchRequest))]
[JsonSerializable(typeof(HeartbeatRequest))]
[JsonSerializable(typeof(BatchResponse))]
internal sealed partial class AgentJson : JsonSerializerContext
{
    public static byte[] Batch(IReadOnlyList<AgentSample> samples) =>
        JsonSerializer.SerializeToUtf8Bytes(new BatchRequest(samples), Default.BatchRequest);

    public static byte[] Heartbeat(IntervalReading collection) =>
        JsonSerializer.SerializeToUtf8Bytes(new HeartbeatRequest(Collector.Timestamp(collection.At), collection.Jobs), Default.HeartbeatRequest);

    /// <summary>A batch body holding only the samples at <paramref name="indexes"/> of <paramref name="body"/>, as they were.</summary>
    public static byte[] Subset(byte[] body, IReadOnlyCollection<int> indexes)
    {
        using var document = JsonDocument.Parse(body);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("samples");
            var i = 0;
            foreach (var sample in document.RootElement.GetProperty("samples").EnumerateArray())
            {
                if (indexes.Contains(i++))
                {
                    sample.WriteTo(writer);
                }
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}

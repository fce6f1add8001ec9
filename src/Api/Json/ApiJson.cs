using System.Text.Json;
using System.Text.Json.Serialization;
using HpcJobs.Api.Contracts;

namespace HpcJobs.Api.Json;

/// <summary>Source-generated JSON for every response type: snake_case, nulls omitted, contract times.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcTimeConverter)])]
[JsonSerializable(typeof(JobResponse))]
[JsonSerializable(typeof(JobListResponse))]
[JsonSerializable(typeof(SampleResponse))]
[JsonSerializable(typeof(SampleHistoryResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(BatchIngestResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(EventResponse))]
[JsonSerializable(typeof(AuditResponse))]
[JsonSerializable(typeof(HpcJobs.Api.Pages.JobReportResponse))]
[JsonSerializable(typeof(HeartbeatResponse))]
[JsonSerializable(typeof(NodeListResponse))]
[JsonSerializable(typeof(JsonElement))]
public sealed partial class ApiJson : JsonSerializerContext
{
    /// <summary>The context the service writes with: <see cref="Configure"/>d options.</summary>
    public static ApiJson Wire { get; } = new(CreateOptions());

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions();
        Configure(options, insertResolver: false);
        return options;
    }

    /// <summary>Makes the ASP.NET Core serializer options write what this context writes.</summary>
    public static void Configure(JsonSerializerOptions options, bool insertResolver = true)
    {
        if (insertResolver)
        {
            options.TypeInfoResolverChain.Insert(0, Default);
        }

        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        options.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        options.Converters.Add(new UtcTimeConverter());
    }
}

using System.Globalization;
using System.Net;
using System.Text.Json;

namespace HpcJobs.Silo.Tests;

/// <summary>Sample bodies and checked calls for the replay tests against real service processes.</summary>
internal static class SampleReplay
{
    /// <summary>Now, truncated to whole seconds.</summary>
    public static DateTimeOffset Now()
    {
        var now = DateTimeOffset.UtcNow;
        return new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    public static string Sample(DateTimeOffset at, double cpu, long memory, string? node = null, string? jobId = null)
    {
        var fields = new Dictionary<string, object>();
        if (jobId is not null)
        {
            fields["job_id"] = jobId;
        }

        fields["timestamp"] = at.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'", CultureInfo.InvariantCulture);
        fields["cpu_usage"] = cpu;
        fields["memory_usage_mb"] = memory;
        if (node is not null)
        {
            fields["node"] = node;
        }

        return JsonSerializer.Serialize(fields);
    }

    public static string Batch(IEnumerable<string> items) => "{\"samples\":[" + string.Join(',', items) + "]}";

    public static async Task<JsonElement> PostSampleAsync(HttpClient client, string jobId, string body)
    {
        using var response = await client.PostAsync($"/v1/jobs/{jobId}/metrics", Ingest.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"expected 201, got {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<(long Accepted, long Duplicates)> PostBatchAsync(HttpClient client, string body)
    {
        using var response = await client.PostAsync("/v1/metrics", Ingest.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"expected 200, got {(int)response.StatusCode}: {text}");
        var json = JsonDocument.Parse(text).RootElement;
        Assert.True(json.GetProperty("rejected").GetArrayLength() == 0, text);
        return (json.GetProperty("accepted").GetInt64(), json.GetProperty("duplicates").GetInt64());
    }

    public static async Task<JsonElement[]> HistoryAsync(HttpClient client, string jobId)
    {
        using var response = await client.GetAsync($"/v1/jobs/{jobId}/metrics?limit=10000");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone().GetProperty("samples").EnumerateArray()];
    }

    public static async Task CreateJobAsync(HttpClient client, string id, params string[] nodes)
    {
        using var response = await client.PostAsync(
            "/v1/jobs",
            Ingest.Json(JsonSerializer.Serialize(new { id, user = "replay", nodes, start_time = Now().AddMinutes(-10).ToString("O", CultureInfo.InvariantCulture) })));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }
}

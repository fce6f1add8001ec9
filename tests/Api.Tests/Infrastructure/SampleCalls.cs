using System.Globalization;
using System.Net;
using System.Text.Json;

namespace HpcJobs.Api.Tests.Infrastructure;

/// <summary>Calls and checks shared by the sample identity, window, node and write-header tests.</summary>
public static class SampleCalls
{
    /// <summary>RFC 3339 UTC with microseconds, as the service stores them.</summary>
    public static string Wire(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Now, truncated to whole seconds (so wire and stored values compare exactly).</summary>
    public static DateTimeOffset Now()
    {
        var now = DateTimeOffset.UtcNow;
        return new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    public static DateTimeOffset ParseTime(JsonElement value) =>
        DateTimeOffset.Parse(value.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);

    /// <summary>A running job on <paramref name="nodes"/> that started at <paramref name="start"/> (default 10 minutes ago).</summary>
    public static async Task<string> CreateJobAsync(HttpClient client, string[]? nodes = null, DateTimeOffset? start = null, string? user = null)
    {
        var id = "s-" + Guid.NewGuid().ToString("N");
        var body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["id"] = id,
            ["user"] = user ?? "u-" + id,
            ["nodes"] = nodes ?? ["n1"],
            ["state"] = "running",
            ["start_time"] = Wire(start ?? Now().AddMinutes(-10)),
        });
        using var response = await client.PostJsonAsync("/v1/jobs", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return id;
    }

    /// <summary>A sample body; <paramref name="node"/> and <paramref name="gpu"/> omitted when null.</summary>
    public static string Sample(DateTimeOffset at, double cpu, long memory, string? node = null, double? gpu = null, string? jobId = null)
    {
        var fields = new Dictionary<string, object>();
        if (jobId is not null)
        {
            fields["job_id"] = jobId;
        }

        fields["timestamp"] = Wire(at);
        fields["cpu_usage"] = cpu;
        fields["memory_usage_mb"] = memory;
        if (node is not null)
        {
            fields["node"] = node;
        }

        if (gpu is not null)
        {
            fields["gpu_usage"] = gpu;
        }

        return JsonSerializer.Serialize(fields);
    }

    public static string Batch(params string[] items) => "{\"samples\":[" + string.Join(',', items) + "]}";

    /// <summary>POSTs one sample and expects 201; returns the answer's body.</summary>
    public static async Task<JsonElement> PostSampleAsync(HttpClient client, string jobId, string body)
    {
        using var response = await client.PostJsonAsync($"/v1/jobs/{jobId}/metrics", body);
        var json = await response.ReadJsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"expected 201, got {(int)response.StatusCode}: {json}");
        return json;
    }

    /// <summary>POSTs a batch and expects 200; returns (accepted, duplicates, rejected).</summary>
    public static async Task<(long Accepted, long Duplicates, JsonElement[] Rejected)> PostBatchAsync(HttpClient client, string body)
    {
        using var response = await client.PostJsonAsync("/v1/metrics", body);
        var json = await response.ReadJsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"expected 200, got {(int)response.StatusCode}: {json}");
        return (json.GetProperty("accepted").GetInt64(), json.GetProperty("duplicates").GetInt64(), [.. json.GetProperty("rejected").EnumerateArray()]);
    }

    public static async Task<JsonElement[]> HistoryAsync(HttpClient client, string jobId)
    {
        using var response = await client.GetAsync($"/v1/jobs/{jobId}/metrics?limit=10000");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await response.ReadJsonAsync()).GetProperty("samples").EnumerateArray()];
    }

    public static async Task<JsonElement> GetJobAsync(HttpClient client, string jobId)
    {
        using var response = await client.GetAsync($"/v1/jobs/{jobId}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    /// <summary>The error body of a 400 validation_error; fails otherwise.</summary>
    public static async Task<JsonElement> ExpectValidationErrorAsync(HttpResponseMessage response)
    {
        var json = await response.ReadJsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"expected 400, got {(int)response.StatusCode}: {json}");
        Assert.Equal("validation_error", json.GetProperty("error").GetString());
        return json;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace HpcJobs.Bench;

/// <summary>
/// <c>page &lt;url&gt; &lt;samples&gt; [requests]</c>: one two-node job with <c>samples</c> samples (posted in
/// batches through POST /v1/metrics, timestamps in the past), then <c>requests</c> GETs of /jobs/{id}:
/// the client's time and the server's own (its Server-Timing header), p50 and p99.
/// </summary>
internal static class Page
{
    public static async Task RunAsync(HttpClient client, int samples, int requests)
    {
        var id = "page-bench-" + Guid.NewGuid().ToString("N")[..8];
        var interval = TimeSpan.FromSeconds(60);
        var start = DateTimeOffset.UtcNow - (interval * ((samples / 2) + 2));
        await ExpectAsync(client.PostAsync("/v1/events/job-started", Json($$"""
            {"job_id":"{{id}}","user":"bench","node_list":["gpu01","gpu02"],"timestamp":"{{Time(start)}}",
             "cpu_allocation":32,"memory_allocation_mb":262144,"gpu_allocation":4,"time_limit_minutes":10080}
            """)));

        var posted = 0;
        while (posted < samples)
        {
            var body = new StringBuilder("{\"samples\":[");
            var batch = Math.Min(5000, samples - posted);
            for (var i = 0; i < batch; i++, posted++)
            {
                var node = posted % 2 == 0 ? "gpu01" : "gpu02";
                var at = start + (interval * (posted / 2)) + TimeSpan.FromSeconds(posted % 2 == 0 ? 10 : 20);
                body.Append(i == 0 ? string.Empty : ",").Append(CultureInfo.InvariantCulture,
                    $$"""{"job_id":"{{id}}","node":"{{node}}","timestamp":"{{Time(at)}}","cpu_usage":{{posted % 100}},"memory_usage_mb":{{20000 + (posted % 5000)}},"gpu_usage":{{posted % 37}}}""");
            }

            await ExpectAsync(client.PostAsync("/v1/metrics", Json(body.Append("]}").ToString())));
        }

        var clientTimes = new List<double>(requests);
        var serverTimes = new List<double>(requests);
        var readTimes = new List<double>(requests);
        var renderTimes = new List<double>(requests);
        long bytes = 0;
        for (var i = 0; i < requests + 5; i++)
        {
            var watch = Stopwatch.StartNew();
            using var response = await client.GetAsync($"/jobs/{id}");
            var html = await response.Content.ReadAsByteArrayAsync();
            watch.Stop();
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"GET /jobs/{id}: {(int)response.StatusCode}");
            }

            // The first five warm up (activation, tiered JIT, page cache).
            if (i >= 5)
            {
                clientTimes.Add(watch.Elapsed.TotalMilliseconds);
                serverTimes.Add(ServerMs(response, "page"));
                readTimes.Add(ServerMs(response, "read"));
                renderTimes.Add(ServerMs(response, "render"));
                bytes = html.Length;
            }
        }

        Console.WriteLine(
            $"RESULT page samples={samples} requests={requests} bytes={bytes} server_p50_ms={Load.Percentile(serverTimes, 50):F1} " +
            $"server_p99_ms={Load.Percentile(serverTimes, 99):F1} read_p50_ms={Load.Percentile(readTimes, 50):F1} render_p50_ms={Load.Percentile(renderTimes, 50):F1} " +
            $"client_p50_ms={Load.Percentile(clientTimes, 50):F1} client_p99_ms={Load.Percentile(clientTimes, 99):F1}");
    }

    /// <summary>One metric of the Server-Timing header: <c>page;dur=12.3, read;dur=4.5, render;dur=7.8</c>.</summary>
    private static double ServerMs(HttpResponseMessage response, string metric)
    {
        var timing = response.Headers.TryGetValues("Server-Timing", out var values) ? string.Join(",", values) : throw new InvalidOperationException("no Server-Timing header");
        var entry = timing.Split(',', StringSplitOptions.TrimEntries).First(e => e.StartsWith(metric + ";", StringComparison.Ordinal));
        return double.Parse(entry[(entry.IndexOf("dur=", StringComparison.Ordinal) + 4)..], CultureInfo.InvariantCulture);
    }

    private static async Task ExpectAsync(Task<HttpResponseMessage> call)
    {
        using var response = await call;
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK || text.Contains("\"rejected\":[{", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {text[..Math.Min(300, text.Length)]}");
        }
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace HpcJobs.Bench;

/// <summary>
/// <c>overload &lt;url&gt; &lt;jobs&gt; &lt;connections&gt; &lt;seconds&gt; [batch-size]</c>: batches of
/// <c>batch-size</c> samples spread over <c>jobs</c> jobs, from <c>connections</c> connections at
/// once, each honouring <c>Retry-After</c> on a 503 as an agent would; meanwhile
/// <c>/v1/health/ready</c> is probed every 100 ms on a connection of its own. Every sample has a
/// timestamp distinct within its job, so none is a duplicate.
/// </summary>
internal static class Overload
{
    public static async Task RunAsync(Uri url, int jobs, int connections, TimeSpan duration, int batchSize, bool expectContinue)
    {
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = url,
            Timeout = TimeSpan.FromMinutes(2),
        };
        using var prober = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        await Load.CreateJobsAsync(client, jobs, "ov-", completeAll: false, sample: false);
        var start = DateTimeOffset.UtcNow;
        long sequence = -1;

        byte[] NextBody()
        {
            var text = new StringBuilder(batchSize * 120).Append("{\"samples\":[");
            for (var i = 0; i < batchSize; i++)
            {
                var n = Interlocked.Increment(ref sequence);
                var job = n % jobs;
                var timestamp = start.AddMilliseconds(n / jobs).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
                text.Append(i == 0 ? "" : ",")
                    .Append(CultureInfo.InvariantCulture, $$"""{"job_id":"ov-{{job}}","timestamp":"{{timestamp}}","cpu_usage":{{n % 100}}.5,"memory_usage_mb":{{2048 + (n % 4096)}},"gpu_usage":{{n % 90}}}""");
            }

            return Encoding.UTF8.GetBytes(text.Append("]}").ToString());
        }

        long accepted = 0, ok = 0, refused = 0, other = 0;
        var measuring = false;
        async Task WorkerAsync(DateTime stop)
        {
            // A refused batch is sent again as it was, as an agent resends its spooled batch.
            byte[]? pending = null;
            while (DateTime.UtcNow < stop)
            {
                pending ??= NextBody();
                var content = new ByteArrayContent(pending);
                content.Headers.ContentType = new("application/json");
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/metrics") { Content = content };

                // With 100-continue a refused batch is never uploaded: the 503 comes before the body.
                request.Headers.ExpectContinue = expectContinue;
                using var response = await client.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    pending = null;
                }

                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var at = body.IndexOf("\"accepted\":", StringComparison.Ordinal) + 11;
                    var count = long.Parse(body.AsSpan(at, body.IndexOf(',', at) - at), CultureInfo.InvariantCulture);
                    if (measuring)
                    {
                        Interlocked.Add(ref accepted, count);
                        Interlocked.Increment(ref ok);
                    }
                }
                else if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    if (measuring)
                    {
                        Interlocked.Increment(ref refused);
                    }

                    await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1));
                }
                else if (measuring)
                {
                    Interlocked.Increment(ref other);
                }
            }
        }

        // Warm up (activations, tiered JIT) for 5 s, then measure.
        await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => WorkerAsync(DateTime.UtcNow.AddSeconds(5))));
        measuring = true;
        var probes = new List<double>();
        var watch = Stopwatch.StartNew();
        var stopAt = DateTime.UtcNow + duration;
        var workers = Task.WhenAll(Enumerable.Range(0, connections).Select(_ => WorkerAsync(stopAt)));
        while (DateTime.UtcNow < stopAt)
        {
            var probe = Stopwatch.StartNew();
            using (var response = await prober.GetAsync("/v1/health/ready"))
            {
                await response.Content.ReadAsByteArrayAsync();
            }

            probes.Add(probe.Elapsed.TotalMilliseconds);
            await Task.Delay(100);
        }

        await workers;
        var seconds = watch.Elapsed.TotalSeconds;
        var requests = ok + refused + other;
        Console.WriteLine(
            $"RESULT overload connections={connections} samples_per_s={accepted / seconds:F0} accepted={accepted} requests={requests} " +
            $"refused_503={refused} refused_share={(requests == 0 ? 0 : 100.0 * refused / requests):F1}% other_errors={other} " +
            $"ready_p50_ms={Load.Percentile(probes, 50):F1} ready_p99_ms={Load.Percentile(probes, 99):F1} ready_max_ms={probes.Max():F1} probes={probes.Count} seconds={seconds:F1}");
    }
}

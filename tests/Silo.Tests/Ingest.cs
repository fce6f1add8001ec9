using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace HpcJobs.Silo.Tests;

/// <summary>Drives concurrent sample ingest and remembers every sample the service acknowledged with 201.</summary>
public sealed class Ingest
{
    private static readonly DateTimeOffset Base = DateTimeOffset.UtcNow.AddSeconds(-60); // within the clock skew of the jobs' start
    private long _sequence;

    public ConcurrentDictionary<string, ConcurrentBag<string>> Acknowledged { get; } = new();

    /// <summary>Per job, the largest memory_usage_mb (the sample sequence number) acknowledged.</summary>
    public ConcurrentDictionary<string, long> LastAcknowledged { get; } = new();

    public long AcknowledgedCount => Acknowledged.Values.Sum(b => (long)b.Count);

    public static async Task CreateJobsAsync(HttpClient client, IEnumerable<string> ids)
    {
        foreach (var id in ids)
        {
            using var response = await client.PostAsync("/v1/jobs", Json($$"""{"id":"{{id}}","user":"u","nodes":["n1"]}"""));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
    }

    /// <summary>Each writer posts to its job in turn until cancelled; a failed request just ends that writer's attempt.</summary>
    public Task RunAsync(Func<int, HttpClient> clientFor, IReadOnlyList<string> jobs, int writers, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var job = jobs[w % jobs.Count];
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref _sequence);
                var timestamp = (Base + TimeSpan.FromTicks(n * 10)).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
                try
                {
                    using var response = await clientFor(w).PostAsync(
                        $"/v1/jobs/{job}/metrics",
                        Json($$"""{"cpu_usage":{{n % 100}},"memory_usage_mb":{{n}},"timestamp":"{{timestamp}}"}"""));
                    if (response.StatusCode == HttpStatusCode.Created)
                    {
                        Acknowledged.GetOrAdd(job, _ => []).Add(timestamp);
                        LastAcknowledged.AddOrUpdate(job, n, (_, current) => Math.Max(current, n));
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    await Task.Delay(20, CancellationToken.None);
                }
            }
        })));

    /// <summary>Every acknowledged sample is stored, and none is stored twice.</summary>
    public async Task AssertAllStoredAsync(HttpClient client)
    {
        foreach (var (job, acknowledged) in Acknowledged)
        {
            using var response = await client.GetAsync($"/v1/jobs/{job}/metrics?limit=10000");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var stored = body.RootElement.GetProperty("samples").EnumerateArray()
                .Select(s => Normalize(s.GetProperty("timestamp").GetString()!))
                .ToList();
            Assert.Equal(stored.Count, stored.Distinct().Count());
            var missing = acknowledged.Select(Normalize).Except(stored).ToList();
            Assert.True(missing.Count == 0, $"job {job}: {missing.Count} of {acknowledged.Count} acknowledged samples missing");
        }
    }

    private static DateTimeOffset Normalize(string timestamp) =>
        DateTimeOffset.Parse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}

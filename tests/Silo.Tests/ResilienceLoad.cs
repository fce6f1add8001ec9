using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace HpcJobs.Silo.Tests;

/// <summary>
/// Ingest-style sample load that also records every answer (status, error code, latency, when), so
/// resilience tests can say what clients saw while storage was down or the process was stopping.
/// Samples acknowledged with 201 go into <see cref="Ingest"/>, for <see cref="Ingest.AssertAllStoredAsync"/>.
/// </summary>
public sealed class ResilienceLoad
{
    private readonly DateTimeOffset _base = DateTimeOffset.UtcNow.AddSeconds(-60); // within the clock skew of the jobs' start
    private long _sequence;

    /// <summary>Started when the load object is made: every <see cref="Answer"/> time is on this clock.</summary>
    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    public Ingest Ingest { get; } = new();

    public ConcurrentQueue<Answer> Answers { get; } = new();

    /// <summary>Each writer posts to its job in turn until cancelled, recording every answer.</summary>
    public Task RunAsync(HttpClient client, IReadOnlyList<string> jobs, int writers, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var job = jobs[w % jobs.Count];
            while (!stop.IsCancellationRequested)
            {
                var answer = await PostSampleAsync(client, job);
                if (answer.Status == 0)
                {
                    await Task.Delay(20, CancellationToken.None);
                }
            }
        })));

    /// <summary>One sample POST; a 201 is remembered as acknowledged. Status 0 means no HTTP answer (see Failure).</summary>
    public async Task<Answer> PostSampleAsync(HttpClient client, string job)
    {
        var n = Interlocked.Increment(ref _sequence);
        var timestamp = (_base + TimeSpan.FromTicks(n * 10)).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        var started = Clock.Elapsed;
        Answer answer;
        try
        {
            using var response = await client.PostAsync(
                $"/v1/jobs/{job}/metrics",
                Ingest.Json($$"""{"cpu_usage":{{n % 100}},"memory_usage_mb":{{n}},"timestamp":"{{timestamp}}"}"""));
            string? body = null;
            if (response.StatusCode != HttpStatusCode.Created)
            {
                body = await response.Content.ReadAsStringAsync();
            }
            else
            {
                Ingest.Acknowledged.GetOrAdd(job, _ => []).Add(timestamp);
                Ingest.LastAcknowledged.AddOrUpdate(job, n, (_, current) => Math.Max(current, n));
            }

            answer = new Answer(started, Clock.Elapsed, (int)response.StatusCode, ErrorCode(body), body, null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            answer = new Answer(started, Clock.Elapsed, 0, null, null, $"{e.GetType().Name}: {e.GetBaseException().Message}");
        }

        Answers.Enqueue(answer);
        return answer;
    }

    /// <summary>Answers grouped by status (and error code), for reports: "201 x 1234, 503/unavailable x 56".</summary>
    public static string Summarize(IEnumerable<Answer> answers) =>
        string.Join(", ", answers
            .GroupBy(a => a.Status == 0 ? $"no answer ({a.Failure?.Split(':')[0]})" : a.Error is null ? $"{a.Status}" : $"{a.Status}/{a.Error}")
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} x {g.Count()}"));

    private static string? ErrorCode(string? body)
    {
        if (string.IsNullOrEmpty(body))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error)
                ? error.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>One answer: when the request started and ended on <see cref="Clock"/>, the status (0: none) and error code.</summary>
    public sealed record Answer(TimeSpan Start, TimeSpan End, int Status, string? Error, string? Body, string? Failure)
    {
        public TimeSpan Latency => End - Start;
    }
}

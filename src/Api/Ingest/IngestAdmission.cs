using System.Globalization;
using System.Threading.RateLimiting;
using HpcJobs.Api.Contracts;
using HpcJobs.Api.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Prometheus;

namespace HpcJobs.Api.Ingest;

public sealed class IngestAdmissionOptions
{
    /// <summary>
    /// Measured on the 2-core benchmark machine (docs/benchmarks.md, "Overload"): throughput is flat
    /// from about 8,000 samples in flight on, while memory grows with every sample admitted.
    /// </summary>
    public const int DefaultMaxSamplesInFlight = 16_000;

    /// <summary>Samples (estimated, see <see cref="IngestAdmission"/>) that may be between arrival and answer at once.</summary>
    public int MaxSamplesInFlight { get; set; } = DefaultMaxSamplesInFlight;

    /// <summary>What a refused client is told to wait: a batch takes well under a second to go through.</summary>
    public int RetryAfterSeconds { get; set; } = 1;
}

/// <summary>The two sample routes, each with its own estimate of the samples a request carries.</summary>
public enum IngestRoute
{
    Single,
    Batch,
}

/// <summary>
/// Bounds the ingest work a silo holds at once, counted in samples, so that a burst of agents is
/// refused at the door (503 + <c>Retry-After</c>) instead of queued until memory and latency run
/// away (issue 11: 256 connections reached 6.6 × the memory of 8 and a 4.7 s health probe).
/// <para>
/// A request is admitted or refused before its body is read, so the count is an estimate: one
/// sample for the single route; for the batch route, the body's <c>Content-Length</c> divided by
/// <see cref="BytesPerSample"/> (smaller than a real sample, so the estimate errs high), and the
/// largest batch the contract allows when the length is not declared (chunked). An estimate is
/// capped at the limit, so a request larger than the limit is still admitted when nothing else is
/// in flight. Permits are held until the handler has answered.
/// </para>
/// <para>
/// ASP.NET Core's rate-limiting middleware takes one permit per request, not a count, so the
/// in-box <see cref="ConcurrencyLimiter"/> is used directly, from an endpoint filter, with no queue.
/// </para>
/// </summary>
public sealed class IngestAdmission : IDisposable
{
    /// <summary>
    /// A minimal sample (<c>{"job_id":"1234567","cpu_usage":1.5,"memory_usage_mb":2048},</c>) is
    /// about 55 bytes, an agent's with timestamp and node about 150.
    /// </summary>
    public const int BytesPerSample = 100;

    private static readonly Gauge InFlight = Prometheus.Metrics.CreateGauge(
        "hpc_ingest_samples_in_flight", "Samples admitted to ingest and not yet answered (estimated from the body size).");

    private static readonly Gauge Limit = Prometheus.Metrics.CreateGauge(
        "hpc_ingest_samples_in_flight_limit", "INGEST_MAX_SAMPLES_IN_FLIGHT: samples in flight beyond which ingest answers 503.");

    private static readonly Counter Refused = Prometheus.Metrics.CreateCounter(
        "hpc_ingest_refused_requests_total", "Ingest requests answered 503 because the silo had its limit of samples in flight.", "route");

    private readonly ConcurrencyLimiter _limiter;

    public IngestAdmission(IOptions<IngestAdmissionOptions> options)
    {
        MaxSamplesInFlight = options.Value.MaxSamplesInFlight;
        RetryAfter = options.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = MaxSamplesInFlight,
            QueueLimit = 0,
        });
        Limit.Set(MaxSamplesInFlight);
    }

    public int MaxSamplesInFlight { get; }

    public string RetryAfter { get; }

    /// <summary>The estimated samples of a request, before its body is read.</summary>
    public int Estimate(IngestRoute route, long? contentLength)
    {
        long samples = route switch
        {
            IngestRoute.Single => 1,
            _ when contentLength is { } length => (length + BytesPerSample - 1) / BytesPerSample,
            _ => Limits.MaxBatchSamples,
        };
        return (int)Math.Clamp(samples, 1, Math.Min(Limits.MaxBatchSamples, MaxSamplesInFlight));
    }

    /// <summary>A lease of <paramref name="samples"/> permits, or null when the silo has no room for them now.</summary>
    public Admitted? TryAdmit(int samples)
    {
        var lease = _limiter.AttemptAcquire(samples);
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            return null;
        }

        InFlight.Inc(samples);
        return new Admitted(lease, samples);
    }

    public void Dispose() => _limiter.Dispose();

    internal static void CountRefused(IngestRoute route) =>
        Refused.WithLabels(route == IngestRoute.Single ? "single" : "batch").Inc();

    /// <summary>Held while a request is worked on; disposing it gives its samples' room back.</summary>
    public sealed class Admitted(RateLimitLease lease, int samples) : IDisposable
    {
        public void Dispose()
        {
            InFlight.Dec(samples);
            lease.Dispose();
        }
    }
}

public static class IngestAdmissionExtensions
{
    public static IServiceCollection AddIngestAdmission(this IServiceCollection services)
    {
        services.AddSingleton<IngestAdmission>();
        return services;
    }

    /// <summary>
    /// Admits the route's requests within the silo's bound of samples in flight and answers 503
    /// <c>unavailable</c> with <c>Retry-After</c> beyond it. The filter runs before the handler,
    /// which is where the body is read.
    /// </summary>
    public static RouteHandlerBuilder RequireIngestAdmission(this RouteHandlerBuilder builder, IngestRoute route) =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var admission = http.RequestServices.GetRequiredService<IngestAdmission>();
            using var admitted = admission.TryAdmit(admission.Estimate(route, http.Request.ContentLength));
            if (admitted is null)
            {
                IngestAdmission.CountRefused(route);
                http.Response.Headers.RetryAfter = admission.RetryAfter;
                return ApiErrors.Create(503, ErrorCodes.Unavailable, "the service is at its ingest limit; retry after the Retry-After delay");
            }

            // Held until the handler's answer is built; the answer itself is small.
            return await next(context);
        });
}

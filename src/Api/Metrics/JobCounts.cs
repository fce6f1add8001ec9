using HpcJobs.Grains;
using Microsoft.Extensions.Options;

namespace HpcJobs.Api.Metrics;

/// <summary>The cluster's per-state counts, read from the job-count grain and reused for a moment between scrapes.</summary>
public sealed class JobCounts(IGrainFactory grains, TimeProvider time, IOptions<MetricsOptions> options)
{
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private JobStats? _last;
    private DateTimeOffset _fetched;

    public async Task<JobStats?> GetAsync(CancellationToken cancellationToken)
    {
        if (_last is not null && time.GetUtcNow() - _fetched < options.Value.CountsCacheTime)
        {
            return _last;
        }

        await _refresh.WaitAsync(cancellationToken);
        try
        {
            if (_last is null || time.GetUtcNow() - _fetched >= options.Value.CountsCacheTime)
            {
                _last = await grains.GetGrain<IJobStatsGrain>(0).GetAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
                _fetched = time.GetUtcNow();
            }
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            // Serve the last known counts rather than fail the scrape — also while the grain's silo has
            // died and is not yet declared dead (calls to it are rejected until the grain moves).
        }
        finally
        {
            _refresh.Release();
        }

        return _last;
    }
}

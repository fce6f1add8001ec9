using HpcJobs.Grains;
using HpcJobs.Grains.Nodes;
using Microsoft.Extensions.Options;

namespace HpcJobs.Silo;

/// <summary>The grains' options: retention, the sample window, re-activation, stale jobs and reconciliation.</summary>
public static class GrainSettings
{
    public static WebApplicationBuilder AddJobGrains(this WebApplicationBuilder builder)
    {
        builder.Services.AddJobGrains();
        builder.Services.AddOptions<RetentionOptions>().Configure<IConfiguration>((retention, env) =>
            retention.Days = env.Integer("METRICS_RETENTION_DAYS", 7, 1, 36500)).ValidateOnStart();
        builder.Services.AddOptions<SampleOptions>().Configure<IConfiguration>((samples, env) =>
        {
            samples.MaxClockSkew = env.Seconds("MAX_CLOCK_SKEW_SECONDS", 300, 1, 86_400);
            samples.Interval = env.Seconds("SAMPLE_INTERVAL_SECONDS", 30, 1, 3600);
        }).ValidateOnStart();
        builder.Services.AddOptions<ActivationOptions>().Configure<IConfiguration>((activation, env) =>
            activation.PageSize = env.Integer("ACTIVATION_PAGE_SIZE", 1000, 1, 100_000)).ValidateOnStart();
        builder.Services.AddOptions<StaleJobOptions>().Configure<IConfiguration>((stale, env) =>
            stale.Hours = env.Integer("STALE_JOB_HOURS", 0, 0, 876_000)).ValidateOnStart();
        builder.Services.AddOptions<ReconcileOptions>().Configure<IConfiguration, IOptions<SampleOptions>>((reconcile, env, samples) =>
        {
            reconcile.After = env.Seconds("RECONCILE_AFTER_SECONDS", 600, 0, 30 * 86_400);
            reconcile.Interval = env.Seconds("RECONCILE_INTERVAL_SECONDS", 60, 1, 3600);

            // A heartbeat missed now and then is no gap; three agent intervals without one is.
            var gap = samples.Value.Interval * 3;
            reconcile.MaxGap = reconcile.Enabled && reconcile.After < gap ? reconcile.After : gap;
        }).ValidateOnStart();
        return builder;
    }
}

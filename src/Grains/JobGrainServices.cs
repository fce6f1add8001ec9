using HpcJobs.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HpcJobs.Grains;

/// <summary>
/// The silo's singletons that every <see cref="JobGrain"/> uses, in one object: each activation
/// held its own reference to each of them (twelve fields, about 90 bytes of every active job;
/// docs/benchmarks.md, row 5), and now holds one.
/// </summary>
public sealed class JobGrainServices(
    IJobIndex index,
    ISampleLog samples,
    IJobObserver observer,
    IOptions<SampleOptions> sampleOptions,
    IOptions<RetentionOptions> retentionOptions,
    IOptions<EfficiencyOptions> efficiencyOptions,
    IOptions<StaleJobOptions> staleOptions,
    ActiveJobActivator activator,
    StaleJobSweeper sweeper,
    NamePool names,
    TimeProvider time,
    ILogger<JobGrain> logger)
{
    public IJobIndex Index { get; } = index;

    public ISampleLog Samples { get; } = samples;

    public IJobObserver Observer { get; } = observer;

    public SampleOptions SampleOptions { get; } = sampleOptions.Value;

    public TimeSpan Retention { get; } = TimeSpan.FromDays(retentionOptions.Value.Days);

    public StaleJobOptions StaleOptions { get; } = staleOptions.Value;

    public ActiveJobActivator Activator { get; } = activator;

    public StaleJobSweeper Sweeper { get; } = sweeper;

    public NamePool Names { get; } = names;

    public TimeProvider Time { get; } = time;

    /// <summary>What each job's usage is judged with (<see cref="JobUsage"/>), shared by every job.</summary>
    public JobUsageSettings Usage { get; } = new(sampleOptions.Value.NodeWindow, efficiencyOptions.Value, time);

    public ILogger<JobGrain> Logger { get; } = logger;
}

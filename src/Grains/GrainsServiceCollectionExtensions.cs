using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HpcJobs.Grains;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>What the grains need besides storage: the clock, retention and sample settings, and the job observers.</summary>
    public static IServiceCollection AddJobGrains(
        this IServiceCollection services,
        Action<RetentionOptions> retention,
        Action<SampleOptions>? samples = null,
        Action<EfficiencyOptions>? efficiency = null)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.Configure(retention);
        services.Configure(samples ?? (_ => { }));
        services.Configure(efficiency ?? (_ => { }));
        services.AddOptions<StaleJobOptions>();
        services.TryAddSingleton<Storage.JobListSql>();
        services.TryAddSingleton<IJobObserver, CompositeJobObserver>();
        services.AddSingleton<IJobObserverPart, JobCountForwarder>();
        services.AddSingleton<ActiveJobActivator>();
        services.AddSingleton<IActivationStatus>(sp => sp.GetRequiredService<ActiveJobActivator>());
        services.AddHostedService<DepartedSiloWatcher>();
        return services;
    }
}

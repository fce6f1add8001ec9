using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HpcJobs.Grains;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>What the grains need besides storage: the clock, retention settings and the job observers.</summary>
    public static IServiceCollection AddJobGrains(this IServiceCollection services, Action<RetentionOptions> retention)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.Configure(retention);
        services.TryAddSingleton<IJobObserver, CompositeJobObserver>();
        services.AddSingleton<IJobObserverPart, JobCountForwarder>();
        services.AddSingleton<ActiveJobActivator>();
        services.AddHostedService<DepartedSiloWatcher>();
        return services;
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HpcJobs.Grains;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>What the grains need besides storage and their options: the clock, the job list's SQL, and the job observers.</summary>
    public static IServiceCollection AddJobGrains(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<Storage.JobListSql>();
        services.TryAddSingleton<IJobObserver, CompositeJobObserver>();
        services.AddSingleton<IJobObserverPart, JobCountForwarder>();
        services.AddSingleton<ActiveJobActivator>();
        services.AddSingleton<IActivationStatus>(sp => sp.GetRequiredService<ActiveJobActivator>());
        services.AddHostedService<DepartedSiloWatcher>();
        services.AddSingleton<StaleJobSweeper>();
        services.AddSingleton<NamePool>();
        services.AddSingleton<JobGrainServices>();
        services.AddHostedService(sp => sp.GetRequiredService<StaleJobSweeper>());
        return services;
    }
}

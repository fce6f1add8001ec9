using HpcJobs.Agent.Collection;
using HpcJobs.Agent.Gpus;
using HpcJobs.Agent.Sending;
using HpcJobs.Agent.Spool;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HpcJobs.Agent;

public static class AgentServices
{
    public static IServiceCollection AddAgent(this IServiceCollection services, AgentSettings settings, RunMode mode)
    {
        services.AddSingleton(settings);
        services.AddSingleton(settings.Service);
        services.AddSingleton(settings.Collection);
        services.AddSingleton(settings.Spool);
        services.AddSingleton(mode);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(provider =>
        {
            var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger("HpcJobs.Agent.Gpus");
            var options = settings.Collection;
            GpuTool[] tools = [GpuTool.Nvidia(options.NvidiaSmi, options.ToolTimeout, logger), GpuTool.Rocm(options.RocmSmi, options.ToolTimeout, logger)];
            return new Collector(options.CgroupRoot, "/proc", settings.Service.Node, tools, provider.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton(provider => new BatchSpool(settings.Spool, provider.GetRequiredService<ILoggerFactory>().CreateLogger("HpcJobs.Agent.Spool")));
        services.AddSingleton(_ => new ServiceClient(settings.Service));
        services.AddSingleton(provider => new Delivery(
            provider.GetRequiredService<ServiceClient>(), provider.GetRequiredService<BatchSpool>(), settings.Spool, settings.Service,
            provider.GetRequiredService<ILoggerFactory>().CreateLogger("HpcJobs.Agent.Sending")));
        services.AddSingleton(provider => new DryRun(Console.Out, provider.GetRequiredService<BatchSpool>(), settings.Spool, settings.Service));
        services.AddHostedService<AgentWorker>();
        return services;
    }
}

namespace HpcJobs.Silo.Demo;

public static class DemoSetup
{
    /// <summary><c>--seed-demo</c> seeds once the silo is up; <c>DEMO_COLLECTOR=1</c> keeps the demo moving.</summary>
    public static WebApplicationBuilder AddDemo(this WebApplicationBuilder builder, ServiceSettings settings)
    {
        if (settings.SeedDemo)
        {
            builder.Services.AddSingleton<DemoSeeder>();
            builder.Services.AddHostedService<DemoSeedOnStart>();
        }

        if (settings.DemoCollector)
        {
            builder.Services.AddHostedService<DemoCollector>();
        }

        return builder;
    }

    /// <summary>Seeds after the host (and so the silo) has started.</summary>
    private sealed class DemoSeedOnStart(DemoSeeder seeder, IHostApplicationLifetime lifetime) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            lifetime.ApplicationStarted.Register(() => _ = seeder.SeedAsync(lifetime.ApplicationStopping));
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

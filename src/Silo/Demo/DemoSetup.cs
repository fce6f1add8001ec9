namespace HpcJobs.Silo.Demo;

public static class DemoSetup
{
    /// <summary><c>--seed-demo</c> seeds once the silo is up; <c>DEMO_COLLECTOR=1</c> (or <c>--demo-collector</c>) keeps the demo moving.</summary>
    public static WebApplicationBuilder AddDemo(this WebApplicationBuilder builder, string[] args)
    {
        if (args.Contains("--seed-demo", StringComparer.Ordinal))
        {
            builder.Services.AddSingleton<DemoSeeder>();
            builder.Services.AddHostedService<DemoSeedOnStart>();
        }

        if (builder.Configuration.Flag("DEMO_COLLECTOR") || args.Contains("--demo-collector", StringComparer.Ordinal))
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

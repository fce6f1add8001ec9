using HpcJobs.Api.Security;
using Orleans.Dashboard;

namespace HpcJobs.Silo;

/// <summary>
/// The Orleans Dashboard (opt-in, <see cref="DashboardSettings"/>): cluster, silos, grain types and
/// their call rates, on the service's own port under <see cref="Path"/>. It times every grain call
/// and keeps recent log lines in memory, which is why it is off unless asked for.
/// </summary>
public static class DashboardSetup
{
    public const string Path = "/dashboard";

    /// <exception cref="SettingsException">ORLEANS_DASHBOARD is neither 1 nor 0.</exception>
    public static WebApplicationBuilder AddDashboard(this WebApplicationBuilder builder)
    {
        var settings = DashboardSettings.Load(builder.Configuration);
        builder.Services.AddSingleton(settings);
        if (settings.Enabled)
        {
            // The live log stream stays off: it would hold a connection open for an hour per viewer.
            builder.UseOrleans(silo => silo.AddDashboard(dashboard => dashboard.HideTrace = true));
        }

        return builder;
    }

    /// <summary>The page and the JSON API it polls. With tokens set, both need a read token like every other read.</summary>
    public static WebApplication MapDashboard(this WebApplication app)
    {
        if (app.Services.GetRequiredService<DashboardSettings>().Enabled)
        {
            app.MapOrleansDashboard(routePrefix: Path).RequireAuthorization(AccessPolicies.Read);
        }

        return app;
    }
}

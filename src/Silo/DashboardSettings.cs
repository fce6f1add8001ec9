namespace HpcJobs.Silo;

/// <summary><c>ORLEANS_DASHBOARD</c>: <c>1</c> serves the Orleans Dashboard under <c>/dashboard</c>; <c>0</c>, the default, leaves it out.</summary>
public sealed record DashboardSettings(bool Enabled)
{
    public const string Variable = "ORLEANS_DASHBOARD";

    /// <summary>Read while registering, not as options: it decides whether the dashboard is registered at all.</summary>
    public static DashboardSettings Load(IConfiguration configuration) => new(configuration.Flag(Variable));
}

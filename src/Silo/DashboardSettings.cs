namespace HpcJobs.Silo;

/// <summary><c>ORLEANS_DASHBOARD</c>: <c>1</c> serves the Orleans Dashboard under <c>/dashboard</c>; <c>0</c>, the default, leaves it out.</summary>
public sealed record DashboardSettings(bool Enabled)
{
    public const string Variable = "ORLEANS_DASHBOARD";

    public static DashboardSettings Load(IConfiguration configuration) => new(configuration[Variable] switch
    {
        null or "" or "0" or "false" => false,
        "1" or "true" => true,
        var other => throw new SettingsException(Variable, other, "must be 1 or 0"),
    });
}

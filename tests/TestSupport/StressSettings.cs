namespace HpcJobs.Tests.Support;

/// <summary>Long runs are opt-in with STRESS_TEST=1; CI runs the short version of each.</summary>
public static class StressSettings
{
    public static bool Enabled => Environment.GetEnvironmentVariable("STRESS_TEST") == "1";

    public static int Seconds(int normal, int stress) => Enabled ? stress : normal;

    public static int Count(int normal, int stress) => Enabled ? stress : normal;
}

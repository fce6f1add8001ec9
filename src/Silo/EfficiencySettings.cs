using System.Globalization;
using HpcJobs.Grains;

namespace HpcJobs.Silo;

/// <summary>The flag thresholds (<c>FLAG_*</c>), read and checked at start like every setting.</summary>
public static class EfficiencySettings
{
    /// <summary>Binds the thresholds for the grains, the writer and the list.</summary>
    public static WebApplicationBuilder AddEfficiencyFlags(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<EfficiencyOptions>().Configure<IConfiguration>((flags, env) =>
        {
            flags.IdleGpuPercent = Percent(env, "FLAG_IDLE_GPU_PERCENT", flags.IdleGpuPercent);
            flags.LowCpuPercent = Percent(env, "FLAG_LOW_CPU_PERCENT", flags.LowCpuPercent);
            flags.MinRuntime = Minutes(env, "FLAG_MIN_RUNTIME_MINUTES", flags.MinRuntime);
            flags.MemoryOverallocatedPercent = Percent(env, "FLAG_MEMORY_OVERALLOCATED_PERCENT", flags.MemoryOverallocatedPercent);
            flags.NearMemoryLimitPercent = Percent(env, "FLAG_NEAR_MEMORY_LIMIT_PERCENT", flags.NearMemoryLimitPercent);
            flags.NoDataAfter = Minutes(env, "FLAG_NO_DATA_MINUTES", flags.NoDataAfter);
        }).ValidateOnStart();
        return builder;
    }

    private static double Percent(IConfiguration configuration, string name, double fallback) =>
        configuration.Read(name, fallback, (string text, out double value) =>
            double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && value is >= 0 and <= 100, "must be a number from 0 to 100 (percent)");

    private static TimeSpan Minutes(IConfiguration configuration, string name, TimeSpan fallback) =>
        TimeSpan.FromMinutes(configuration.Read(name, (int)fallback.TotalMinutes, (string text, out int value) =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value is >= 0 and <= 100_000, "must be a whole number of minutes from 0 to 100000"));
}

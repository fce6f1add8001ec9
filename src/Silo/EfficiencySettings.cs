using System.Globalization;
using HpcJobs.Grains;

namespace HpcJobs.Silo;

/// <summary>The flag thresholds (<c>FLAG_*</c>), read and checked at start like every setting.</summary>
public static class EfficiencySettings
{
    /// <summary>Reads the thresholds and registers them for the grains, the writer and the list.</summary>
    public static WebApplicationBuilder AddEfficiencyFlags(this WebApplicationBuilder builder)
    {
        var options = Load(builder.Configuration);
        builder.Services.Configure<EfficiencyOptions>(configured =>
        {
            configured.IdleGpuPercent = options.IdleGpuPercent;
            configured.LowCpuPercent = options.LowCpuPercent;
            configured.MinRuntime = options.MinRuntime;
            configured.MemoryOverallocatedPercent = options.MemoryOverallocatedPercent;
            configured.NearMemoryLimitPercent = options.NearMemoryLimitPercent;
            configured.NoDataAfter = options.NoDataAfter;
        });
        return builder;
    }

    public static EfficiencyOptions Load(IConfiguration configuration)
    {
        var defaults = new EfficiencyOptions();
        return new EfficiencyOptions
        {
            IdleGpuPercent = Percent(configuration, "FLAG_IDLE_GPU_PERCENT", defaults.IdleGpuPercent),
            LowCpuPercent = Percent(configuration, "FLAG_LOW_CPU_PERCENT", defaults.LowCpuPercent),
            MinRuntime = Minutes(configuration, "FLAG_MIN_RUNTIME_MINUTES", defaults.MinRuntime),
            MemoryOverallocatedPercent = Percent(configuration, "FLAG_MEMORY_OVERALLOCATED_PERCENT", defaults.MemoryOverallocatedPercent),
            NearMemoryLimitPercent = Percent(configuration, "FLAG_NEAR_MEMORY_LIMIT_PERCENT", defaults.NearMemoryLimitPercent),
            NoDataAfter = Minutes(configuration, "FLAG_NO_DATA_MINUTES", defaults.NoDataAfter),
        };
    }

    private static double Percent(IConfiguration configuration, string name, double fallback)
    {
        if (configuration[name] is not { Length: > 0 } text)
        {
            return fallback;
        }

        return double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= 100
            ? value
            : throw new SettingsException(name, text, "must be a number from 0 to 100 (percent)");
    }

    private static TimeSpan Minutes(IConfiguration configuration, string name, TimeSpan fallback)
    {
        if (configuration[name] is not { Length: > 0 } text)
        {
            return fallback;
        }

        return int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= 100_000
            ? TimeSpan.FromMinutes(value)
            : throw new SettingsException(name, text, "must be a whole number of minutes from 0 to 100000");
    }
}

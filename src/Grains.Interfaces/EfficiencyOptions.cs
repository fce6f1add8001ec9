namespace HpcJobs.Grains;

/// <summary>The flag thresholds (contract, "Efficiency summary and flags"); each an environment variable.</summary>
public sealed class EfficiencyOptions
{
    /// <summary>A GPU below this utilisation (percent) is idle: <c>idle_gpu</c> and <c>gpu_idle_fraction</c> (<c>FLAG_IDLE_GPU_PERCENT</c>).</summary>
    public double IdleGpuPercent { get; set; } = 5;

    /// <summary><c>low_cpu</c> below this mean CPU percent (<c>FLAG_LOW_CPU_PERCENT</c>).</summary>
    public double LowCpuPercent { get; set; } = 25;

    /// <summary>The runtime before <c>idle_gpu</c>, <c>low_cpu</c> and <c>memory_overallocated</c> are judged (<c>FLAG_MIN_RUNTIME_MINUTES</c>).</summary>
    public TimeSpan MinRuntime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary><c>memory_overallocated</c> when the peak is below this share of the allocation, percent (<c>FLAG_MEMORY_OVERALLOCATED_PERCENT</c>).</summary>
    public double MemoryOverallocatedPercent { get; set; } = 25;

    /// <summary><c>near_memory_limit</c> when the peak reaches this share of the allocation, percent (<c>FLAG_NEAR_MEMORY_LIMIT_PERCENT</c>).</summary>
    public double NearMemoryLimitPercent { get; set; } = 95;

    /// <summary><c>no_data</c>: a running job this old with no sample this recent (<c>FLAG_NO_DATA_MINUTES</c>).</summary>
    public TimeSpan NoDataAfter { get; set; } = TimeSpan.FromMinutes(10);
}

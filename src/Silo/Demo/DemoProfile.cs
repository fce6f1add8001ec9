using HpcJobs.Grains;

namespace HpcJobs.Silo.Demo;

/// <summary>The usage shape of a demo job: what its CPU, memory and GPU do over its life.</summary>
public enum DemoShape
{
    /// <summary>CPU ramps up over ten minutes, then a noisy plateau.</summary>
    Steady,

    /// <summary>GPU training: GPU near full, CPU feeding it, memory flat.</summary>
    GpuTraining,

    /// <summary>Holds a GPU it does not use.</summary>
    IdleGpu,

    /// <summary>Memory grows without bound.</summary>
    MemoryLeak,

    /// <summary>CPU in bursts (I/O-bound phases between compute).</summary>
    Bursty,
}

/// <summary>Deterministic usage for a demo job at a moment of its life.</summary>
public sealed record DemoProfile(DemoShape Shape, long BaseMemoryMb, double Level)
{
    public static DemoProfile For(string jobId, bool gpu)
    {
        var hash = (uint)StableHash(jobId);
        var shape = gpu
            ? (hash % 4 == 0 ? DemoShape.IdleGpu : DemoShape.GpuTraining)
            : (hash % 3) switch { 0 => DemoShape.Steady, 1 => DemoShape.MemoryLeak, _ => DemoShape.Bursty };
        return new DemoProfile(shape, 2048 + (hash % 29) * 1024, 55 + (hash % 40));
    }

    public bool UsesGpu => Shape is DemoShape.GpuTraining or DemoShape.IdleGpu;

    public UsageSample At(DateTimeOffset start, DateTimeOffset at, Random noise)
    {
        var minutes = Math.Max(0, (at - start).TotalMinutes);
        var ramp = Math.Min(1, minutes / 10);
        double Jitter(double spread) => (noise.NextDouble() - 0.5) * 2 * spread;
        var (cpu, memory, gpu) = Shape switch
        {
            DemoShape.Steady => (Level * ramp + Jitter(4), BaseMemoryMb * (0.6 + 0.4 * ramp), (double?)null),
            DemoShape.GpuTraining => (35 + 15 * ramp + Jitter(6), BaseMemoryMb * 2.0, 92 * ramp + Jitter(3)),
            DemoShape.IdleGpu => (3 + Jitter(2), BaseMemoryMb * 0.5, (double?)(0.5 + noise.NextDouble())),
            DemoShape.MemoryLeak => (Level * ramp + Jitter(5), BaseMemoryMb + minutes * 48, null),
            _ => ((minutes % 20 < 8 ? Level + 20 : 12) + Jitter(6), BaseMemoryMb * (0.8 + Jitter(0.1)), null),
        };
        return new UsageSample(
            Grains.Storage.MicrosecondTime.Truncate(at),
            Math.Round(Math.Clamp(cpu, 0, 100), 2),
            (long)Math.Max(64, memory),
            gpu is { } g ? Math.Round(Math.Clamp(g, 0, 100), 2) : null);
    }

    private static int StableHash(string text)
    {
        var hash = 17;
        foreach (var c in text)
        {
            hash = unchecked((hash * 31) + c);
        }

        return hash;
    }
}

namespace HpcJobs.Agent.Gpus;

/// <summary>One GPU as a vendor tool reports it; a null figure is one the tool reported as not available.</summary>
public sealed record GpuDevice(string Key, double? Utilization, double? MemoryUsedMb);

/// <summary>A compute process on a GPU; <see cref="UsedMemoryMb"/> is null when the tool does not say.</summary>
public sealed record GpuProcess(int Pid, string GpuKey, double? UsedMemoryMb);

public sealed record GpuSnapshot(IReadOnlyList<GpuDevice> Devices, IReadOnlyList<GpuProcess> Processes)
{
    public static readonly GpuSnapshot Empty = new([], []);

    public static GpuSnapshot Combine(IReadOnlyList<GpuSnapshot> parts) =>
        parts.Count == 1 ? parts[0] : new([.. parts.SelectMany(p => p.Devices)], [.. parts.SelectMany(p => p.Processes)]);
}

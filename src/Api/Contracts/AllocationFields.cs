using System.Text.Json;
using HpcJobs.Grains;

namespace HpcJobs.Api.Contracts;

/// <summary>
/// What the scheduler allocated, as <c>POST /v1/jobs</c> (<c>allocated_cpus</c>, ...) and
/// <c>job-started</c> (<c>cpu_allocation</c>, ...) spell it; the GPU and cgroup fields are named alike.
/// </summary>
internal sealed record AllocationFields(string Cpus, string MemoryMb, string Gpus)
{
    public const int MaxCpus = 10_000_000;
    public const int MaxGpus = 100_000;
    public const int MaxGpuDevices = 1024;
    public const int MaxPathLength = 4096;

    public static AllocationFields Job { get; } = new("allocated_cpus", "allocated_memory_mb", "allocated_gpus");

    public static AllocationFields Event { get; } = new("cpu_allocation", "memory_allocation_mb", "gpu_allocation");

    public static readonly string[] GpuVendors = ["none", "nvidia", "amd", "mixed"];

    public string[] Names => [Cpus, MemoryMb, Gpus, "gpu_vendor", "gpu_devices", "cgroup_path"];

    public JobAllocation? Read(Fields fields)
    {
        var cpus = fields.Integer(Cpus, required: false, 0, MaxCpus);
        var memory = fields.Integer(MemoryMb, required: false, 0, SampleRequest.MaxMemoryMb);
        var gpus = fields.Integer(Gpus, required: false, 0, MaxGpus);
        var vendor = fields.Text("gpu_vendor", required: false);
        if (vendor is not null && !GpuVendors.Contains(vendor))
        {
            fields.Fail("gpu_vendor", "must be one of none, nvidia, amd, mixed");
        }

        var devices = ReadDevices(fields);
        var cgroup = fields.Text("cgroup_path", required: false, MaxPathLength);
        return fields.HasErrors
            ? null
            : new JobAllocation((int?)cpus, memory, (int?)gpus, vendor, devices, cgroup).OrNone();
    }

    /// <summary>GPU UUIDs or indices: strings, or whole numbers (an index) which are kept as text.</summary>
    private static IReadOnlyList<string>? ReadDevices(Fields fields)
    {
        if (fields.Raw("gpu_devices") is not { } raw)
        {
            return null;
        }

        if (raw.ValueKind != JsonValueKind.Array || raw.GetArrayLength() > MaxGpuDevices)
        {
            fields.Fail("gpu_devices", $"must be an array of at most {MaxGpuDevices} GPU UUIDs or indices");
            return null;
        }

        var devices = new List<string>(raw.GetArrayLength());
        foreach (var item in raw.EnumerateArray())
        {
            var device = item.ValueKind switch
            {
                JsonValueKind.String => item.GetString(),
                JsonValueKind.Number when item.TryGetInt32(out var index) && index >= 0 => index.ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => null,
            };
            if (device is not { Length: > 0 and <= Limits.MaxTextLength } || device.Any(char.IsControl))
            {
                fields.Fail("gpu_devices", $"each device must be a GPU UUID or index of 1 to {Limits.MaxTextLength} printable characters");
                return null;
            }

            devices.Add(device);
        }

        return devices;
    }
}

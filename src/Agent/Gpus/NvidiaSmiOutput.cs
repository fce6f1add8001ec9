using System.Globalization;

namespace HpcJobs.Agent.Gpus;

/// <summary>
/// nvidia-smi's CSV output with <c>--format=csv,noheader,nounits</c>:
/// <c>--query-gpu=index,uuid,utilization.gpu,memory.used</c> gives <c>0, GPU-…, 45, 1024</c> (percent, MiB);
/// <c>--query-compute-apps=pid,gpu_uuid,used_memory</c> gives <c>4242, GPU-…, 512</c> (MiB), or nothing
/// when no compute process runs. A value the GPU cannot report is <c>[N/A]</c> (or <c>[Not Supported]</c>).
/// </summary>
public static class NvidiaSmiOutput
{
    public const string GpuQuery = "--query-gpu=index,uuid,utilization.gpu,memory.used --format=csv,noheader,nounits";
    public const string AppsQuery = "--query-compute-apps=pid,gpu_uuid,used_memory --format=csv,noheader,nounits";

    public static List<GpuDevice> ParseGpus(string text)
    {
        var devices = new List<GpuDevice>();
        foreach (var line in Lines(text))
        {
            var fields = line.Split(',', StringSplitOptions.TrimEntries);
            if (fields.Length < 4 || !int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out _) || fields[1].Length == 0)
            {
                continue;
            }

            devices.Add(new GpuDevice(Key(fields[1]), Number(fields[2]), Number(fields[3])));
        }

        return devices;
    }

    public static List<GpuProcess> ParseApps(string text)
    {
        var processes = new List<GpuProcess>();
        foreach (var line in Lines(text))
        {
            var fields = line.Split(',', StringSplitOptions.TrimEntries);

            // "No running processes found" and other notices have no pid field.
            if (fields.Length < 3 || !int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || fields[1].Length == 0)
            {
                continue;
            }

            processes.Add(new GpuProcess(pid, Key(fields[1]), Number(fields[2])));
        }

        return processes;
    }

    public static string Key(string uuid) => "nvidia:" + uuid;

    /// <summary>A number, or null for <c>[N/A]</c>, <c>[Not Supported]</c> and anything else that is not one.</summary>
    internal static double? Number(string field) =>
        double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) && value >= 0
            ? value
            : null;

    private static IEnumerable<string> Lines(string text) =>
        text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}

using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace HpcJobs.Agent.Gpus;

/// <summary>
/// rocm-smi's output, as its rocm_smi.py writes it:
/// <c>--showuse --showmeminfo vram --json</c> prints one object keyed <c>card0</c>, <c>card1</c>, … whose
/// values are strings: <c>"GPU use (%)"</c> (percent busy) and <c>"VRAM Total Used Memory (B)"</c> (bytes).
/// Which GPUs a process uses is only in the text of <c>--showpidgpus</c> (under <c>--json</c> that option
/// prints nothing): <c>PID 4242 is using 2 DRM device(s):</c> followed by a line of device indices
/// (<c>0 1</c>), the same indices as <c>cardN</c>. rocm-smi gives no per-process memory per GPU.
/// </summary>
public static partial class RocmSmiOutput
{
    public const string DevicesQuery = "--showuse --showmeminfo vram --json";
    public const string PidGpusQuery = "--showpidgpus";

    public static List<GpuDevice> ParseDevices(string text)
    {
        var devices = new List<GpuDevice>();
        var start = text.IndexOf('{');
        var end = text.LastIndexOf('}');
        if (start < 0 || end < start)
        {
            return devices;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text.AsMemory(start, end - start + 1));
        }
        catch (JsonException)
        {
            return devices;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return devices;
            }

            foreach (var card in document.RootElement.EnumerateObject())
            {
                if (!card.Name.StartsWith("card", StringComparison.Ordinal)
                    || !int.TryParse(card.Name.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                    || card.Value.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                var used = Number(card.Value, "VRAM Total Used Memory (B)");
                devices.Add(new GpuDevice(Key(index), Number(card.Value, "GPU use (%)"), used / (1024.0 * 1024.0)));
            }
        }

        return devices;
    }

    public static List<GpuProcess> ParsePidGpus(string text)
    {
        var processes = new List<GpuProcess>();
        var lines = text.Split('\n', StringSplitOptions.TrimEntries);
        for (var i = 0; i < lines.Length; i++)
        {
            var match = PidLine().Match(lines[i]);
            if (!match.Success)
            {
                continue;
            }

            var pid = int.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
            var count = int.Parse(match.Groups[2].ValueSpan, CultureInfo.InvariantCulture);
            var found = 0;

            // The indices follow on the next line(s), wrapped at 80 columns.
            while (found < count && i + 1 < lines.Length && IndexLine().IsMatch(lines[i + 1]))
            {
                foreach (var index in lines[++i].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    processes.Add(new GpuProcess(pid, Key(int.Parse(index, CultureInfo.InvariantCulture)), null));
                    found++;
                }
            }
        }

        return processes;
    }

    public static string Key(int index) => "amd:" + index.ToString(CultureInfo.InvariantCulture);

    private static double? Number(JsonElement card, string name)
    {
        if (!card.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.Number when value.GetDouble() is var n && n >= 0 => n,
            JsonValueKind.String => NvidiaSmiOutput.Number(value.GetString()!),
            _ => null,
        };
    }

    [GeneratedRegex(@"^PID (\d+) is using (\d+) DRM device\(s\):?$")]
    private static partial Regex PidLine();

    [GeneratedRegex(@"^\d+( +\d+)*$")]
    private static partial Regex IndexLine();
}

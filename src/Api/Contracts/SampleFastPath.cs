using System.Text.Json;
using HpcJobs.Api.Json;
using HpcJobs.Grains;

namespace HpcJobs.Api.Contracts;

/// <summary>
/// The ingest hot path's reader for one sample object. It accepts only a sample that is valid with
/// each field given once, and reads it without the per-field dictionaries of <see cref="Fields"/>;
/// anything else returns <see langword="false"/> and the caller reads the object again through
/// <see cref="Fields"/>, which names every problem. The rules are therefore those of
/// <see cref="SampleRequest.Read"/>; tests run both readers over the same inputs.
/// </summary>
internal static class SampleFastPath
{
    private const int JobIdField = 1 << 0;
    private const int CpuField = 1 << 1;
    private const int MemoryField = 1 << 2;
    private const int GpuField = 1 << 3;
    private const int TimestampField = 1 << 4;
    private const int NodeField = 1 << 5;
    private const int GpuMemoryField = 1 << 6;
    private const int MemoryPeakField = 1 << 7;
    private const int OomKillsField = 1 << 8;

    public static bool TryRead(JsonElement item, bool withJobId, DateTimeOffset now, out string? jobId, out UsageSample? sample)
    {
        jobId = null;
        sample = null;
        if (item.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        var seen = 0;
        double cpu = 0;
        long memory = 0;
        double? gpu = null;
        DateTimeOffset? timestamp = null;
        string? node = null;
        long? gpuMemory = null, memoryPeak = null, oomKills = null;
        foreach (var property in item.EnumerateObject())
        {
            var value = property.Value;
            int field;
            if (property.NameEquals("cpu_usage") || property.NameEquals("cpuUsage"))
            {
                field = CpuField;
                if (!TryPercent(value, out cpu))
                {
                    return false;
                }
            }
            else if (property.NameEquals("memory_usage_mb") || property.NameEquals("memoryUsageMb"))
            {
                field = MemoryField;
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out memory)
                    || memory < 0 || memory > SampleRequest.MaxMemoryMb)
                {
                    return false;
                }
            }
            else if (property.NameEquals("gpu_usage") || property.NameEquals("gpuUsage"))
            {
                field = GpuField;
                if (value.ValueKind != JsonValueKind.Null)
                {
                    if (!TryPercent(value, out var percent))
                    {
                        return false;
                    }

                    gpu = percent;
                }
            }
            else if (property.NameEquals("timestamp"))
            {
                field = TimestampField;
                if (value.ValueKind != JsonValueKind.Null)
                {
                    if (value.ValueKind != JsonValueKind.String || !TryTimestamp(value, out var time))
                    {
                        return false;
                    }

                    timestamp = time;
                }
            }
            else if (property.NameEquals("node"))
            {
                field = NodeField;
                if (value.ValueKind != JsonValueKind.Null)
                {
                    if (value.ValueKind != JsonValueKind.String
                        || value.GetString() is not { Length: > 0 and <= Limits.MaxTextLength } name
                        || name.Contains('\0', StringComparison.Ordinal))
                    {
                        return false;
                    }

                    node = name;
                }
            }
            else if (property.NameEquals("gpu_memory_mb") || property.NameEquals("gpuMemoryMb"))
            {
                field = GpuMemoryField;
                if (!TryOptionalCount(value, SampleRequest.MaxMemoryMb, out gpuMemory))
                {
                    return false;
                }
            }
            else if (property.NameEquals("memory_peak_mb") || property.NameEquals("memoryPeakMb"))
            {
                field = MemoryPeakField;
                if (!TryOptionalCount(value, SampleRequest.MaxMemoryMb, out memoryPeak))
                {
                    return false;
                }
            }
            else if (property.NameEquals("oom_kills") || property.NameEquals("oomKills"))
            {
                field = OomKillsField;
                if (!TryOptionalCount(value, SampleRequest.MaxCount, out oomKills))
                {
                    return false;
                }
            }
            else if (withJobId && (property.NameEquals("job_id") || property.NameEquals("jobId")))
            {
                field = JobIdField;
                if (value.ValueKind != JsonValueKind.String || JobId.Problem(jobId = value.GetString()) is not null)
                {
                    return false;
                }
            }
            else
            {
                continue;
            }

            if ((seen & field) != 0)
            {
                return false;
            }

            seen |= field;
        }

        var required = CpuField | MemoryField | (withJobId ? JobIdField : 0);
        if ((seen & required) != required)
        {
            return false;
        }

        sample = new UsageSample(
            timestamp ?? Grains.Storage.MicrosecondTime.Truncate(now), cpu, memory, gpu, node, gpuMemory, memoryPeak, oomKills);
        return true;
    }

    /// <summary>
    /// <see cref="Rfc3339.TryParse(string?, out DateTimeOffset)"/> of the string's value, read from the
    /// document's bytes instead of a new string (one per sample of a batch). A value with an escape or
    /// a byte outside ASCII is read as a string, as before: only for plain ASCII are the bytes the characters.
    /// </summary>
    private static bool TryTimestamp(JsonElement value, out DateTimeOffset time)
    {
        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value);
        if (raw.Length < 2 || raw.Length - 2 > Rfc3339.MaxLength || raw.Contains((byte)'\\') || !System.Text.Ascii.IsValid(raw))
        {
            return Rfc3339.TryParse(value.GetString(), out time);
        }

        Span<char> text = stackalloc char[Rfc3339.MaxLength];
        var length = System.Text.Encoding.ASCII.GetChars(raw[1..^1], text);
        return Rfc3339.TryParse(text[..length], out time);
    }

    private static bool TryOptionalCount(JsonElement value, long max, out long? count)
    {
        count = null;
        if (value.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number) || number < 0 || number > max)
        {
            return false;
        }

        count = number;
        return true;
    }

    private static bool TryPercent(JsonElement value, out double percent)
    {
        percent = 0;
        return value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out percent)
            && double.IsFinite(percent) && percent >= 0 && percent <= 100;
    }
}

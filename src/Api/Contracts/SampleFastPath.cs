using System.Runtime.InteropServices;
using System.Text;
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

    /// <summary>Room for the longest field name (<c>memory_usage_mb</c>) and more.</summary>
    private const int LongestFieldName = 32;

    /// <summary>
    /// Reads a sample object; with <paramref name="jobs"/> (a batch item) it must name its job, whose
    /// number in <paramref name="jobs"/> comes back in <paramref name="job"/>.
    /// </summary>
    public static bool TryRead(JsonElement item, BatchJobIds? jobs, DateTimeOffset now, out int job, out UsageSample? sample)
    {
        job = -1;
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
        Span<byte> unescaped = stackalloc byte[LongestFieldName];
        foreach (var property in item.EnumerateObject())
        {
            // Names compared as the document's bytes; a name with an escape (rare) is unescaped first.
            scoped var name = JsonMarshal.GetRawUtf8PropertyName(property);
            if (name.Contains((byte)'\\'))
            {
                var text = property.Name;
                if (text.Length > LongestFieldName || !Encoding.UTF8.TryGetBytes(text, unescaped, out var length))
                {
                    continue; // longer than any field's name: not a field
                }

                name = unescaped[..length];
            }

            var value = property.Value;
            int field;
            if (Is(name, "cpu_usage"u8, "cpuUsage"u8))
            {
                field = CpuField;
                if (!TryPercent(value, out cpu))
                {
                    return false;
                }
            }
            else if (Is(name, "memory_usage_mb"u8, "memoryUsageMb"u8))
            {
                field = MemoryField;
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out memory)
                    || memory < 0 || memory > SampleRequest.MaxMemoryMb)
                {
                    return false;
                }
            }
            else if (Is(name, "gpu_usage"u8, "gpuUsage"u8))
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
            else if (name.SequenceEqual("timestamp"u8))
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
            else if (name.SequenceEqual("node"u8))
            {
                field = NodeField;
                if (value.ValueKind != JsonValueKind.Null)
                {
                    if (value.ValueKind != JsonValueKind.String
                        || value.GetString() is not { Length: > 0 and <= Limits.MaxTextLength } nodeName
                        || nodeName.Contains('\0', StringComparison.Ordinal))
                    {
                        return false;
                    }

                    node = nodeName;
                }
            }
            else if (Is(name, "gpu_memory_mb"u8, "gpuMemoryMb"u8))
            {
                field = GpuMemoryField;
                if (!TryOptionalCount(value, SampleRequest.MaxMemoryMb, out gpuMemory))
                {
                    return false;
                }
            }
            else if (Is(name, "memory_peak_mb"u8, "memoryPeakMb"u8))
            {
                field = MemoryPeakField;
                if (!TryOptionalCount(value, SampleRequest.MaxMemoryMb, out memoryPeak))
                {
                    return false;
                }
            }
            else if (Is(name, "oom_kills"u8, "oomKills"u8))
            {
                field = OomKillsField;
                if (!TryOptionalCount(value, SampleRequest.MaxCount, out oomKills))
                {
                    return false;
                }
            }
            else if (jobs is not null && Is(name, "job_id"u8, "jobId"u8))
            {
                field = JobIdField;
                if (!jobs.TryRead(value, out job))
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

        var required = CpuField | MemoryField | (jobs is not null ? JobIdField : 0);
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
        Span<char> text = stackalloc char[Rfc3339.MaxLength];
        return JsonAsciiText.TryCopy(value, text, out var length)
            ? Rfc3339.TryParse(text[..length], out time)
            : Rfc3339.TryParse(value.GetString(), out time);
    }

    private static bool Is(ReadOnlySpan<byte> name, ReadOnlySpan<byte> snakeCase, ReadOnlySpan<byte> camelCase) =>
        name.SequenceEqual(snakeCase) || name.SequenceEqual(camelCase);

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

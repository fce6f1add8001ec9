using System.Data.Common;

namespace HpcJobs.Grains.Storage;

/// <summary>The row mapping both backends share: every column but the time, which each dialect stores its own way.</summary>
internal static class StorageRows
{
    /// <summary>A sample from columns 1-7: cpu_usage, memory_usage_mb, gpu_usage, node, gpu_memory_mb, memory_peak_mb, oom_kills.</summary>
    public static UsageSample Sample(DbDataReader reader, DateTimeOffset timestamp) => new(
        timestamp,
        reader.GetDouble(1),
        reader.GetInt64(2),
        Nullable<double>(reader, 3),
        reader.GetString(4) is { Length: > 0 } node ? node : null,
        Nullable<long>(reader, 5),
        Nullable<long>(reader, 6),
        Nullable<long>(reader, 7));

    /// <summary>A jobs row's latest usage (columns 1-3, when it has a time) and footprint (column 4).</summary>
    public static StoredUsage Usage(DbDataReader reader, DateTimeOffset? timestamp) => new(
        timestamp is { } ts ? new UsageSample(ts, reader.GetDouble(1), reader.GetInt64(2), Nullable<double>(reader, 3)) : null,
        StorageJson.ReadFootprint(reader.IsDBNull(4) ? null : reader.GetString(4)));

    /// <summary>The scheduler's <c>time_limit_minutes</c> as the JSON column gave it (a whole number, or nothing usable).</summary>
    public static long? TimeLimit(string? text) =>
        long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var minutes) ? minutes : null;

    private static T? Nullable<T>(DbDataReader reader, int column)
        where T : struct => reader.IsDBNull(column) ? null : reader.GetFieldValue<T>(column);
}

using System.Data.Common;
using System.Text;

namespace HpcJobs.Grains.Storage;

/// <summary>
/// The parts of the <c>GET /v1/jobs</c> query both dialects share: the columns of a listed job, the
/// FROM / WHERE clause of the filters with their values in parameter order, and the row mapping.
/// Each filter has an index ordered as the list is (<c>start_time DESC, id</c>).
/// </summary>
internal static class JobListSql
{
    /// <summary>The listed columns; the dialect supplies how to read times and arrays.</summary>
    public const string Columns =
        "j.id, j.user_name, j.nodes, j.state, j.start_time, j.end_time, j.scheduler, " +
        "j.cpu_usage, j.memory_usage_mb, j.gpu_usage, j.last_sample_time, " +
        "j.attempt, j.allocated_cpus, j.allocated_memory_mb, j.allocated_gpus, j.gpu_vendor, j.gpu_devices, j.cgroup_path, j.cluster";

    /// <summary>The FROM and WHERE clause of <paramref name="query"/>, naming parameter i (1-based) with <paramref name="parameter"/>.</summary>
    public static (string Filter, List<string> Values) Filter(JobQuery query, Func<int, string> parameter)
    {
        var values = new List<string>();
        var where = new List<string>();
        void Add(string column, string? value)
        {
            if (value is not null)
            {
                values.Add(value);
                where.Add($"{column} = {parameter(values.Count)}");
            }
        }

        var from = new StringBuilder(" FROM ");
        from.Append(query.Node is null ? "jobs j" : "job_nodes n JOIN jobs j ON j.id = n.job_id");
        Add("n.node", query.Node);
        Add("j.state", query.State?.ToWire());
        Add("j.user_name", query.User);
        Add("j.account", query.Account);
        Add("j.partition", query.Partition);
        Add("j.cluster", query.Cluster);
        if (where.Count > 0)
        {
            from.Append(" WHERE ").Append(string.Join(" AND ", where));
        }

        return (from.ToString(), values);
    }

    /// <summary>One listed job from a row of <see cref="Columns"/>.</summary>
    public static JobView Read(
        DbDataReader reader,
        Func<DbDataReader, int, DateTimeOffset> time,
        Func<DbDataReader, int, IReadOnlyList<string>> strings) => new(
        reader.GetString(0),
        reader.GetString(1),
        strings(reader, 2),
        JobStateMachine.TryParse(reader.GetString(3), out var state) ? state : JobState.Pending,
        time(reader, 4),
        reader.IsDBNull(5) ? null : time(reader, 5),
        reader.IsDBNull(6) ? null : reader.GetString(6),
        reader.IsDBNull(10)
            ? null
            : new UsageSample(time(reader, 10), reader.GetDouble(7), reader.GetInt64(8), reader.IsDBNull(9) ? null : reader.GetDouble(9)),
        new JobAllocation(
            reader.IsDBNull(12) ? null : reader.GetInt32(12),
            reader.IsDBNull(13) ? null : reader.GetInt64(13),
            reader.IsDBNull(14) ? null : reader.GetInt32(14),
            reader.IsDBNull(15) ? null : reader.GetString(15),
            reader.IsDBNull(16) ? null : strings(reader, 16),
            reader.IsDBNull(17) ? null : reader.GetString(17)),
        reader.IsDBNull(18) ? null : reader.GetString(18),
        reader.GetInt32(11));

    /// <summary>The audit columns, in the order <see cref="ReadAudit"/> reads them.</summary>
    public const string AuditColumns = "at, change, from_state, to_state, changed_by, source, correlation_id, details";

    public static AuditEntry ReadAudit(DbDataReader reader, Func<DbDataReader, int, DateTimeOffset> time) => new(
        time(reader, 0),
        reader.GetString(1),
        StateOrNull(reader, 2),
        StateOrNull(reader, 3),
        reader.GetString(4),
        reader.GetString(5),
        reader.IsDBNull(6) ? null : reader.GetString(6),
        reader.IsDBNull(7) ? null : reader.GetString(7));

    private static JobState? StateOrNull(DbDataReader reader, int ordinal) =>
        !reader.IsDBNull(ordinal) && JobStateMachine.TryParse(reader.GetString(ordinal), out var state) ? state : null;
}

using System.Data.Common;
using System.Text;
using Microsoft.Extensions.Options;

namespace HpcJobs.Grains.Storage;

/// <summary>
/// The parts of the <c>GET /v1/jobs</c> query both dialects share: the columns of a listed job, the
/// FROM / WHERE clause of the filters with their values in parameter order, and the row mapping
/// (with the job's summary and flags judged from its stored footprint). Each filter has an index
/// ordered as the list is (<c>start_time DESC, id</c>); a flag is a <c>job_flags</c> lookup, and
/// <c>no_data</c>, which depends on the clock, a range of the running jobs' last sample times.
/// </summary>
public sealed class JobListSql(IOptions<EfficiencyOptions> efficiency, IOptions<SampleOptions> samples, TimeProvider clock)
{
    /// <summary>
    /// The listed columns; the dialect supplies how to read times and arrays. The footprint is read
    /// from job_footprints for the listed rows only (a lookup by key per row of the page), so neither
    /// the filter nor the count joins it.
    /// </summary>
    public const string Columns =
        "j.id, j.user_name, j.nodes, j.state, j.start_time, j.end_time, j.scheduler, " +
        "j.cpu_usage, j.memory_usage_mb, j.gpu_usage, j.last_sample_time, " +
        "j.attempt, j.allocated_cpus, j.allocated_memory_mb, j.allocated_gpus, j.gpu_vendor, j.gpu_devices, j.cgroup_path, j.cluster, " +
        "(SELECT fp.footprint FROM job_footprints fp WHERE fp.job_key = j.job_key), j.flags";

    /// <summary>The audit columns, in the order <see cref="ReadAudit"/> reads them.</summary>
    public const string AuditColumns = "at, change, from_state, to_state, changed_by, source, correlation_id, details";

    private readonly EfficiencyOptions _efficiency = efficiency.Value;
    private readonly TimeSpan _window = samples.Value.NodeWindow;

    /// <summary>
    /// The FROM and WHERE clause of <paramref name="query"/>, naming parameter i (1-based) with
    /// <paramref name="parameter"/>; times are written with <paramref name="timeValue"/>.
    /// </summary>
    public (string Filter, List<object> Values) Filter(JobQuery query, Func<int, string> parameter, Func<DateTimeOffset, object> timeValue)
    {
        var values = new List<object>();
        var where = new List<string>();
        string Next(object value)
        {
            values.Add(value);
            return parameter(values.Count);
        }

        void Add(string column, string? value)
        {
            if (value is not null)
            {
                where.Add($"{column} = {Next(value)}");
            }
        }

        var from = new StringBuilder(" FROM ");
        from.Append(query.Node is null ? "jobs j" : "job_nodes n JOIN jobs j ON j.id = n.job_id");
        if (query.Flag is { } flag && flag != JobFlags.NoData)
        {
            from.Append(" JOIN job_flags f ON f.job_id = j.id");
        }

        Add("n.node", query.Node);
        if (query.Flag == JobFlags.NoData)
        {
            // Running since before the cut-off, and no sample since: what Flagging calls no_data.
            var cutoff = Next(timeValue(clock.GetUtcNow() - _efficiency.NoDataAfter));
            where.Add($"j.state = 'running' AND j.start_time <= {cutoff} AND (j.last_sample_time IS NULL OR j.last_sample_time <= {cutoff})");
        }
        else
        {
            Add("f.flag", query.Flag);
        }

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

    /// <summary>One listed job from a row of <see cref="Columns"/>, with its summary and flags as of now.</summary>
    public JobView Read(
        DbDataReader reader,
        Func<DbDataReader, int, DateTimeOffset> time,
        Func<DbDataReader, int, IReadOnlyList<string>> strings)
    {
        var view = new JobView(
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
        var footprint = StorageJson.ReadFootprint(reader.IsDBNull(19) ? null : reader.GetString(19));
        var stored = footprint is not null && footprint.Attempt == view.Attempt ? footprint : null;
        var (summary, flags) = JobVerdict.Of(stored, JobFacts.Of(view), _window, clock.GetUtcNow(), _efficiency);
        return view with { Summary = summary, Flags = flags };
    }

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

using System.Data.Common;

namespace HpcJobs.Grains.Storage;

/// <summary>
/// Reads the per-state counts the schema's triggers keep in <c>job_counts</c> (exact, and a read of
/// a handful of rows rather than of every job) into a count for every state, zeros included.
/// </summary>
internal static class StateCounts
{
    /// <summary>Per state, summed over the shards (PostgreSQL shards its counts: 015_counter_shards.sql).</summary>
    public const string Sql = "SELECT state, CAST(SUM(jobs) AS BIGINT) FROM job_counts GROUP BY state";

    /// <summary>
    /// The query for a list's <c>total</c> when <c>job_counts</c> answers it exactly (a state-only or
    /// unfiltered list), or null when the filter needs a count over the index.
    /// </summary>
    public static string? TotalSql(JobQuery query, string stateParameter) =>
        !query.FiltersStateOnly ? null
        : "SELECT CAST(COALESCE(SUM(jobs), 0) AS BIGINT) FROM job_counts" + (query.State is null ? string.Empty : $" WHERE state = {stateParameter}");

    public static async Task<IReadOnlyDictionary<JobState, long>> ReadAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        var counts = JobStateMachine.All.ToDictionary(s => s, _ => 0L);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (JobStateMachine.TryParse(reader.GetString(0), out var state))
            {
                counts[state] = reader.GetInt64(1);
            }
        }

        return counts;
    }
}

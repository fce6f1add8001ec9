using System.Data.Common;

namespace HpcJobs.Grains.Storage;

/// <summary>Reads <c>SELECT state, COUNT(*) FROM jobs GROUP BY state</c> into a count for every state, zeros included.</summary>
internal static class StateCounts
{
    public const string Sql = "SELECT state, COUNT(*) FROM jobs GROUP BY state";

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

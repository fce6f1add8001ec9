using System.Globalization;
using Npgsql;

namespace HpcJobs.Bench.Limits;

/// <summary>
/// The service's PostgreSQL schema in an empty database (the sql/postgres scripts 010 onwards of the
/// tree given: the day-partitioned samples table with its unique key and ts index, the jobs table
/// with its indexes and triggers) and running jobs to write samples for — what the limit programs
/// (<see cref="PostgresInsertRate"/>, bench/Baseline's <c>HOP=grain-postgres</c>) start from.
/// </summary>
internal static class PostgresBenchJobs
{
    /// <summary>Applies the schema, inserts running jobs <paramref name="prefix"/>0 .. (<paramref name="count"/> - 1), and returns their ids and job keys by number.</summary>
    public static (string[] Ids, long[] Keys) Create(NpgsqlConnection connection, string schemaDirectory, string prefix, int count)
    {
        foreach (var script in Directory.GetFiles(schemaDirectory, "*.sql").Order(StringComparer.Ordinal)
                     .Where(f => string.CompareOrdinal(Path.GetFileName(f), "010") >= 0))
        {
            Execute(connection, File.ReadAllText(script));
        }

        Execute(connection,
            "INSERT INTO jobs (id, user_name, state, start_time, nodes) " +
            $"SELECT '{prefix}' || i, 'user-' || (i % 100), 'running', now(), ARRAY['node-' || (i % 100)] FROM generate_series(0, {count - 1}) AS i");
        var ids = new string[count];
        var keys = new long[count];
        using var read = new NpgsqlCommand($"SELECT id, job_key FROM jobs WHERE id LIKE '{prefix}%'", connection);
        using var reader = read.ExecuteReader();
        while (reader.Read())
        {
            var i = int.Parse(reader.GetString(0).AsSpan(prefix.Length), CultureInfo.InvariantCulture);
            (ids[i], keys[i]) = (reader.GetString(0), reader.GetInt64(1));
        }

        return (ids, keys);
    }

    public static void Execute(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}

using System.Diagnostics;
using HpcJobs.Grains.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace HpcJobs.Bench;

/// <summary>
/// Rows for the list benchmark, written straight into the jobs table (the only table
/// <c>GET /v1/jobs</c> reads): a million jobs through the API would measure ingest, not queries.
/// </summary>
internal static class Seed
{
    private static readonly string[] States = ["completed", "completed", "completed", "failed", "cancelled", "running", "pending", "completed"];

    public static async Task JobsAsync(string backend, string target, int count)
    {
        var watch = Stopwatch.StartNew();
        if (backend == "sqlite")
        {
            SeedSqlite(target, count);
        }
        else
        {
            await SeedPostgresAsync(target, count);
        }

        Console.WriteLine($"seeded {count} job rows into {backend} in {watch.Elapsed.TotalSeconds:F0} s");
    }

    private static void SeedSqlite(string file, int count)
    {
        using var connection = new SqliteConnection($"Data Source={file}");
        connection.Open();
        foreach (var (_, text) in SqlScripts.For("sqlite"))
        {
            using var schema = connection.CreateCommand();
            schema.CommandText = text;
            schema.ExecuteNonQuery();
        }

        using var transaction = connection.BeginTransaction();
        using var job = connection.CreateCommand();
        job.CommandText = "INSERT INTO jobs (id, user_name, state, start_time, end_time, nodes, cpu_usage, memory_usage_mb) VALUES ($id, $user, $state, $start, $end, $nodes, 50, 4096)";
        using var node = connection.CreateCommand();
        node.CommandText = "INSERT OR IGNORE INTO job_nodes (node, job_id) VALUES ($node, $id)";
        var parameters = new[] { "$id", "$user", "$state", "$start", "$end", "$nodes" }.Select(n => job.Parameters.Add(new SqliteParameter(n, null))).ToArray();
        var nodeParameters = new[] { "$node", "$id" }.Select(n => node.Parameters.Add(new SqliteParameter(n, null))).ToArray();
        var origin = MicrosecondTime.ToUnixMicroseconds(DateTimeOffset.UtcNow.AddDays(-60));
        for (var i = 0; i < count; i++)
        {
            var state = States[i % States.Length];
            var start = origin + (i * 5_000_000L);
            parameters[0].Value = "seed-" + i;
            parameters[1].Value = "user" + (i / States.Length % 200); // every user has jobs of every state
            parameters[2].Value = state;
            parameters[3].Value = start;
            parameters[4].Value = state is "running" or "pending" ? DBNull.Value : start + 3_600_000_000L;
            parameters[5].Value = $"[\"node-{i % 500:D3}\"]";
            job.ExecuteNonQuery();
            nodeParameters[0].Value = $"node-{i % 500:D3}";
            nodeParameters[1].Value = "seed-" + i;
            node.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    /// <summary>
    /// <paramref name="count"/> samples spread over <paramref name="jobs"/> jobs, all older than
    /// <paramref name="daysAgo"/> days, into a file whose schema the service has already made
    /// (so its migrations do not rebuild indexes over them at the next start).
    /// </summary>
    public static void SamplesSqlite(string file, int jobs, long count, int daysAgo)
    {
        var watch = Stopwatch.StartNew();
        using var connection = new SqliteConnection($"Data Source={file}");
        connection.Open();
        using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;";
            pragma.ExecuteNonQuery();
        }

        // The samples of jobs without rows (keys far above any the service gives), on 500 named nodes.
        using (var nodes = connection.CreateCommand())
        {
            nodes.CommandText = """
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 499)
                INSERT OR IGNORE INTO sample_nodes (name) SELECT printf('node-%03d', i) FROM n
                """;
            nodes.ExecuteNonQuery();
        }

        using var insert = connection.CreateCommand();
        insert.CommandText =
            "INSERT INTO samples (job_key, ts, node_key, cpu_usage, memory_usage_mb) VALUES ($job, $ts, (SELECT node_key FROM sample_nodes WHERE name = $node), 50, 4096)";
        var job = insert.Parameters.Add(new SqliteParameter("$job", null));
        var ts = insert.Parameters.Add(new SqliteParameter("$ts", null));
        var node = insert.Parameters.Add(new SqliteParameter("$node", null));
        var end = MicrosecondTime.ToUnixMicroseconds(DateTimeOffset.UtcNow.AddDays(-daysAgo));
        var steps = (count + jobs - 1) / jobs;
        const long Step = 30_000_000L; // a sample every 30 s per job, the agent's default interval
        var written = 0L;
        for (var k = 0; k < steps; k++)
        {
            // In time order, every job's sample of one interval together, as agents deliver them: the
            // table and its time index fill in time order, the (job, ts, node) key job by job.
            using var transaction = connection.BeginTransaction();
            insert.Transaction = transaction;
            ts.Value = end - ((steps - k) * Step);
            for (var j = 0; j < jobs && written < count; j++, written++)
            {
                job.Value = 1_000_000_000L + j;
                node.Value = $"node-{j % 500:D3}";
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        Console.WriteLine($"seeded {count} samples over {jobs} jobs, older than {daysAgo} days, in {watch.Elapsed.TotalSeconds:F0} s");
    }

    private static async Task SeedPostgresAsync(string connectionString, int count)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var (_, text) in SqlScripts.For("postgres"))
        {
            await using var schema = new NpgsqlCommand(text, connection);
            await schema.ExecuteNonQueryAsync();
        }

        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO jobs (id, user_name, state, start_time, end_time, nodes, cpu_usage, memory_usage_mb)
            SELECT 'seed-' || g, 'user' || ((g / 8) % 200), s.state, now() - interval '60 days' + g * interval '5 seconds',
                   CASE WHEN s.state IN ('running', 'pending') THEN NULL ELSE now() - interval '60 days' + g * interval '5 seconds' + interval '1 hour' END,
                   ARRAY['node-' || lpad((g % 500)::text, 3, '0')], 50, 4096
            FROM generate_series(0, @count - 1) AS g
            CROSS JOIN LATERAL (SELECT (ARRAY['completed','completed','completed','failed','cancelled','running','pending','completed'])[(g % 8) + 1] AS state) AS s;
            INSERT INTO job_nodes (node, job_id) SELECT nodes[1], id FROM jobs WHERE id LIKE 'seed-%' ON CONFLICT DO NOTHING;
            ANALYZE jobs; ANALYZE job_nodes;
            """,
            connection);
        insert.CommandTimeout = 600;
        insert.Parameters.AddWithValue("count", count);
        await insert.ExecuteNonQueryAsync();
    }
}

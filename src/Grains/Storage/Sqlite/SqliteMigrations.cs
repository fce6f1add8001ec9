using Microsoft.Data.Sqlite;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// Brings a file made by an earlier release up to the current schema, around sql/sqlite/*.sql.
/// SQLite has no <c>ADD COLUMN IF NOT EXISTS</c>, so the columns are checked here; each step is
/// idempotent and runs at every start.
/// </summary>
internal static class SqliteMigrations
{
    /// <summary>The samples table of files made before the integer sample key, while it is being rebuilt.</summary>
    private const string TextKeyedSamples = "samples_by_job_id";

    /// <summary>
    /// Before the scripts: a samples table keyed by the job id text (it has a <c>job_id</c> column) is
    /// set aside under <see cref="TextKeyedSamples"/>, without its indexes, so that the scripts create
    /// the keyed table in its place and <see cref="Apply"/> moves the rows into it.
    /// </summary>
    public static void BeforeScripts(SqliteConnection connection)
    {
        if (!HasColumn(connection, "samples", "job_id"))
        {
            return;
        }

        using var transaction = connection.BeginTransaction(deferred: false);
        foreach (var index in new[] { "samples_by_time", "samples_identity", "samples_by_job_time" })
        {
            Execute(connection, transaction, $"DROP INDEX IF EXISTS {index}");
        }

        Execute(connection, transaction, $"ALTER TABLE samples RENAME TO {TextKeyedSamples}");
        transaction.Commit();
    }

    public static void Apply(SqliteConnection connection)
    {
        AddColumn(connection, "jobs", "version", "INTEGER NOT NULL DEFAULT 1");
        AddLifecycleColumns(connection);
        AddFlags(connection);

        // When the grain last wrote the lifecycle (PostgreSQL has had it from the start): with the
        // start and the newest sample, how recent a job's activity is for the re-activation passes.
        AddColumn(connection, "jobs", "updated_at", "INTEGER");
        AddJobKeys(connection);
        RekeySamples(connection);
        MoveFootprints(connection);
    }

    /// <summary>
    /// The footprints in a table of their own, keyed by job key: in the jobs row (a few hundred bytes
    /// of JSON) they widened the row that the sample writer rewrites with the latest usage at every
    /// commit a job has samples in, several times wider (about 730 bytes instead of 100; more pages
    /// per commit to the WAL; docs/benchmarks.md, "Summary cost"). A file with the old column
    /// has its footprints moved and the column dropped, in one transaction.
    /// </summary>
    /// <summary>Writes a job's footprint under its key (parameters 1 and 2: SQLite numbers <c>$key</c> and <c>$footprint</c> so too).</summary>
    internal const string UpsertFootprintSql =
        "INSERT INTO job_footprints (job_key, footprint) VALUES ($key, $footprint) ON CONFLICT (job_key) DO UPDATE SET footprint = excluded.footprint";

    private static void MoveFootprints(SqliteConnection connection)
    {
        Execute(connection, null, "CREATE TABLE IF NOT EXISTS job_footprints (job_key INTEGER PRIMARY KEY, footprint TEXT NOT NULL)");
        if (!HasColumn(connection, "jobs", "footprint"))
        {
            return;
        }

        using var transaction = connection.BeginTransaction(deferred: false);
        Execute(connection, transaction,
            "INSERT OR REPLACE INTO job_footprints (job_key, footprint) SELECT job_key, footprint FROM jobs WHERE footprint IS NOT NULL");
        Execute(connection, transaction, "ALTER TABLE jobs DROP COLUMN footprint");
        transaction.Commit();
    }

    /// <summary>
    /// The integer key samples are stored under (<c>jobs.job_key</c>, unique). Rows of an older file
    /// get theirs from the rowid, above any key already given; new rows get the largest key plus one
    /// (SqliteJobRowStorage). A key comes back only after its job was deleted, and the job's samples
    /// are deleted in the same transaction as its row.
    /// </summary>
    private static void AddJobKeys(SqliteConnection connection)
    {
        AddColumn(connection, "jobs", "job_key", "INTEGER");
        using var transaction = connection.BeginTransaction(deferred: false);
        Execute(connection, transaction,
            "UPDATE jobs SET job_key = rowid + (SELECT IFNULL(MAX(job_key), 0) FROM jobs) WHERE job_key IS NULL");
        Execute(connection, transaction, "CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_key ON jobs (job_key)");
        transaction.Commit();
    }

    /// <summary>
    /// Moves the samples of a file made before the integer key (set aside by <see cref="BeforeScripts"/>)
    /// into the keyed table, in one transaction: the node names become sample_nodes keys, each job id
    /// its job_key. Such a file may still repeat a sample (from before sample identity); the first stored
    /// copy is kept, as clients were answered with it. Samples of a job without a row (none is written
    /// so, and none can be read) are not carried over. Rewrites every sample once (docs/operations.md).
    /// </summary>
    private static void RekeySamples(SqliteConnection connection)
    {
        if (Scalar(connection, $"SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{TextKeyedSamples}'") == 0)
        {
            return;
        }

        // Columns the text-keyed table gained over its releases, for files made before them.
        AddColumn(connection, TextKeyedSamples, "node", "TEXT NOT NULL DEFAULT ''");
        AddColumn(connection, TextKeyedSamples, "gpu_memory_mb", "INTEGER");
        AddColumn(connection, TextKeyedSamples, "memory_peak_mb", "INTEGER");
        AddColumn(connection, TextKeyedSamples, "oom_kills", "INTEGER");
        using var transaction = connection.BeginTransaction(deferred: false);
        Execute(connection, transaction,
            $"INSERT OR IGNORE INTO sample_nodes (name) SELECT DISTINCT node FROM {TextKeyedSamples} WHERE node <> '' ORDER BY node");
        Execute(connection, transaction,
            $"""
            INSERT INTO samples (job_key, ts, node_key, cpu_usage, memory_usage_mb, gpu_usage, gpu_memory_mb, memory_peak_mb, oom_kills)
            SELECT j.job_key, s.ts, IFNULL(n.node_key, 0), s.cpu_usage, s.memory_usage_mb, s.gpu_usage, s.gpu_memory_mb, s.memory_peak_mb, s.oom_kills
            FROM {TextKeyedSamples} s
            JOIN jobs j ON j.id = s.job_id
            LEFT JOIN sample_nodes n ON n.name = s.node AND s.node <> ''
            WHERE true -- (an INSERT ... SELECT's ON CONFLICT must not read as a join's ON)
            ORDER BY s.rowid
            ON CONFLICT DO NOTHING
            """);
        Execute(connection, transaction, $"DROP TABLE {TextKeyedSamples}");
        transaction.Commit();
    }

    /// <summary>
    /// The stored flags (a JSON array), and the flag -> jobs table the <c>?flag=</c> list reads, kept
    /// from the column by triggers in the same transaction.
    /// </summary>
    private static void AddFlags(SqliteConnection connection)
    {
        AddColumn(connection, "jobs", "flags", "TEXT");
        Execute(connection, null, """
            CREATE TABLE IF NOT EXISTS job_flags (
                flag   TEXT NOT NULL,
                job_id TEXT NOT NULL,
                PRIMARY KEY (flag, job_id)
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS job_flags_by_job ON job_flags (job_id);
            CREATE TRIGGER IF NOT EXISTS jobs_flags_insert AFTER INSERT ON jobs WHEN new.flags IS NOT NULL BEGIN
                INSERT OR IGNORE INTO job_flags (flag, job_id) SELECT value, new.id FROM json_each(new.flags);
            END;
            CREATE TRIGGER IF NOT EXISTS jobs_flags_update AFTER UPDATE OF flags ON jobs WHEN old.flags IS NOT new.flags BEGIN
                DELETE FROM job_flags WHERE job_id = new.id;
                INSERT OR IGNORE INTO job_flags (flag, job_id) SELECT value, new.id FROM json_each(new.flags);
            END;
            CREATE TRIGGER IF NOT EXISTS jobs_flags_delete AFTER DELETE ON jobs BEGIN
                DELETE FROM job_flags WHERE job_id = old.id;
            END;
            """);
    }

    /// <summary>Allocation, attempts and the columns the account / partition / cluster filters use.</summary>
    private static void AddLifecycleColumns(SqliteConnection connection)
    {
        AddColumn(connection, "jobs", "attempt", "INTEGER NOT NULL DEFAULT 1");
        AddColumn(connection, "jobs", "attempts", "TEXT");  // JSON array of earlier attempts, oldest first
        AddColumn(connection, "jobs", "allocated_cpus", "INTEGER");
        AddColumn(connection, "jobs", "allocated_memory_mb", "INTEGER");
        AddColumn(connection, "jobs", "allocated_gpus", "INTEGER");
        AddColumn(connection, "jobs", "gpu_vendor", "TEXT");
        AddColumn(connection, "jobs", "gpu_devices", "TEXT");  // JSON array
        AddColumn(connection, "jobs", "cgroup_path", "TEXT");
        AddColumn(connection, "jobs", "cluster", "TEXT");

        // account and partition live in the scheduler object; virtual columns make them indexable.
        AddColumn(connection, "jobs", "account", "TEXT GENERATED ALWAYS AS (json_extract(scheduler, '$.account')) VIRTUAL");
        AddColumn(connection, "jobs", "partition", "TEXT GENERATED ALWAYS AS (json_extract(scheduler, '$.partition')) VIRTUAL");
        Execute(connection, null, "CREATE INDEX IF NOT EXISTS jobs_by_account ON jobs (account, start_time DESC, id) WHERE account IS NOT NULL");
        Execute(connection, null, "CREATE INDEX IF NOT EXISTS jobs_by_partition ON jobs (partition, start_time DESC, id) WHERE partition IS NOT NULL");
        Execute(connection, null, "CREATE INDEX IF NOT EXISTS jobs_by_cluster ON jobs (cluster, start_time DESC, id) WHERE cluster IS NOT NULL");
    }

    private static void AddColumn(SqliteConnection connection, string table, string column, string definition)
    {
        if (!HasColumn(connection, table, column))
        {
            Execute(connection, null, $"ALTER TABLE {table} ADD COLUMN {column} {definition}");
        }
    }

    private static bool HasColumn(SqliteConnection connection, string table, string column)
    {
        using var check = connection.CreateCommand();

        // table_xinfo, not table_info: generated columns are hidden from the latter.
        check.CommandText = "SELECT COUNT(*) FROM pragma_table_xinfo($table) WHERE name = $column";
        check.Parameters.AddWithValue("$table", table);
        check.Parameters.AddWithValue("$column", column);
        return (long)check.ExecuteScalar()! > 0;
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

using Microsoft.Data.Sqlite;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// Brings a file made by an earlier release up to the current schema, after sql/sqlite/*.sql ran.
/// SQLite has no <c>ADD COLUMN IF NOT EXISTS</c>, so the columns are checked here; each step is
/// idempotent and runs at every start.
/// </summary>
internal static class SqliteMigrations
{
    public static void Apply(SqliteConnection connection)
    {
        AddColumn(connection, "jobs", "version", "INTEGER NOT NULL DEFAULT 1");
        AddColumn(connection, "samples", "node", "TEXT NOT NULL DEFAULT ''");
        AddColumn(connection, "samples", "gpu_memory_mb", "INTEGER");
        AddColumn(connection, "samples", "memory_peak_mb", "INTEGER");
        AddColumn(connection, "samples", "oom_kills", "INTEGER");
        AddSampleIdentity(connection);
        AddLifecycleColumns(connection);
        AddFlags(connection);

        // When the grain last wrote the lifecycle (PostgreSQL has had it from the start): with the
        // start and the newest sample, how recent a job's activity is for the re-activation passes.
        AddColumn(connection, "jobs", "updated_at", "INTEGER");
    }

    /// <summary>
    /// The footprint of the current attempt and the stored flags (a JSON array), and the flag -> jobs
    /// table the <c>?flag=</c> list reads, kept from the column by triggers in the same transaction.
    /// </summary>
    private static void AddFlags(SqliteConnection connection)
    {
        AddColumn(connection, "jobs", "footprint", "TEXT");
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

    /// <summary>
    /// The unique key on (job_id, ts, node). Samples stored before it may repeat; the first stored
    /// copy of each is kept (the one clients were answered with first), in the same transaction as
    /// the index, so no writer slips a new duplicate in between.
    /// </summary>
    private static void AddSampleIdentity(SqliteConnection connection)
    {
        if (Scalar(connection, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'samples_identity'") > 0)
        {
            return;
        }

        using var transaction = connection.BeginTransaction(deferred: false);
        Execute(connection, transaction,
            "DELETE FROM samples WHERE rowid NOT IN (SELECT MIN(rowid) FROM samples GROUP BY job_id, ts, node)");
        Execute(connection, transaction, "CREATE UNIQUE INDEX samples_identity ON samples (job_id, ts, node)");
        Execute(connection, transaction, "DROP INDEX IF EXISTS samples_by_job_time");
        transaction.Commit();
    }

    private static void AddColumn(SqliteConnection connection, string table, string column, string definition)
    {
        using var check = connection.CreateCommand();

        // table_xinfo, not table_info: generated columns are hidden from the latter.
        check.CommandText = "SELECT COUNT(*) FROM pragma_table_xinfo($table) WHERE name = $column";
        check.Parameters.AddWithValue("$table", table);
        check.Parameters.AddWithValue("$column", column);
        if ((long)check.ExecuteScalar()! == 0)
        {
            Execute(connection, null, $"ALTER TABLE {table} ADD COLUMN {column} {definition}");
        }
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

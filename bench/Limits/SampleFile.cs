using Microsoft.Data.Sqlite;

namespace HpcJobs.Bench.Limits;

/// <summary>Which samples table the file gets.</summary>
internal enum SampleSchema
{
    /// <summary>Today's rowid table keyed by the job's text id (sql/sqlite/001_schema.sql with SqliteMigrations).</summary>
    Current,

    /// <summary>The integer-keyed WITHOUT ROWID layout the sample log moves to.</summary>
    Keyed,
}

/// <summary>
/// A fresh SQLite file as the service's writer opens it (src/Grains/Storage/Sqlite/SqliteDatabase.cs:
/// same pragmas, same values), with a jobs table as wide as the service's and one of the two
/// samples tables. The DDL is a copy, not the service's scripts, so that a measurement keeps
/// meaning the same rows when the service's schema moves on.
/// </summary>
internal static class SampleFile
{
    // The jobs table as 001_schema.sql and SqliteMigrations leave it: every column, index and trigger.
    // The per-sample UPDATE touches none of the indexed columns, but the row it rewrites is this wide.
    private const string Jobs = """
        CREATE TABLE jobs (
            id               TEXT    NOT NULL PRIMARY KEY,
            user_name        TEXT    NOT NULL,
            state            TEXT    NOT NULL,
            start_time       INTEGER NOT NULL,
            end_time         INTEGER,
            nodes            TEXT    NOT NULL,
            scheduler        TEXT,
            cpu_usage        REAL    NOT NULL DEFAULT 0,
            memory_usage_mb  INTEGER NOT NULL DEFAULT 0,
            gpu_usage        REAL,
            last_sample_time INTEGER,
            version          INTEGER NOT NULL DEFAULT 1,
            attempt          INTEGER NOT NULL DEFAULT 1,
            attempts         TEXT,
            allocated_cpus   INTEGER,
            allocated_memory_mb INTEGER,
            allocated_gpus   INTEGER,
            gpu_vendor       TEXT,
            gpu_devices      TEXT,
            cgroup_path      TEXT,
            cluster          TEXT,
            account          TEXT GENERATED ALWAYS AS (json_extract(scheduler, '$.account')) VIRTUAL,
            partition        TEXT GENERATED ALWAYS AS (json_extract(scheduler, '$.partition')) VIRTUAL,
            flags            TEXT,
            updated_at       INTEGER
        );
        CREATE INDEX jobs_by_start ON jobs (start_time DESC, id);
        CREATE INDEX jobs_by_state ON jobs (state, start_time DESC, id);
        CREATE INDEX jobs_by_user  ON jobs (user_name, start_time DESC, id);
        CREATE INDEX jobs_by_user_state ON jobs (user_name, state, start_time DESC, id);
        CREATE INDEX jobs_active_by_id ON jobs (id) WHERE state IN ('pending', 'running');
        CREATE INDEX jobs_by_account ON jobs (account, start_time DESC, id) WHERE account IS NOT NULL;
        CREATE INDEX jobs_by_partition ON jobs (partition, start_time DESC, id) WHERE partition IS NOT NULL;
        CREATE INDEX jobs_by_cluster ON jobs (cluster, start_time DESC, id) WHERE cluster IS NOT NULL;
        CREATE TABLE job_counts (state TEXT NOT NULL PRIMARY KEY, jobs INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs BEGIN
            INSERT INTO job_counts (state, jobs) VALUES (new.state, 1) ON CONFLICT (state) DO UPDATE SET jobs = jobs + 1;
        END;
        CREATE TRIGGER jobs_count_state AFTER UPDATE OF state ON jobs WHEN old.state IS NOT new.state BEGIN
            UPDATE job_counts SET jobs = jobs - 1 WHERE state = old.state;
            INSERT INTO job_counts (state, jobs) VALUES (new.state, 1) ON CONFLICT (state) DO UPDATE SET jobs = jobs + 1;
        END;
        CREATE TABLE job_flags (flag TEXT NOT NULL, job_id TEXT NOT NULL, PRIMARY KEY (flag, job_id)) WITHOUT ROWID;
        CREATE TRIGGER jobs_flags_update AFTER UPDATE OF flags ON jobs WHEN old.flags IS NOT new.flags BEGIN
            DELETE FROM job_flags WHERE job_id = new.id;
            INSERT OR IGNORE INTO job_flags (flag, job_id) SELECT value, new.id FROM json_each(new.flags);
        END;
        """;

    private const string CurrentSamples = """
        CREATE TABLE samples (
            job_id          TEXT    NOT NULL,
            ts              INTEGER NOT NULL,
            cpu_usage       REAL    NOT NULL,
            memory_usage_mb INTEGER NOT NULL,
            gpu_usage       REAL,
            node            TEXT    NOT NULL DEFAULT '',
            gpu_memory_mb   INTEGER,
            memory_peak_mb  INTEGER,
            oom_kills       INTEGER
        );
        CREATE INDEX samples_by_time ON samples (ts);
        CREATE UNIQUE INDEX samples_identity ON samples (job_id, ts, node);
        """;

    private const string KeyedSamples = """
        CREATE TABLE samples (
            job_key         INTEGER NOT NULL,
            ts              INTEGER NOT NULL,
            node_key        INTEGER NOT NULL,
            cpu_usage       REAL    NOT NULL,
            memory_usage_mb INTEGER NOT NULL,
            gpu_usage       REAL,
            gpu_memory_mb   INTEGER,
            memory_peak_mb  INTEGER,
            oom_kills       INTEGER,
            PRIMARY KEY (job_key, ts, node_key)
        ) WITHOUT ROWID;
        CREATE INDEX samples_by_time ON samples (ts);
        """;

    public static SampleSchema ParseSchema(string text) => text switch
    {
        "current" => SampleSchema.Current,
        "keyed" => SampleSchema.Keyed,
        _ => throw new ArgumentException($"schema must be 'current' or 'keyed', not '{text}'"),
    };

    /// <summary>
    /// Creates the file (it must not exist) with <paramref name="jobs"/> running jobs
    /// <c>{prefix}0 .. {prefix}(jobs-1)</c>, and returns the writer's connection.
    /// </summary>
    /// <param name="tempStoreMemory">
    /// <c>PRAGMA temp_store = MEMORY</c>, which the service does not set: statement journals stay in
    /// memory instead of a temporary file.
    /// </param>
    public static SqliteConnection Create(string path, SampleSchema schema, bool synchronousFull, int jobs, string prefix, bool tempStoreMemory = false)
    {
        if (File.Exists(path))
        {
            throw new IOException($"{path} exists: the measurement needs a fresh file");
        }

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 5,
        }.ToString());
        connection.Open();
        Execute(connection, "PRAGMA journal_mode = WAL;");
        Execute(connection, synchronousFull ? "PRAGMA synchronous = FULL;" : "PRAGMA synchronous = NORMAL;");
        Execute(connection, "PRAGMA cache_size = -16384;");
        Execute(connection, "PRAGMA wal_autocheckpoint = 8192;");
        if (tempStoreMemory)
        {
            Execute(connection, "PRAGMA temp_store = MEMORY;");
        }

        Execute(connection, Jobs);
        Execute(connection, schema == SampleSchema.Current ? CurrentSamples : KeyedSamples);

        // Running jobs as bench/Bench creates them (a user, two nodes, no scheduler object).
        using var transaction = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO jobs (id, user_name, state, start_time, nodes, updated_at) VALUES ($id, $user, 'running', $start, $nodes, $start)";
        var id = insert.Parameters.Add("$id", SqliteType.Text);
        var user = insert.Parameters.Add("$user", SqliteType.Text);
        var nodes = insert.Parameters.Add("$nodes", SqliteType.Text);
        insert.Parameters.AddWithValue("$start", (DateTimeOffset.UtcNow.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10);
        for (var i = 0; i < jobs; i++)
        {
            id.Value = prefix + i;
            user.Value = $"user{i % 200}";
            nodes.Value = $"[\"node-{i % 500:D3}\",\"node-{(i + 1) % 500:D3}\"]";
            insert.ExecuteNonQuery();
        }

        transaction.Commit();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

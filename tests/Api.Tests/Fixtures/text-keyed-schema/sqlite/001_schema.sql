-- The service's SQLite schema. Applied at every start; every statement is idempotent.
-- Times are INTEGER microseconds since the Unix epoch (UTC).

-- Orleans grain state of earlier releases. Job state now lives in the jobs row itself
-- (JobRowStorage); the table is kept so that an older file opens, and is no longer read.
CREATE TABLE IF NOT EXISTS grain_state (
    state_name TEXT    NOT NULL,
    grain_id   TEXT    NOT NULL,
    etag       INTEGER NOT NULL,
    payload    BLOB    NOT NULL,
    PRIMARY KEY (state_name, grain_id)
) WITHOUT ROWID;

-- One row per job, kept current by the job's grain (lifecycle) and the sample writer (latest usage).
CREATE TABLE IF NOT EXISTS jobs (
    id               TEXT    NOT NULL PRIMARY KEY,
    user_name        TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    start_time       INTEGER NOT NULL,
    end_time         INTEGER,
    nodes            TEXT    NOT NULL,  -- JSON array, in the order given
    scheduler        TEXT,              -- JSON object
    cpu_usage        REAL    NOT NULL DEFAULT 0,
    memory_usage_mb  INTEGER NOT NULL DEFAULT 0,
    gpu_usage        REAL,
    last_sample_time INTEGER,
    version          INTEGER NOT NULL DEFAULT 1  -- the grain storage's ETag (JobRowStorage)
);
CREATE INDEX IF NOT EXISTS jobs_by_start ON jobs (start_time DESC, id);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, start_time DESC, id);
CREATE INDEX IF NOT EXISTS jobs_by_user  ON jobs (user_name, start_time DESC, id);
-- state and user together (the common dashboard filter) without scanning every job of a state
CREATE INDEX IF NOT EXISTS jobs_by_user_state ON jobs (user_name, state, start_time DESC, id);
-- keyset pages of the active jobs re-activated at cluster start or after a silo leaves (holds only active rows)
CREATE INDEX IF NOT EXISTS jobs_active_by_id ON jobs (id) WHERE state IN ('pending', 'running');

-- Jobs per state, kept by triggers in the same transaction as every change to jobs, so that a
-- list filtered by state alone (or not at all) reads an exact total here instead of counting
-- up to every row (100-200 ms at 1,000,000 jobs).
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS job_counts (
    state TEXT    NOT NULL PRIMARY KEY,
    jobs  INTEGER NOT NULL
) WITHOUT ROWID;
-- A database from before the counts is counted once, just before the triggers appear; the
-- transaction keeps any other writer out in between. (The CROSS JOIN puts the gate outermost:
-- a WHERE on the scan itself would still read every job at every start.)
DELETE FROM job_counts WHERE NOT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'jobs_count_insert');
INSERT INTO job_counts (state, jobs)
    SELECT j.state, COUNT(*)
    FROM (SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'jobs_count_insert')) AS gate
    CROSS JOIN jobs j
    GROUP BY j.state;
CREATE TRIGGER IF NOT EXISTS jobs_count_insert AFTER INSERT ON jobs BEGIN
    INSERT INTO job_counts (state, jobs) VALUES (new.state, 1) ON CONFLICT (state) DO UPDATE SET jobs = jobs + 1;
END;
CREATE TRIGGER IF NOT EXISTS jobs_count_delete AFTER DELETE ON jobs BEGIN
    UPDATE job_counts SET jobs = jobs - 1 WHERE state = old.state;
END;
CREATE TRIGGER IF NOT EXISTS jobs_count_state AFTER UPDATE OF state ON jobs WHEN old.state IS NOT new.state BEGIN
    UPDATE job_counts SET jobs = jobs - 1 WHERE state = old.state;
    INSERT INTO job_counts (state, jobs) VALUES (new.state, 1) ON CONFLICT (state) DO UPDATE SET jobs = jobs + 1;
END;
COMMIT;

-- Node membership, so that a node filter is an index lookup rather than a scan of JSON.
CREATE TABLE IF NOT EXISTS job_nodes (
    node   TEXT NOT NULL,
    job_id TEXT NOT NULL,
    PRIMARY KEY (node, job_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS job_nodes_by_job ON job_nodes (job_id);

-- The append-only sample log. node is '' for a sample that stands for the whole job (a node name
-- is never empty), so that (job_id, ts, node) identifies a sample: see 002_sample_identity.sql.
-- Columns added after the first release are added to older files by SqliteMigrations.
CREATE TABLE IF NOT EXISTS samples (
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
CREATE INDEX IF NOT EXISTS samples_by_time ON samples (ts);

-- Monotonic counters that must survive restarts (e.g. jobs ever created).
CREATE TABLE IF NOT EXISTS service_counters (
    name  TEXT    NOT NULL PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

-- Sample identity (job, timestamp, node): the unique index samples_identity (job_id, ts, node)
-- serves history reads by job and time too, and makes a replayed sample a no-op. It is created by
-- SqliteMigrations, which first removes the duplicates an older file may hold (keeping the first
-- stored) and then drops the older samples_by_job_time index it replaces.

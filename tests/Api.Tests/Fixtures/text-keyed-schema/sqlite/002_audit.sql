-- Every change to a job, written in the same transaction as the change (SqliteJobRowStorage).
-- The jobs columns of lifecycle events (allocation, attempts, cluster, account, partition) are
-- added by SqliteMigrations, which also creates their indexes.
CREATE TABLE IF NOT EXISTS job_audit (
    id             INTEGER PRIMARY KEY,
    job_id         TEXT    NOT NULL,
    at             INTEGER NOT NULL,
    change         TEXT    NOT NULL,
    from_state     TEXT,
    to_state       TEXT,
    changed_by     TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    correlation_id TEXT,
    details        TEXT              -- JSON object
);
CREATE INDEX IF NOT EXISTS job_audit_by_job ON job_audit (job_id, id);

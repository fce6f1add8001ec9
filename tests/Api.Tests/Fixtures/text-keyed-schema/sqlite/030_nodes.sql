-- Nodes that send heartbeats (the node agent), one row per node, written by the node's grain
-- (NodeRowStorage): one upsert per heartbeat. Applied at every start; idempotent.
-- listed: JSON object {"job id": unix microseconds of the last heartbeat that listed it}, pruned
-- of jobs not listed within RECONCILE_AFTER_SECONDS; the reconciler reads it.
CREATE TABLE IF NOT EXISTS nodes (
    node               TEXT    NOT NULL PRIMARY KEY,
    last_heartbeat     INTEGER NOT NULL,
    heartbeating_since INTEGER NOT NULL,  -- first heartbeat of the current run without a gap
    job_count          INTEGER NOT NULL,  -- jobs listed by the last heartbeat
    listed             TEXT    NOT NULL,
    version            INTEGER NOT NULL   -- the grain storage's ETag
);

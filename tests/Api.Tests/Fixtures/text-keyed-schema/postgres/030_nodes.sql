-- 030_nodes.sql
--
-- Nodes that send heartbeats (the node agent): one row per node, written by the node's grain
-- (NodeRowStorage) with one upsert per heartbeat. Idempotent: safe to run on every silo start.

BEGIN;

SET LOCAL client_min_messages = warning;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(7361920415); END $lock$;

CREATE TABLE IF NOT EXISTS nodes
(
    node               text COLLATE "C" PRIMARY KEY,  -- byte order, as SQLite sorts
    last_heartbeat     timestamptz NOT NULL,
    heartbeating_since timestamptz NOT NULL,          -- first heartbeat of the current run without a gap
    job_count          integer     NOT NULL,          -- jobs listed by the last heartbeat
    -- {"job id": unix microseconds of the last heartbeat that listed it}, pruned of jobs not
    -- listed within RECONCILE_AFTER_SECONDS; the reconciler reads it
    listed             jsonb       NOT NULL,
    version            bigint      NOT NULL           -- the grain storage's ETag
);

COMMIT;

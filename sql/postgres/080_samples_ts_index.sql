-- 080_samples_ts_index.sql
--
-- samples without an index on ts of its own. Only retention's batched delete reads by ts alone, and
-- only in the one day partition that straddles the cutoff: the history reads go by the sample key
-- (job_key, ts, node_key), and whole expired days are dropped. So instead of a B-tree entry per
-- sample written at ingest (a fifth of the server's work per COPY'd row: docs/benchmarks.md,
-- "PostgreSQL batch: the ts index"), the retention pass builds the straddling day's index once,
-- CONCURRENTLY, when that day reaches the cutoff (samples_pYYYYMMDD_ts_idx, dropped with its
-- partition a day later; PostgresSampleLog.MaintainPartitionsAsync).
--
-- Drops the partitioned index 040 and 050 made, with every partition's copy (a catalog change,
-- under a brief ACCESS EXCLUSIVE lock on samples). Idempotent; a fresh database ends the same.

BEGIN;

SET LOCAL client_min_messages = warning;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(7361920415); END $lock$;

DROP INDEX IF EXISTS samples_ts_idx;

COMMIT;

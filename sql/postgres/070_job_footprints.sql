-- 070_job_footprints.sql
--
-- Each job's efficiency footprint (the current attempt's, a few hundred bytes of JSON) in a table
-- of its own, keyed by job_key, instead of a jobs column. The sample writer rewrites an active
-- job's jobs row with its latest usage at every group commit the job has samples in, and the
-- footprint, written at most once a minute and at each transition, made that row (and so every
-- new row version in the WAL) several times wider (docs/benchmarks.md, "Summary cost").
--
-- A database with the old column has its footprints moved here and the column emptied, in this one
-- transaction (a rewrite of every jobs row that had one). The column itself stays, NULL, so that
-- silos of the previous release keep working during a rolling upgrade; what they write into it
-- meanwhile is moved at the next start, unless a new silo has written that job's footprint here
-- since. A later release drops it (docs/operations.md, "Upgrades"). Fresh databases never have
-- it. Idempotent.

BEGIN;

SET LOCAL client_min_messages = warning;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(7361920415); END $lock$;

CREATE TABLE IF NOT EXISTS job_footprints
(
    job_key   bigint PRIMARY KEY REFERENCES jobs (job_key) ON DELETE CASCADE,
    footprint jsonb NOT NULL
);

DO $move$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'jobs'::regclass AND attname = 'footprint' AND NOT attisdropped) THEN
        INSERT INTO job_footprints (job_key, footprint)
        SELECT job_key, footprint FROM jobs WHERE footprint IS NOT NULL
        ON CONFLICT (job_key) DO NOTHING;
        UPDATE jobs SET footprint = NULL WHERE footprint IS NOT NULL;
    END IF;
END $move$;

COMMIT;

-- 060_jobs_fillfactor.sql
--
-- jobs pages filled to 70 %: the sample writer rewrites each active job's row with its latest usage
-- at every group commit it has samples in (a thousand rows per 5,000-sample batch). With full pages
-- the new row version rarely fits beside the old one, so a third of those updates were not HOT: a
-- new version on another page plus an entry in each of jobs' six indexes, and the table grew to
-- 40 times its live size under batch ingest (bench/Limits pg, docs/benchmarks.md "Write path at the
-- limit"). With room on the page nearly every update is HOT (no index entries) and the old versions
-- are pruned in place. Applies to pages written from now on; an existing table's full pages fill
-- the new way as rows move, or at once with VACUUM FULL jobs (ACCESS EXCLUSIVE while it runs).
-- Idempotent.

BEGIN;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(7361920415); END $lock$;

ALTER TABLE jobs SET (fillfactor = 70);

COMMIT;

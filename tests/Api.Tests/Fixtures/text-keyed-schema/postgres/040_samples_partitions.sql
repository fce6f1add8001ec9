-- 040_samples_partitions.sql
--
-- samples, partitioned by day: PARTITION BY RANGE (ts), one partition samples_pYYYYMMDD per UTC
-- day [day, day + 1). Retention drops whole expired days (no DELETE of their rows, no vacuum of
-- them) and deletes only in the partition that straddles the cutoff. There is no default
-- partition: a day's partition is made ahead by the retention pass (today .. today + 3), here for
-- today and tomorrow, and on demand by the sample writer when an insert finds none.
--
-- 010 creates samples as it always has (unpartitioned, with an id column) and brings an old one up
-- to the unique key; this script then turns it into the partitioned table, so a fresh database
-- (whose samples is still empty) and an upgraded one go the same way and end up the same.
-- The id column is not kept: nothing reads it, and a key of a partitioned table must include ts;
-- (job_id, ts, node) is the key. Idempotent: once samples is partitioned only the partitions of
-- today and tomorrow are made (when missing).

BEGIN;

SET LOCAL client_min_messages = warning;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(7361920415); END $lock$;

-- Attaches a partition for each of days that has none; returns how many it attached. Callers from
-- several silos queue on the advisory lock, so a day is never attached twice; a day's partition
-- that already exists is skipped. Each is created standalone and then attached, which takes SHARE
-- UPDATE EXCLUSIVE on samples (inserts and reads go on) where CREATE TABLE ... PARTITION OF would
-- take ACCESS EXCLUSIVE and queue them behind it. A standalone table of the name (a partition
-- detached and not yet dropped) is attached again: its rows are that day's.
CREATE OR REPLACE FUNCTION samples_create_partitions(days date[]) RETURNS integer LANGUAGE plpgsql AS $fn$
DECLARE
    day      date;
    name     text;
    attached integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(7361920416);
    FOR day IN SELECT DISTINCT d FROM unnest(days) AS d WHERE d IS NOT NULL ORDER BY d LOOP
        name := 'samples_p' || to_char(day, 'YYYYMMDD');
        CONTINUE WHEN EXISTS (
            SELECT 1 FROM pg_inherits WHERE inhparent = 'samples'::regclass AND inhrelid = to_regclass(quote_ident(name)));
        IF to_regclass(quote_ident(name)) IS NULL THEN
            EXECUTE format('CREATE TABLE %I (LIKE samples INCLUDING DEFAULTS)', name);
        END IF;
        EXECUTE format('ALTER TABLE samples ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       name, day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
        attached := attached + 1;
    END LOOP;
    RETURN attached;
END
$fn$;

-- The upgrade from the unpartitioned table, in this one transaction: every row is copied once into
-- the day partitions, and the indexes are built after the copy (by sorting, not row by row). It holds
-- ACCESS EXCLUSIVE on samples throughout and needs free space for a second copy of the table and its
-- indexes until it commits (docs/operations.md, "Upgrades"). The rows are unique by (job_id, ts, node)
-- already (010 made them so).
DO $upgrade$
DECLARE
    days date[];
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('samples')) IS DISTINCT FROM 'r' THEN
        RETURN;
    END IF;

    LOCK TABLE samples IN ACCESS EXCLUSIVE MODE;
    days := ARRAY(SELECT DISTINCT (ts AT TIME ZONE 'UTC')::date FROM samples);
    ALTER TABLE samples RENAME TO samples_unpartitioned;
    -- The new table's indexes take these names.
    DROP INDEX IF EXISTS samples_identity_idx;
    DROP INDEX IF EXISTS samples_ts_idx;

    -- Time series of resource usage samples per job. node is '' for a sample that stands for the
    -- whole job (node names are never empty), so that (job_id, ts, node) identifies a sample.
    CREATE TABLE samples
    (
        job_id          text COLLATE "C" NOT NULL,
        ts              timestamptz      NOT NULL,
        cpu_usage       double precision NOT NULL,
        memory_usage_mb bigint           NOT NULL,
        gpu_usage       double precision NULL,
        node            text COLLATE "C" NOT NULL DEFAULT '',
        gpu_memory_mb   bigint           NULL,
        memory_peak_mb  bigint           NULL,
        oom_kills       bigint           NULL
    ) PARTITION BY RANGE (ts);

    PERFORM samples_create_partitions(days);
    INSERT INTO samples (job_id, ts, cpu_usage, memory_usage_mb, gpu_usage, node, gpu_memory_mb, memory_peak_mb, oom_kills)
    SELECT job_id, ts, cpu_usage, memory_usage_mb, gpu_usage, node, gpu_memory_mb, memory_peak_mb, oom_kills
    FROM samples_unpartitioned;
    DROP TABLE samples_unpartitioned;

    -- Sample identity: makes a replayed sample a no-op (INSERT ... ON CONFLICT DO NOTHING) and serves
    -- history reads by job and time. Each partition gets its own copy; the key includes ts, the
    -- partition key, as a unique key of a partitioned table must.
    CREATE UNIQUE INDEX samples_identity_idx ON samples (job_id, ts, node);
    -- Retention's delete in the partition that straddles the cutoff.
    CREATE INDEX samples_ts_idx ON samples (ts);
END
$upgrade$;

-- Samples arriving before the first retention pass find their partitions.
SELECT samples_create_partitions(ARRAY[(now() AT TIME ZONE 'UTC')::date, (now() AT TIME ZONE 'UTC')::date + 1]);

COMMIT;

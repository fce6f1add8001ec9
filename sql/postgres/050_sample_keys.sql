-- 050_sample_keys.sql
--
-- samples keyed by integers instead of texts: each jobs row gets job_key (an identity, given on
-- insert) and each node name a node_key in sample_nodes (0 is '', a sample of the whole job), and
-- a sample stores the two keys in place of the job id and node name. The rows and the unique key
-- (job_key, ts, node_key) get narrower: the key no longer holds the job id, a text the length of
-- the scheduler's id (docs/operations.md, "Upgrades", has the sizes measured).
--
-- 040 makes samples partitioned by day with the texts (an empty table on a fresh database); this
-- script then replaces it with the keyed table, partition by partition, so a fresh database and an
-- upgraded one go the same way and end up the same. Idempotent: once samples has job_key nothing
-- here changes anything.

BEGIN;

SET LOCAL client_min_messages = warning;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(7361920415); END $lock$;

-- Existing rows get their keys here (a rewrite of jobs); new rows on insert, which returns the key
-- to the job grain (JobRecord.Key), so that its samples need no lookup by id. No foreign key points
-- at it from samples, as none pointed at id, for ingest speed: a job's samples go with its row in
-- PostgresJobRowStorage's delete.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS job_key bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX IF NOT EXISTS jobs_job_key_idx ON jobs (job_key);

-- Node names of samples, never deleted (a cluster has a few thousand nodes): the writer caches a
-- name's key once the row holding it has committed.
CREATE TABLE IF NOT EXISTS sample_nodes
(
    node_key integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name     text COLLATE "C" NOT NULL UNIQUE
);
INSERT INTO sample_nodes (node_key, name) OVERRIDING SYSTEM VALUE VALUES (0, '') ON CONFLICT DO NOTHING;

-- The upgrade from the texts, in this one transaction: every partition is replaced by a keyed table
-- of the same name and bounds, every sample copied once into it, and the indexes built after the
-- copy (by sorting, not row by row). It holds ACCESS EXCLUSIVE on samples (and, while its keys are
-- added, on jobs) throughout and needs free space for a second copy of the samples until it commits
-- (docs/operations.md, "Upgrades"). The rows are unique by (job_id, ts, node) already, so by the keys.
-- Samples of an id without a jobs row (no release since the row storage writes them; an older one
-- may have) are out of reach of every read, which looks a job's samples up through its row; they
-- are not copied, and a warning says how many there were. A partition left detached-pending by an
-- interrupted retention pass holds an expired day that no query sees; it goes with the old table.
DO $upgrade$
DECLARE
    part   record;
    total  bigint;
    copied bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'samples'::regclass AND attname = 'job_key' AND NOT attisdropped) THEN
        RETURN;
    END IF;

    LOCK TABLE samples IN ACCESS EXCLUSIVE MODE;
    ALTER TABLE samples RENAME TO samples_by_id;
    -- The new table's indexes, and their partitions' copies, take these names.
    DROP INDEX IF EXISTS samples_identity_idx;
    DROP INDEX IF EXISTS samples_ts_idx;

    -- Time series of resource usage samples per job, partitioned by UTC day (040). node_key 0 is a
    -- sample that stands for the whole job, so that (job_key, ts, node_key) identifies a sample.
    CREATE TABLE samples
    (
        job_key         bigint           NOT NULL,
        ts              timestamptz      NOT NULL,
        node_key        integer          NOT NULL DEFAULT 0,
        cpu_usage       double precision NOT NULL,
        memory_usage_mb bigint           NOT NULL,
        gpu_usage       double precision NULL,
        gpu_memory_mb   bigint           NULL,
        memory_peak_mb  bigint           NULL,
        oom_kills       bigint           NULL
    ) PARTITION BY RANGE (ts);

    -- Each partition's name and bounds stay (the days retention drops by name, and a partition an
    -- operator renamed to keep it from retention).
    FOR part IN
        SELECT c.oid, c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'samples_by_id'::regclass AND NOT i.inhdetachpending
        ORDER BY c.relname
    LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', part.relname, 'samples_by_id_' || part.oid);
        EXECUTE format('CREATE TABLE %I (LIKE samples INCLUDING DEFAULTS)', part.relname);
        EXECUTE format('ALTER TABLE samples ATTACH PARTITION %I %s', part.relname, part.bound);
    END LOOP;

    -- Keys for the node names, in name order, and the count to check the copy against: one scan.
    WITH nodes AS (SELECT node, COUNT(*) AS samples FROM samples_by_id GROUP BY node),
         named AS (INSERT INTO sample_nodes (name) SELECT node FROM nodes WHERE node <> '' ORDER BY node ON CONFLICT (name) DO NOTHING)
    SELECT COALESCE(SUM(samples), 0) INTO total FROM nodes;

    INSERT INTO samples (job_key, ts, node_key, cpu_usage, memory_usage_mb, gpu_usage, gpu_memory_mb, memory_peak_mb, oom_kills)
    SELECT j.job_key, s.ts, n.node_key, s.cpu_usage, s.memory_usage_mb, s.gpu_usage, s.gpu_memory_mb, s.memory_peak_mb, s.oom_kills
    FROM samples_by_id s
    JOIN jobs j ON j.id = s.job_id
    JOIN sample_nodes n ON n.name = s.node;
    GET DIAGNOSTICS copied = ROW_COUNT;
    IF copied < total THEN
        RAISE WARNING '050_sample_keys: % samples of job ids without a jobs row were not kept', total - copied;
    END IF;
    DROP TABLE samples_by_id;

    -- Sample identity: makes a replayed sample a no-op (INSERT ... ON CONFLICT DO NOTHING) and serves
    -- history reads by job and time. Each partition gets its own copy; the key includes ts, the
    -- partition key, as a unique key of a partitioned table must.
    CREATE UNIQUE INDEX samples_identity_idx ON samples (job_key, ts, node_key);
    -- Retention's batched delete in the partition that straddles the cutoff.
    CREATE INDEX samples_ts_idx ON samples (ts);
END
$upgrade$;

COMMIT;

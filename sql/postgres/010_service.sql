-- 010_service.sql
--
-- The observability service's own tables (not used by Orleans).
-- Idempotent: safe to run on every silo start.

BEGIN;

-- Keep re-runs quiet ("already exists, skipping" notices).
SET LOCAL client_min_messages = warning;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(7361920415); END $lock$;

-- One row per HPC job, with the latest resource usage sample folded in.
CREATE TABLE IF NOT EXISTS jobs
(
    id               text COLLATE "C" PRIMARY KEY,  -- byte order, as SQLite sorts
    user_name        text COLLATE "C" NOT NULL,
    state            text             NOT NULL,
    start_time       timestamptz      NOT NULL,
    end_time         timestamptz      NULL,
    nodes            text[]           NOT NULL,
    scheduler        jsonb            NULL,
    cpu_usage        double precision NOT NULL DEFAULT 0,
    memory_usage_mb  bigint           NOT NULL DEFAULT 0,
    gpu_usage        double precision NULL,
    last_sample_time timestamptz      NULL,
    updated_at       timestamptz      NOT NULL DEFAULT now()
);
-- The job grain's storage ETag (PostgresJobRowStorage); rows of earlier releases start at 1.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 1;

-- Listing queries: newest first, keyset-paginated on (start_time, id).
CREATE INDEX IF NOT EXISTS jobs_state_start_time_idx
    ON jobs (state, start_time DESC, id);
CREATE INDEX IF NOT EXISTS jobs_user_name_start_time_idx
    ON jobs (user_name, start_time DESC, id);
CREATE INDEX IF NOT EXISTS jobs_start_time_idx
    ON jobs (start_time DESC, id);
-- state and user together (the common dashboard filter) without scanning every job of a state
CREATE INDEX IF NOT EXISTS jobs_user_name_state_start_time_idx
    ON jobs (user_name, state, start_time DESC, id);
-- keyset pages of the active jobs re-activated at cluster start or after a silo leaves (holds only active rows)
CREATE INDEX IF NOT EXISTS jobs_active_id_idx
    ON jobs (id) WHERE state IN ('pending', 'running');

-- Jobs per state, kept by triggers in the same transaction as every change to jobs, so that a
-- list filtered by state alone (or not at all) reads an exact total here instead of counting
-- up to every row. Inserts and deletes are counted per statement (one update of a count per
-- state, however many rows); a state change per row, taking the two counts in state order so
-- that concurrent changes cannot deadlock on them.
--
-- No hot rows: with one row per state, every concurrent create or transition (many connections,
-- many silos) would queue on that row's lock until the previous one committed. Each count is
-- split into shards; a transaction moves the shard of its connection (counter_shard()), so
-- concurrent writers touch different rows; readers sum the shards. Totals stay exact.
CREATE TABLE IF NOT EXISTS job_counts
(
    state text    NOT NULL,
    shard integer NOT NULL DEFAULT 0,
    jobs  bigint  NOT NULL,
    PRIMARY KEY (state, shard)
);

-- A database from before the shards: its counts become shard 0 (job_counts here, and
-- service_counters below, through the same function).
CREATE OR REPLACE FUNCTION add_counter_shard(counters text, key_column text) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    IF to_regclass(counters) IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = counters AND column_name = 'shard') THEN
        EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', counters);
        EXECUTE format('ALTER TABLE %I ADD COLUMN shard integer NOT NULL DEFAULT 0', counters);
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', counters, counters || '_pkey');
        EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (%I, shard)', counters, key_column);
    END IF;
END
$fn$;
SELECT add_counter_shard('job_counts', 'state');

-- The shard a transaction on this connection writes: one per connection, 64 in all.
CREATE OR REPLACE FUNCTION counter_shard() RETURNS integer LANGUAGE sql STABLE AS $fn$ SELECT pg_backend_pid() % 64 $fn$;

-- Inserted (sign 1) or deleted (sign -1) rows, as the statement's transition table "changed".
CREATE OR REPLACE FUNCTION job_counts_add() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO job_counts AS c (state, shard, jobs)
    SELECT state, counter_shard(), TG_ARGV[0]::int * COUNT(*) FROM changed GROUP BY state ORDER BY state
    ON CONFLICT (state, shard) DO UPDATE SET jobs = c.jobs + excluded.jobs;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION job_counts_move() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO job_counts AS c (state, shard, jobs)
    SELECT state, counter_shard(), delta FROM (VALUES (OLD.state, -1), (NEW.state, 1)) AS m (state, delta) ORDER BY state
    ON CONFLICT (state, shard) DO UPDATE SET jobs = c.jobs + excluded.jobs;
    RETURN NULL;
END
$fn$;

-- Created once; a database from before the counts is counted then. Creating a trigger locks out
-- writers of jobs until this transaction commits, so no job is missed or counted twice.
DO $counts$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'jobs'::regclass AND tgname = 'jobs_count_insert') THEN
        CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs
            REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION job_counts_add('1');
        CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs
            REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION job_counts_add('-1');
        CREATE TRIGGER jobs_count_state AFTER UPDATE OF state ON jobs
            FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION job_counts_move();
        DELETE FROM job_counts;
        INSERT INTO job_counts (state, jobs) SELECT state, COUNT(*) FROM jobs GROUP BY state;
    END IF;
END
$counts$;

-- Node -> jobs lookup (jobs.nodes denormalised for "what runs on node X").
CREATE TABLE IF NOT EXISTS job_nodes
(
    node   text COLLATE "C" NOT NULL,
    job_id text COLLATE "C" NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    PRIMARY KEY (node, job_id)
);

CREATE INDEX IF NOT EXISTS job_nodes_job_id_idx
    ON job_nodes (job_id);

-- Time series of resource usage samples per job. node is '' for a sample that stands for the
-- whole job (node names are never empty), so that (job_id, ts, node) identifies a sample.
-- This is the table as releases before the day partitions made it, kept so that an old one is
-- brought up to the unique key below; 040_samples_partitions.sql then replaces it (a fresh
-- database's too, while it is empty) with the table partitioned by day, without id, and
-- 050_sample_keys.sql that one with the table keyed by integers, which has no job_id (nor node).
CREATE TABLE IF NOT EXISTS samples
(
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id          text COLLATE "C" NOT NULL,
    ts              timestamptz      NOT NULL,
    cpu_usage       double precision NOT NULL,
    memory_usage_mb bigint           NOT NULL,
    gpu_usage       double precision NULL
);
DO $columns$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'samples'::regclass AND attname = 'job_id' AND NOT attisdropped) THEN
        ALTER TABLE samples ADD COLUMN IF NOT EXISTS node text COLLATE "C" NOT NULL DEFAULT '';
        ALTER TABLE samples ADD COLUMN IF NOT EXISTS gpu_memory_mb bigint NULL;
        ALTER TABLE samples ADD COLUMN IF NOT EXISTS memory_peak_mb bigint NULL;
        ALTER TABLE samples ADD COLUMN IF NOT EXISTS oom_kills bigint NULL;
    END IF;
END
$columns$;

-- Retention's delete by time on the unpartitioned table of earlier releases, which 040 turns into
-- the partitioned one. Not on that one: 080 leaves samples without a ts index written at ingest, and
-- an index made here on the partitioned table would be built over every day (and take in the
-- straddling day's own ts index, which 080 would then drop with it).
DO $ts$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'samples'::regclass) = 'r' THEN
        CREATE INDEX IF NOT EXISTS samples_ts_idx ON samples (ts);
    END IF;
END
$ts$;

-- Sample identity: the unique key (job_id, ts, node) makes a replayed sample a no-op and serves
-- history reads by job and time, replacing samples_job_id_ts_idx. A database from before it may
-- hold duplicates: the first stored copy of each is kept, in this transaction (which holds the
-- advisory lock above), before the key is built.
DO $identity$
BEGIN
    IF to_regclass('samples_identity_idx') IS NULL THEN
        LOCK TABLE samples IN SHARE ROW EXCLUSIVE MODE;
        DELETE FROM samples a USING samples b
        WHERE a.job_id = b.job_id AND a.ts = b.ts AND a.node = b.node AND a.id > b.id;
        CREATE UNIQUE INDEX samples_identity_idx ON samples (job_id, ts, node);
        DROP INDEX IF EXISTS samples_job_id_ts_idx;
    END IF;
END
$identity$;

-- Monotonic counters (e.g. jobs ever created), sharded like job_counts: bump with
--   INSERT INTO service_counters (name, shard, value) VALUES ($1, counter_shard(), 1)
--   ON CONFLICT (name, shard) DO UPDATE SET value = service_counters.value + 1;
-- and read SUM(value) over the shards.
CREATE TABLE IF NOT EXISTS service_counters
(
    name  text    NOT NULL,
    shard integer NOT NULL DEFAULT 0,
    value bigint  NOT NULL,
    PRIMARY KEY (name, shard)
);

SELECT add_counter_shard('service_counters', 'name');

COMMIT;

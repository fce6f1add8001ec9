-- 020_lifecycle.sql
--
-- Lifecycle events (contract, "Lifecycle events", "Job fields added", "Audit"): what the scheduler
-- allocated, requeued attempts, the account / partition / cluster filters, and the audit log.
-- Idempotent: safe to run on every silo start.

BEGIN;

SET LOCAL client_min_messages = warning;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(7361920415); END $lock$;

ALTER TABLE jobs ADD COLUMN IF NOT EXISTS attempt             integer NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS attempts            jsonb   NULL;  -- earlier attempts, oldest first
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS allocated_cpus      integer NULL;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS allocated_memory_mb bigint  NULL;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS allocated_gpus      integer NULL;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS gpu_vendor          text    NULL;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS gpu_devices         text[]  NULL;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS cgroup_path         text    NULL;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS cluster             text COLLATE "C" NULL;
-- account and partition live in the scheduler object; the filters read them from these columns.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS account   text COLLATE "C" GENERATED ALWAYS AS (scheduler ->> 'account') STORED;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS partition text COLLATE "C" GENERATED ALWAYS AS (scheduler ->> 'partition') STORED;

-- The job's stored flags (a JSON array; no_data is judged from last_sample_time when read). The
-- efficiency footprint of the current attempt is in job_footprints (070).
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS flags jsonb NULL;

-- flag -> jobs, kept from jobs.flags by triggers in the same transaction, for ?flag= lists.
CREATE TABLE IF NOT EXISTS job_flags
(
    flag   text COLLATE "C" NOT NULL,
    job_id text COLLATE "C" NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    PRIMARY KEY (flag, job_id)
);
CREATE INDEX IF NOT EXISTS job_flags_job_id_idx ON job_flags (job_id);

CREATE OR REPLACE FUNCTION job_flags_sync() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM job_flags WHERE job_id = NEW.id;
    END IF;
    IF NEW.flags IS NOT NULL THEN
        INSERT INTO job_flags (flag, job_id)
        SELECT DISTINCT f, NEW.id FROM jsonb_array_elements_text(NEW.flags) AS f
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$fn$;
CREATE OR REPLACE TRIGGER jobs_flags_insert AFTER INSERT ON jobs
    FOR EACH ROW WHEN (NEW.flags IS NOT NULL) EXECUTE FUNCTION job_flags_sync();
CREATE OR REPLACE TRIGGER jobs_flags_update AFTER UPDATE OF flags ON jobs
    FOR EACH ROW WHEN (OLD.flags IS DISTINCT FROM NEW.flags) EXECUTE FUNCTION job_flags_sync();

-- One index per filter, ordered as the list is, so a page of one account is an index range.
CREATE INDEX IF NOT EXISTS jobs_account_start_time_idx   ON jobs (account, start_time DESC, id) WHERE account IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_partition_start_time_idx ON jobs (partition, start_time DESC, id) WHERE partition IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_cluster_start_time_idx   ON jobs (cluster, start_time DESC, id) WHERE cluster IS NOT NULL;

-- Every change to a job, written in the same transaction as the change (PostgresJobRowStorage).
CREATE TABLE IF NOT EXISTS job_audit
(
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id         text COLLATE "C" NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at             timestamptz      NOT NULL,
    change         text             NOT NULL,
    from_state     text             NULL,
    to_state       text             NULL,
    changed_by     text             NOT NULL,
    source         text             NOT NULL,
    correlation_id text             NULL,
    details        jsonb            NULL
);
CREATE INDEX IF NOT EXISTS job_audit_job_id_idx ON job_audit (job_id, id);

COMMIT;

-- 004_orleans_reminders.sql
--
-- Reminder table for Microsoft.Orleans.Reminders.AdoNet (invariant "Npgsql").
-- Requires 001_orleans_main.sql.
--
-- Contract notes
--   * ServiceId = ClusterOptions.ServiceId; GrainId = GrainId.ToString()
--     (e.g. "jobgrain/abc"), sent as text.
--   * GrainHash = GrainId.GetUniformHashCode() (a uint) cast to a SIGNED int4,
--     so it may be negative. The provider picks ReadRangeRows1Key when
--     (int)begin < (int)end and ReadRangeRows2Key (wrap-around) otherwise, so
--     the range comparisons below must be done on the signed int4 column.
--   * Period is milliseconds; sent as int4 when it fits, else int8; read back
--     as int8.
--   * Version is the reminder's ETag: 0 on insert, +1 on each upsert.
--     UpsertReminderRowKey returns it in a column named Version;
--     DeleteReminderRowKey returns one row, one column: rows deleted (0/1).
--   * StartTime is a UTC DateTime bound as timestamptz.
--
-- Idempotent: safe to run on every silo start.

BEGIN;

-- Keep re-runs quiet ("already exists, skipping" notices).
SET LOCAL client_min_messages = warning;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(7361920415); END $lock$;

CREATE TABLE IF NOT EXISTS OrleansRemindersTable
(
    ServiceId    varchar(150) NOT NULL,
    GrainId      text         NOT NULL,
    ReminderName varchar(150) NOT NULL,
    StartTime    timestamptz  NOT NULL,
    Period       bigint       NOT NULL,
    GrainHash    integer      NOT NULL,
    Version      integer      NOT NULL,

    CONSTRAINT OrleansRemindersTable_PK PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

-- Range scans by hash ring segment (ReadRangeRows1Key / ReadRangeRows2Key).
CREATE INDEX IF NOT EXISTS OrleansRemindersTable_Hash_IX
    ON OrleansRemindersTable (ServiceId, GrainHash);

INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
('UpsertReminderRowKey', $q$
INSERT INTO OrleansRemindersTable AS r
    (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES
    (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE
SET StartTime = EXCLUDED.StartTime,
    Period = EXCLUDED.Period,
    GrainHash = EXCLUDED.GrainHash,
    Version = r.Version + 1
RETURNING r.Version AS Version;
$q$),

('ReadReminderRowKey', $q$
SELECT r.GrainId, r.ReminderName, r.StartTime, r.Period, r.Version
FROM OrleansRemindersTable AS r
WHERE r.ServiceId = @ServiceId
  AND r.GrainId = @GrainId
  AND r.ReminderName = @ReminderName;
$q$),

('ReadReminderRowsKey', $q$
SELECT r.GrainId, r.ReminderName, r.StartTime, r.Period, r.Version
FROM OrleansRemindersTable AS r
WHERE r.ServiceId = @ServiceId
  AND r.GrainId = @GrainId;
$q$),

-- Non-wrapping ring segment: (begin, end].
('ReadRangeRows1Key', $q$
SELECT r.GrainId, r.ReminderName, r.StartTime, r.Period, r.Version
FROM OrleansRemindersTable AS r
WHERE r.ServiceId = @ServiceId
  AND r.GrainHash > @BeginHash
  AND r.GrainHash <= @EndHash;
$q$),

-- Wrapping ring segment: (begin, max] plus [min, end].
('ReadRangeRows2Key', $q$
SELECT r.GrainId, r.ReminderName, r.StartTime, r.Period, r.Version
FROM OrleansRemindersTable AS r
WHERE r.ServiceId = @ServiceId
  AND (r.GrainHash > @BeginHash OR r.GrainHash <= @EndHash);
$q$),

('DeleteReminderRowKey', $q$
WITH removed AS (
    DELETE FROM OrleansRemindersTable AS r
    WHERE r.ServiceId = @ServiceId
      AND r.GrainId = @GrainId
      AND r.ReminderName = @ReminderName
      AND r.Version = @Version
    RETURNING 1
)
SELECT CAST(count(*) AS integer) AS Deleted FROM removed;
$q$),

('DeleteReminderRowsKey', $q$
DELETE FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

COMMIT;

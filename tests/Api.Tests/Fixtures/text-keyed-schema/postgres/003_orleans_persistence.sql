-- 003_orleans_persistence.sql
--
-- Grain state storage for Microsoft.Orleans.Persistence.AdoNet
-- (invariant "Npgsql"). Requires 001_orleans_main.sql.
--
-- Identity of a state row
--   ServiceId + GrainTypeString + GrainIdN0 + GrainIdN1 + GrainIdExtensionString.
--   GrainIdHash / GrainTypeHash are 32-bit hashes computed by the provider
--   (signed int4, may be negative) and only serve as narrow index keys.
--   Integer-keyed grains: N0 = 0, N1 = key. Guid-keyed grains: N0/N1 = the two
--   halves of the Guid. String-keyed grains: N0 = N1 = 0 and the key is in
--   GrainIdExtensionString. The extension string is NULL when there is none,
--   and NULL must not match '' (hence IS NOT DISTINCT FROM below).
--
-- Version / ETag semantics
--   Version is the grain's ETag (the provider stringifies it). A new row gets 1;
--   every write or clear adds 1. Write/clear/delete only apply when
--   @GrainStateVersion equals the stored Version (NULL = "I have never seen a
--   row", which only allows an insert). The provider detects a conflict when
--   the returned version is missing/NULL or equal to the version it sent, and
--   then throws InconsistentStateException. Therefore:
--     * WriteToStorageKey returns the new version, or NULL on conflict;
--     * ClearStorageKey (DeleteStateOnClear = false) keeps the row with a NULL
--       payload and returns the bumped version (the grain keeps it as ETag);
--     * DeleteStorageKey (DeleteStateOnClear = true) removes the row and
--       returns old Version + 1, only so the result differs from the sent ETag
--       (the provider then resets the ETag to null).
--   ReadFromStorageKey: a row with a NULL payload counts as "no record" for
--   RecordExists, but its Version is still returned as the ETag.
--
-- Parameters: @GrainIdHash int4, @GrainIdN0 int8, @GrainIdN1 int8,
-- @GrainTypeHash int4, @GrainTypeString text, @GrainIdExtensionString text
-- (nullable), @ServiceId text, @GrainStateVersion int4 (nullable),
-- @PayloadBinary bytea.
--
-- Idempotent: safe to run on every silo start.

BEGIN;

-- Keep re-runs quiet ("already exists, skipping" notices).
SET LOCAL client_min_messages = warning;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(7361920415); END $lock$;

CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            integer      NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainTypeHash          integer      NOT NULL,
    GrainTypeString        varchar(512) NOT NULL,
    GrainIdExtensionString varchar(512) NULL,
    ServiceId              varchar(150) NOT NULL,
    PayloadBinary          bytea        NULL,
    ModifiedOn             timestamptz  NOT NULL DEFAULT now(),
    Version                integer      NULL
);

-- One row per grain state. Serves the lookups (hash columns first) and turns a
-- racing double insert (split brain, double activation) into a no-op that the
-- provider reports as a version conflict instead of a duplicate row.
-- The two expressions keep a NULL extension distinct from ''.
CREATE UNIQUE INDEX IF NOT EXISTS OrleansStorage_Identity_UX
    ON OrleansStorage (
        GrainIdHash,
        GrainTypeHash,
        ServiceId,
        GrainIdN0,
        GrainIdN1,
        GrainTypeString,
        (GrainIdExtensionString IS NULL),
        (coalesce(GrainIdExtensionString, '')));

-- Insert-or-update with optimistic concurrency. Returns the new version, or
-- NULL when nothing was written (stale ETag or someone else inserted first).
CREATE OR REPLACE FUNCTION orleans_storage_write_state(
    p_grain_id_hash     integer,
    p_grain_id_n0       bigint,
    p_grain_id_n1       bigint,
    p_grain_type_hash   integer,
    p_grain_type        text,
    p_grain_key_ext     text,
    p_service_id        text,
    p_expected_version  integer,
    p_payload           bytea)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_new_version integer;
BEGIN
    IF p_expected_version IS NULL THEN
        -- First write of this grain: only succeeds if no row exists yet.
        INSERT INTO OrleansStorage
            (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
             GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
        VALUES
            (p_grain_id_hash, p_grain_id_n0, p_grain_id_n1, p_grain_type_hash, p_grain_type,
             p_grain_key_ext, p_service_id, p_payload, now(), 1)
        ON CONFLICT DO NOTHING
        RETURNING Version INTO v_new_version;
    ELSE
        UPDATE OrleansStorage AS s
        SET PayloadBinary = p_payload,
            ModifiedOn = now(),
            Version = s.Version + 1
        WHERE s.GrainIdHash = p_grain_id_hash
          AND s.GrainTypeHash = p_grain_type_hash
          AND s.ServiceId = p_service_id
          AND s.GrainIdN0 = p_grain_id_n0
          AND s.GrainIdN1 = p_grain_id_n1
          AND s.GrainTypeString = p_grain_type
          AND s.GrainIdExtensionString IS NOT DISTINCT FROM p_grain_key_ext
          AND s.Version = p_expected_version
        RETURNING s.Version INTO v_new_version;
    END IF;

    RETURN v_new_version;
END
$fn$;

INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
('ReadFromStorageKey', $q$
SELECT s.PayloadBinary, s.Version
FROM OrleansStorage AS s
WHERE s.GrainIdHash = @GrainIdHash
  AND s.GrainTypeHash = @GrainTypeHash
  AND s.ServiceId = @ServiceId
  AND s.GrainIdN0 = @GrainIdN0
  AND s.GrainIdN1 = @GrainIdN1
  AND s.GrainTypeString = @GrainTypeString
  AND s.GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString;
$q$),

('WriteToStorageKey', $q$
SELECT orleans_storage_write_state(
    @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
    @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary
) AS NewGrainStateVersion;
$q$),

('ClearStorageKey', $q$
UPDATE OrleansStorage AS s
SET PayloadBinary = NULL,
    ModifiedOn = now(),
    Version = s.Version + 1
WHERE s.GrainIdHash = @GrainIdHash
  AND s.GrainTypeHash = @GrainTypeHash
  AND s.ServiceId = @ServiceId
  AND s.GrainIdN0 = @GrainIdN0
  AND s.GrainIdN1 = @GrainIdN1
  AND s.GrainTypeString = @GrainTypeString
  AND s.GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
  AND s.Version = @GrainStateVersion
RETURNING s.Version AS NewGrainStateVersion;
$q$),

('DeleteStorageKey', $q$
DELETE FROM OrleansStorage AS s
WHERE s.GrainIdHash = @GrainIdHash
  AND s.GrainTypeHash = @GrainTypeHash
  AND s.ServiceId = @ServiceId
  AND s.GrainIdN0 = @GrainIdN0
  AND s.GrainIdN1 = @GrainIdN1
  AND s.GrainTypeString = @GrainTypeString
  AND s.GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
  AND s.Version = @GrainStateVersion
RETURNING s.Version + 1 AS NewGrainStateVersion;
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

COMMIT;

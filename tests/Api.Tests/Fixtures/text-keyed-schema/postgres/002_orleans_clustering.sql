-- 002_orleans_clustering.sql
--
-- Membership (clustering) storage for Microsoft.Orleans.Clustering.AdoNet
-- (invariant "Npgsql"). Requires 001_orleans_main.sql.
--
-- Model
--   * OrleansMembershipVersionTable: one row per cluster (DeploymentId =
--     ClusterOptions.ClusterId). Version is the optimistic-concurrency token
--     of the whole membership table; every successful insert/update of a
--     member row must bump it by exactly one, and must only succeed if the
--     caller's @Version still equals the stored one.
--   * OrleansMembershipTable: one row per silo incarnation
--     (Address, Port, Generation). Status is Orleans' SiloStatus enum:
--     2 Joining, 3 Active, 4 ShuttingDown, 5 Stopping, 6 Dead.
--
-- Contract notes (what the provider expects)
--   * Queries returning success/failure must yield exactly ONE row with ONE
--     column; any non-zero value means success.
--   * Read queries return the version row even when no member row matches
--     (LEFT JOIN from the version table); the provider reads "Version" from it.
--   * @Address is sent as text, @Port/@Generation/@Status/@ProxyPort/@Version
--     as int4, @StartTime/@IAmAliveTime as timestamptz (UTC DateTime),
--     @SuspectTimes as text ("silo,date|silo,date", or NULL).
--
-- Idempotent: safe to run on every silo start.

BEGIN;

-- Keep re-runs quiet ("already exists, skipping" notices).
SET LOCAL client_min_messages = warning;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(7361920415); END $lock$;

CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId varchar(150) NOT NULL,
    Timestamp    timestamptz  NOT NULL DEFAULT now(),
    Version      integer      NOT NULL DEFAULT 0,

    CONSTRAINT OrleansMembershipVersionTable_PK PRIMARY KEY (DeploymentId)
);

CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId varchar(150) NOT NULL,
    Address      varchar(45)  NOT NULL,
    Port         integer      NOT NULL,
    Generation   integer      NOT NULL,
    SiloName     text         NOT NULL,
    HostName     text         NOT NULL,
    Status       integer      NOT NULL,
    ProxyPort    integer      NOT NULL DEFAULT 0,
    SuspectTimes text         NULL,
    StartTime    timestamptz  NOT NULL,
    IAmAliveTime timestamptz  NOT NULL,

    CONSTRAINT OrleansMembershipTable_PK
        PRIMARY KEY (DeploymentId, Address, Port, Generation),
    CONSTRAINT OrleansMembershipTable_Version_FK
        FOREIGN KEY (DeploymentId) REFERENCES OrleansMembershipVersionTable (DeploymentId)
);

-- Adds a silo row if, and only if, the caller's table version is current and
-- the row does not exist yet; bumps the table version on success.
-- Returns 1 on success, 0 otherwise. All checks happen while holding the
-- version row lock, so concurrent membership writers are serialised.
CREATE OR REPLACE FUNCTION orleans_membership_add_silo(
    p_deployment_id    text,
    p_address          text,
    p_port             integer,
    p_generation       integer,
    p_silo_name        text,
    p_host_name        text,
    p_status           integer,
    p_proxy_port       integer,
    p_start_time       timestamptz,
    p_i_am_alive_time  timestamptz,
    p_expected_version integer)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_current integer;
BEGIN
    SELECT v.Version INTO v_current
    FROM OrleansMembershipVersionTable AS v
    WHERE v.DeploymentId = p_deployment_id
    FOR UPDATE;

    IF v_current IS NULL OR p_expected_version IS NULL OR v_current <> p_expected_version THEN
        RETURN 0;
    END IF;

    IF EXISTS (
        SELECT 1
        FROM OrleansMembershipTable AS m
        WHERE m.DeploymentId = p_deployment_id
          AND m.Address = p_address
          AND m.Port = p_port
          AND m.Generation = p_generation)
    THEN
        RETURN 0;
    END IF;

    INSERT INTO OrleansMembershipTable
        (DeploymentId, Address, Port, Generation, SiloName, HostName,
         Status, ProxyPort, StartTime, IAmAliveTime)
    VALUES
        (p_deployment_id, p_address, p_port, p_generation, p_silo_name, p_host_name,
         p_status, coalesce(p_proxy_port, 0), p_start_time, p_i_am_alive_time);

    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1,
        Timestamp = now()
    WHERE DeploymentId = p_deployment_id;

    RETURN 1;
END
$fn$;

-- Changes status / suspicion list / liveness of an existing silo row if the
-- caller's table version is current; bumps the table version on success.
-- Returns 1 on success, 0 otherwise.
CREATE OR REPLACE FUNCTION orleans_membership_change_silo(
    p_deployment_id    text,
    p_address          text,
    p_port             integer,
    p_generation       integer,
    p_status           integer,
    p_suspect_times    text,
    p_i_am_alive_time  timestamptz,
    p_expected_version integer)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_current integer;
BEGIN
    SELECT v.Version INTO v_current
    FROM OrleansMembershipVersionTable AS v
    WHERE v.DeploymentId = p_deployment_id
    FOR UPDATE;

    IF v_current IS NULL OR p_expected_version IS NULL OR v_current <> p_expected_version THEN
        RETURN 0;
    END IF;

    UPDATE OrleansMembershipTable AS m
    SET Status = p_status,
        SuspectTimes = p_suspect_times,
        IAmAliveTime = p_i_am_alive_time
    WHERE m.DeploymentId = p_deployment_id
      AND m.Address = p_address
      AND m.Port = p_port
      AND m.Generation = p_generation;

    IF NOT FOUND THEN
        RETURN 0;
    END IF;

    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1,
        Timestamp = now()
    WHERE DeploymentId = p_deployment_id;

    RETURN 1;
END
$fn$;

INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
-- Creates the per-cluster version row. One row, one column: 1 if created,
-- 0 if it already existed.
('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO OrleansMembershipVersionTable (DeploymentId)
    VALUES (@DeploymentId)
    ON CONFLICT (DeploymentId) DO NOTHING
    RETURNING 1
)
SELECT CAST(count(*) AS integer) AS Created FROM created;
$q$),

('InsertMembershipKey', $q$
SELECT orleans_membership_add_silo(
    @DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
    @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version) AS Succeeded;
$q$),

('UpdateMembershipKey', $q$
SELECT orleans_membership_change_silo(
    @DeploymentId, @Address, @Port, @Generation,
    @Status, @SuspectTimes, @IAmAliveTime, @Version) AS Succeeded;
$q$),

-- Heartbeat. Not version checked and its result is ignored by Orleans.
('UpdateIAmAlivetimeKey', $q$
UPDATE OrleansMembershipTable
SET IAmAliveTime = @IAmAliveTime
WHERE DeploymentId = @DeploymentId
  AND Address = @Address
  AND Port = @Port
  AND Generation = @Generation;
$q$),

-- One silo's row plus the table version. Must return the version row even
-- when the silo row is absent (member columns are then NULL).
('MembershipReadRowKey', $q$
SELECT
    v.DeploymentId,
    m.Address,
    m.Port,
    m.Generation,
    m.SiloName,
    m.HostName,
    m.Status,
    m.ProxyPort,
    m.SuspectTimes,
    m.StartTime,
    m.IAmAliveTime,
    v.Version
FROM OrleansMembershipVersionTable AS v
LEFT JOIN OrleansMembershipTable AS m
       ON m.DeploymentId = v.DeploymentId
      AND m.Address = @Address
      AND m.Port = @Port
      AND m.Generation = @Generation
WHERE v.DeploymentId = @DeploymentId;
$q$),

-- Every silo row of the cluster plus the table version (same shape as above).
('MembershipReadAllKey', $q$
SELECT
    v.DeploymentId,
    m.Address,
    m.Port,
    m.Generation,
    m.SiloName,
    m.HostName,
    m.Status,
    m.ProxyPort,
    m.SuspectTimes,
    m.StartTime,
    m.IAmAliveTime,
    v.Version
FROM OrleansMembershipVersionTable AS v
LEFT JOIN OrleansMembershipTable AS m
       ON m.DeploymentId = v.DeploymentId
WHERE v.DeploymentId = @DeploymentId;
$q$),

-- Gateways for clients: @Status is Active (3).
('GatewaysQueryKey', $q$
SELECT m.Address, m.ProxyPort, m.Generation
FROM OrleansMembershipTable AS m
WHERE m.DeploymentId = @DeploymentId
  AND m.Status = @Status
  AND m.ProxyPort > 0;
$q$),

-- Removes a whole cluster (used by tooling/tests).
('DeleteMembershipTableEntriesKey', $q$
DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId;
DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId;
$q$),

-- Required by the provider (checked at start-up). Bulk clean-up of stale,
-- non-active rows whose last heartbeat is older than @IAmAliveTime.
-- Orleans 10.4.2 only falls back to it when CleanupDefunctSiloEntryKey
-- (below) is missing.
('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId
  AND IAmAliveTime < @IAmAliveTime
  AND Status <> 3;
$q$),

-- Optional (Orleans 10.4.2+): compare-and-delete of ONE dead row. The provider
-- reads all rows, picks Dead silos whose StartTime, IAmAliveTime and suspicion
-- votes are all older than the cut-off, and passes back the values it saw;
-- the row is deleted only if it is still Dead and unchanged since.
-- NULL and '' suspicion lists are treated as equal.
('CleanupDefunctSiloEntryKey', $q$
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId
  AND Address = @Address
  AND Port = @Port
  AND Generation = @Generation
  AND Status = 6
  AND StartTime = @StartTime
  AND IAmAliveTime = @IAmAliveTime
  AND coalesce(SuspectTimes, '') = coalesce(@SuspectTimes, '');
$q$)
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

COMMIT;

-- 001_orleans_main.sql
--
-- Query catalogue shared by every Orleans ADO.NET provider (clustering,
-- persistence, reminders). On start-up each provider runs
--     SELECT QueryKey, QueryText FROM OrleansQuery
-- and executes the stored text for each operation, binding parameters by
-- name (@DeploymentId, @GrainIdHash, ...) and reading result columns by name.
-- The provider scripts (002..004) fill this table; 010 holds the service's
-- own tables and does not use it.
--
-- Idempotent: safe to run on every silo start. The advisory lock serialises
-- concurrent runs from several silos starting at once; everything runs in a
-- single transaction so a failed run leaves nothing half applied.

BEGIN;

-- Keep re-runs quiet ("already exists, skipping" notices).
SET LOCAL client_min_messages = warning;

DO $lock$ BEGIN PERFORM pg_advisory_xact_lock(7361920415); END $lock$;

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL,
    QueryText text        NOT NULL,

    CONSTRAINT OrleansQuery_PK PRIMARY KEY (QueryKey)
);

COMMIT;

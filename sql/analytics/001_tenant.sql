-- analytics module, file 001: tenant
--
-- Declared state, not a migration: every statement describes an object as it
-- should exist. Names are unqualified; the schema comes from stack config
-- (analytics for this module).
--
-- Source: seed 004, the task list of a multi-tenant analytics platform. It
-- names the tables (tenant, workspace, api_key, visitor, lead, identity_link,
-- session, event, funnel, funnel_version, funnel_publication, funnel_step,
-- funnel_step_match) and a few facts about them, not their columns. Where the
-- seed is silent, the choices below are ours and are written down where they
-- are made.
--
-- Module-wide choices:
--   * Tenant isolation on EVERY table, this one included:
--       - every table has tenant_id bigint NOT NULL (denormalized into child
--         tables, so a policy never needs a join);
--       - tenant-scoped keys are composite and lead with tenant_id: PRIMARY KEY
--         (tenant_id, id). Children reference (tenant_id, parent_id), so the
--         database itself refuses a child that points at another tenant's
--         parent. The same index serves the key, the tenant filter of every
--         policy and the foreign key to the parent; every lookup is per tenant
--         anyway (the API resolves the tenant from the API key first, and RLS
--         adds tenant_id = ... to every query);
--       - RLS enabled, and one policy per table, TO authenticated, for ALL
--         commands, with the same USING and WITH CHECK:
--           tenant_id = (select nullif(auth.jwt() ->> 'tenant_id', '')::bigint)
--         auth.jwt() is the request.jwt.claims setting as jsonb (Supabase, and
--         the program provides the same on plain PostgreSQL); with no claims,
--         or no tenant_id claim, the right side is NULL and no row matches.
--         Wrapped in (select ...) so it is evaluated once per query, not per
--         row. Which commands each role may run is the grants' business (stack
--         config); the policy only decides which rows. anon has no policy, so
--         it sees nothing even where it has a grant. service_role bypasses RLS
--         (the ingestion API writes with it, after checking the API key).
--       - FORCE ROW LEVEL SECURITY is not used: the tables' owner is a role the
--         application never logs in as (DESIGN.md).
--   * Every foreign key and every policy-filtered column (tenant_id) has an
--     index whose leading columns are exactly those columns (a PRIMARY KEY or
--     UNIQUE constraint counts), so ON DELETE actions and policy filters never
--     scan a table.
--   * Ids: the seed asks for a BIGINT tenant key; every other surrogate key is
--     uuid DEFAULT gen_random_uuid() (core since PG 13), never serial. The
--     seed's "ID prefixing rules" are not defined in it; they are taken to be
--     a presentation concern of the API (e.g. ws_<uuid>), so the database
--     stores plain uuids.
--   * Status fields are text + CHECK, not enum types (easy to extend).
--   * Named constraints <table>_<columns>_<what>, indexes idx_<table>_<what>.
--   * ON DELETE CASCADE down the tenant tree (the seed's "proper cascade
--     relationships"), except into funnel_publication, which is immutable
--     (see 011).
--   * Timestamps are timestamptz; created_at/updated_at are set by the API
--     (no triggers beyond funnel_publication's immutability).

-- One row per customer organisation. The key column is named tenant_id, not
-- id, so that the one isolation rule (tenant_id = the JWT's tenant_id) reads
-- the same on every table, this one included, and every reference to a
-- tenant is (tenant_id) -> (tenant_id). GENERATED ALWAYS: tenants are numbered
-- by the database, never chosen by a client.
CREATE TABLE tenant (
    tenant_id   bigint      GENERATED ALWAYS AS IDENTITY
                            CONSTRAINT tenant_pkey PRIMARY KEY,
    name        text        NOT NULL
                            CONSTRAINT tenant_name_check CHECK (length(name) BETWEEN 1 AND 200),
    -- URL-safe handle (subdomains, dashboards); unique across the platform.
    slug        text        NOT NULL
                            CONSTRAINT tenant_slug_key UNIQUE
                            CONSTRAINT tenant_slug_format
                            CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    -- Soft lifecycle: a tenant is suspended or marked deleted, not hard-deleted
    -- in normal operation (funnel publications are immutable, see 011).
    status      text        NOT NULL DEFAULT 'active'
                            CONSTRAINT tenant_status_check
                            CHECK (status IN ('active', 'suspended', 'deleted')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE tenant ENABLE ROW LEVEL SECURITY;

-- A signed-in user sees (and, if granted, updates) only their own tenant.
-- INSERT is refused in practice: tenant_id is GENERATED ALWAYS, so a new row
-- can never carry the caller's tenant_id; tenants are created by the platform
-- with the service role.
CREATE POLICY tenant_tenant_isolation ON tenant
    AS PERMISSIVE FOR ALL TO authenticated
    USING (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint))
    WITH CHECK (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint));

COMMENT ON TABLE tenant IS
    'Customer organisations (the isolation unit). Every analytics table carries tenant_id; RLS lets authenticated users see only rows of the tenant_id in their JWT.';
COMMENT ON COLUMN tenant.tenant_id IS
    'Tenant key (bigint identity). Named tenant_id so every table filters on the same column name.';
COMMENT ON COLUMN tenant.slug IS 'URL-safe unique handle: lowercase letters, digits and inner hyphens, at most 63 characters.';
COMMENT ON COLUMN tenant.status IS 'active, suspended or deleted (soft delete).';

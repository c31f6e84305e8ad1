-- analytics module, file 002: workspace
--
-- A tenant's separately tracked property (a website or an app). API keys,
-- sessions, events and funnels belong to a workspace; visitors and leads
-- belong to the tenant (see 004), so one person is one visitor across a
-- tenant's workspaces.

CREATE TABLE workspace (
    tenant_id   bigint      NOT NULL
                            CONSTRAINT workspace_tenant_id_fkey
                            REFERENCES tenant (tenant_id) ON DELETE CASCADE,
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    name        text        NOT NULL
                            CONSTRAINT workspace_name_check CHECK (length(name) BETWEEN 1 AND 200),
    slug        text        NOT NULL
                            CONSTRAINT workspace_slug_format
                            CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    -- IANA zone name used for "per day" reports of this workspace; events are
    -- stored in UTC (timestamptz) whatever it says.
    timezone    text        NOT NULL DEFAULT 'UTC',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- Also the index for the tenant foreign key and the policy (leading column).
    CONSTRAINT workspace_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT workspace_tenant_id_slug_key UNIQUE (tenant_id, slug)
);

ALTER TABLE workspace ENABLE ROW LEVEL SECURITY;

CREATE POLICY workspace_tenant_isolation ON workspace
    AS PERMISSIVE FOR ALL TO authenticated
    USING (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint))
    WITH CHECK (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint));

COMMENT ON TABLE workspace IS
    'A tenant''s tracked property (website or app). Keyed (tenant_id, id) so children reference both and cannot cross tenants.';
COMMENT ON COLUMN workspace.slug IS 'Handle unique within the tenant.';
COMMENT ON COLUMN workspace.timezone IS 'IANA time zone for daily reporting; stored timestamps are UTC.';

-- analytics module, file 009: funnel
--
-- A named conversion funnel of a workspace. Versioning (seed 004): the funnel
-- row holds only its identity and name; its definition lives in versions
-- (010: draft, then published), and each publication (011) is an immutable
-- snapshot. The funnel in effect is the latest publication (by published_at);
-- no pointer column is kept on funnel, so there is no foreign-key cycle and
-- nothing to keep in sync.

CREATE TABLE funnel (
    tenant_id    bigint      NOT NULL,
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    workspace_id uuid        NOT NULL,
    name         text        NOT NULL
                             CONSTRAINT funnel_name_check CHECK (length(name) BETWEEN 1 AND 200),
    description  text,
    -- Archived funnels are hidden from the dashboard; their publications stay.
    archived_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT funnel_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT funnel_workspace_fkey FOREIGN KEY (tenant_id, workspace_id)
        REFERENCES workspace (tenant_id, id) ON DELETE CASCADE,
    -- Names are unique in a workspace; the index also serves the workspace
    -- foreign key (leading columns).
    CONSTRAINT funnel_tenant_id_workspace_id_name_key UNIQUE (tenant_id, workspace_id, name)
);

ALTER TABLE funnel ENABLE ROW LEVEL SECURITY;

CREATE POLICY funnel_tenant_isolation ON funnel
    AS PERMISSIVE FOR ALL TO authenticated
    USING (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint))
    WITH CHECK (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint));

COMMENT ON TABLE funnel IS
    'Conversion funnels of a workspace. Definitions are versioned in funnel_version; the latest funnel_publication is the one in effect.';
COMMENT ON COLUMN funnel.archived_at IS 'Set when the funnel is archived (hidden); its history is kept.';

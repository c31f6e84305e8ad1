-- analytics module, file 006: identity_link
--
-- Maps anonymous visitors to leads ("anonymous-to-lead mapping", seed 004):
-- written when a visitor identifies (form, sign-in, email click). Many-to-many:
-- one person uses several devices (several anonymous_ids per lead), and a
-- shared device may identify as several people; reports take the most recent
-- link of an anonymous_id. The natural key (tenant_id, anonymous_id, lead_id)
-- makes a repeated identify a no-op (ON CONFLICT DO NOTHING), and both
-- foreign keys include tenant_id, so a link can never join two tenants.

CREATE TABLE identity_link (
    tenant_id    bigint      NOT NULL,
    anonymous_id text        NOT NULL,
    lead_id      uuid        NOT NULL,
    -- How the identification happened.
    source       text        NOT NULL
                             CONSTRAINT identity_link_source_check
                             CHECK (source IN ('form', 'login', 'email_click', 'import', 'api')),
    linked_at    timestamptz NOT NULL DEFAULT now(),
    -- Also the index for the visitor foreign key (leading columns) and the policy.
    CONSTRAINT identity_link_pkey PRIMARY KEY (tenant_id, anonymous_id, lead_id),
    CONSTRAINT identity_link_visitor_fkey FOREIGN KEY (tenant_id, anonymous_id)
        REFERENCES visitor (tenant_id, anonymous_id) ON DELETE CASCADE,
    CONSTRAINT identity_link_lead_fkey FOREIGN KEY (tenant_id, lead_id)
        REFERENCES lead (tenant_id, id) ON DELETE CASCADE
);

-- All devices of a lead, and the lead foreign key.
CREATE INDEX idx_identity_link_lead ON identity_link (tenant_id, lead_id);

ALTER TABLE identity_link ENABLE ROW LEVEL SECURITY;

CREATE POLICY identity_link_tenant_isolation ON identity_link
    AS PERMISSIVE FOR ALL TO authenticated
    USING (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint))
    WITH CHECK (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint));

COMMENT ON TABLE identity_link IS
    'Anonymous visitor -> lead mapping (many-to-many), written when a visitor identifies.';
COMMENT ON COLUMN identity_link.source IS 'How the visitor identified: form, login, email_click, import or api.';
COMMENT ON COLUMN identity_link.linked_at IS 'When the link was made; the latest link of an anonymous_id wins in reports.';

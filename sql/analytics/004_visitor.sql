-- analytics module, file 004: visitor
--
-- An anonymous browser or device, identified by the anonymous_id the tracking
-- SDK generates and keeps (first-party cookie / local storage). The seed makes
-- anonymous_id the primary key; it is client-generated, so it is only unique
-- within a tenant and the key is (tenant_id, anonymous_id).
--
-- Visitors belong to the tenant, not to a workspace: a tenant's site and app
-- usually share the cookie domain, and one person should be one visitor across
-- them. The workspace of each visit is on session and event.

CREATE TABLE visitor (
    tenant_id          bigint      NOT NULL
                                   CONSTRAINT visitor_tenant_id_fkey
                                   REFERENCES tenant (tenant_id) ON DELETE CASCADE,
    -- Opaque client token (uuid v4/v7 or nanoid). Restricted to URL-safe
    -- characters and a bounded length so a client cannot store junk or PII in
    -- it.
    anonymous_id       text        NOT NULL
                                   CONSTRAINT visitor_anonymous_id_format
                                   CHECK (anonymous_id ~ '^[A-Za-z0-9_-]{8,128}$'),
    first_seen_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at       timestamptz NOT NULL DEFAULT now(),
    -- First-touch attribution, kept for the visitor's lifetime.
    first_referrer     text,
    first_landing_page text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    -- Also the index for the tenant foreign key and the policy.
    CONSTRAINT visitor_pkey PRIMARY KEY (tenant_id, anonymous_id),
    CONSTRAINT visitor_last_seen_at_check CHECK (last_seen_at >= first_seen_at)
);

ALTER TABLE visitor ENABLE ROW LEVEL SECURITY;

CREATE POLICY visitor_tenant_isolation ON visitor
    AS PERMISSIVE FOR ALL TO authenticated
    USING (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint))
    WITH CHECK (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint));

COMMENT ON TABLE visitor IS
    'Anonymous visitors (browser/device) of a tenant, keyed by the SDK-generated anonymous_id. Linked to known leads through identity_link.';
COMMENT ON COLUMN visitor.anonymous_id IS 'Client-generated id: 8 to 128 URL-safe characters, unique within the tenant.';
COMMENT ON COLUMN visitor.first_referrer IS 'Referrer of the first visit (first-touch attribution).';
COMMENT ON COLUMN visitor.first_landing_page IS 'Landing page of the first visit (first-touch attribution).';

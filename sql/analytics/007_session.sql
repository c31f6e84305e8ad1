-- analytics module, file 007: session
--
-- One visit: the SDK generates session_id on the client (seed 004: "client-
-- generated session_id") and sends it with every event, so ingestion needs no
-- round trip to open a session; a repeated "session start" is a no-op on the
-- key (tenant_id, session_id). Restricted to URL-safe characters and a bounded
-- length, like anonymous_id.
--
-- The JSON fields the seed lists for sessions (UTM, device, geo) are jsonb
-- objects: their keys vary by SDK and platform, and they are read whole.

CREATE TABLE session (
    tenant_id        bigint      NOT NULL,
    session_id       text        NOT NULL
                                 CONSTRAINT session_session_id_format
                                 CHECK (session_id ~ '^[A-Za-z0-9_-]{8,128}$'),
    workspace_id     uuid        NOT NULL,
    anonymous_id     text        NOT NULL,
    started_at       timestamptz NOT NULL,
    -- Advanced by ingestion as events arrive; ended_at is set when the
    -- session times out.
    last_activity_at timestamptz NOT NULL,
    ended_at         timestamptz,
    landing_page     text,
    referrer         text,
    -- {"source": ..., "medium": ..., "campaign": ..., "term": ..., "content": ...}
    utm              jsonb       NOT NULL DEFAULT '{}'::jsonb
                                 CONSTRAINT session_utm_object CHECK (jsonb_typeof(utm) = 'object'),
    -- {"type": "desktop", "os": ..., "browser": ..., "screen": ...}
    device           jsonb       NOT NULL DEFAULT '{}'::jsonb
                                 CONSTRAINT session_device_object CHECK (jsonb_typeof(device) = 'object'),
    -- {"country": "DE", "region": ..., "city": ...}: derived from the IP at
    -- ingestion; the IP itself is not stored.
    geo              jsonb       NOT NULL DEFAULT '{}'::jsonb
                                 CONSTRAINT session_geo_object CHECK (jsonb_typeof(geo) = 'object'),
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT session_pkey PRIMARY KEY (tenant_id, session_id),
    CONSTRAINT session_workspace_fkey FOREIGN KEY (tenant_id, workspace_id)
        REFERENCES workspace (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT session_visitor_fkey FOREIGN KEY (tenant_id, anonymous_id)
        REFERENCES visitor (tenant_id, anonymous_id) ON DELETE CASCADE,
    CONSTRAINT session_last_activity_at_check CHECK (last_activity_at >= started_at),
    CONSTRAINT session_ended_at_check CHECK (ended_at IS NULL OR ended_at >= started_at)
);

-- Recent sessions of a workspace (dashboard), and the workspace foreign key.
CREATE INDEX idx_session_workspace_started ON session (tenant_id, workspace_id, started_at DESC);
-- A visitor's sessions (journey view), and the visitor foreign key.
CREATE INDEX idx_session_visitor_started ON session (tenant_id, anonymous_id, started_at DESC);

ALTER TABLE session ENABLE ROW LEVEL SECURITY;

CREATE POLICY session_tenant_isolation ON session
    AS PERMISSIVE FOR ALL TO authenticated
    USING (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint))
    WITH CHECK (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint));

COMMENT ON TABLE session IS
    'Visits, keyed by the client-generated session_id, with their UTM, device and geo context as JSON objects.';
COMMENT ON COLUMN session.session_id IS 'Client-generated id: 8 to 128 URL-safe characters, unique within the tenant.';
COMMENT ON COLUMN session.utm IS 'UTM parameters of the landing, as a JSON object.';
COMMENT ON COLUMN session.device IS 'Device, OS and browser, as a JSON object.';
COMMENT ON COLUMN session.geo IS 'Country/region/city derived from the IP at ingestion (the IP is not stored), as a JSON object.';

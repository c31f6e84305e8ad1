-- analytics module, file 003: api_key
--
-- Keys the tracking SDKs and servers send to the ingestion API. A key is
-- shown to the user once, when it is created, and is never stored: the row
-- keeps only
--   * key_prefix - the non-secret start of the key, e.g. ak_live_3fK9x2Qa, as
--     issued in "ak_<live|test>_<8 chars>_<secret>". The API takes the first 16
--     characters of an incoming key, finds the row by prefix (unique across
--     the platform: the request carries no tenant), then compares hashes. The
--     dashboard shows the prefix so users can tell keys apart.
--   * key_hash - SHA-256 of the whole key, lowercase hex. Keys are random
--     (>= 128 bits of entropy), so a fast hash is enough: there is nothing to
--     brute-force, and the check runs on every ingestion request (slow
--     password hashes such as bcrypt are for low-entropy secrets). An HMAC with
--     a server-side pepper stores in the same format.
-- There is no column that could hold the plain key: the prefix's CHECK caps
-- it at the public part, the hash's CHECK admits only a digest, and the label
-- may not contain the prefix (which a pasted key would).

CREATE TABLE api_key (
    tenant_id    bigint      NOT NULL,
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    workspace_id uuid        NOT NULL,
    -- Label chosen by the user ("marketing site", "backend").
    name         text        NOT NULL
                             CONSTRAINT api_key_name_check CHECK (length(name) BETWEEN 1 AND 200),
    key_prefix   text        NOT NULL
                             CONSTRAINT api_key_key_prefix_key UNIQUE
                             CONSTRAINT api_key_key_prefix_format
                             CHECK (key_prefix ~ '^ak_(live|test)_[A-Za-z0-9]{8}$'),
    key_hash     text        NOT NULL
                             CONSTRAINT api_key_key_hash_format
                             CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    -- ingest: write events only (safe in a browser); read: query reports;
    -- admin: manage the workspace.
    scope        text        NOT NULL DEFAULT 'ingest'
                             CONSTRAINT api_key_scope_check
                             CHECK (scope IN ('ingest', 'read', 'admin')),
    last_used_at timestamptz,
    expires_at   timestamptz,
    -- Revoked keys are kept (audit: which key sent what), never reactivated.
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_key_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT api_key_workspace_fkey FOREIGN KEY (tenant_id, workspace_id)
        REFERENCES workspace (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT api_key_name_no_key CHECK (strpos(name, key_prefix) = 0),
    CONSTRAINT api_key_expires_at_check CHECK (expires_at IS NULL OR expires_at > created_at)
);

-- The workspace foreign key (and "keys of this workspace" in the dashboard).
CREATE INDEX idx_api_key_workspace ON api_key (tenant_id, workspace_id);

ALTER TABLE api_key ENABLE ROW LEVEL SECURITY;

CREATE POLICY api_key_tenant_isolation ON api_key
    AS PERMISSIVE FOR ALL TO authenticated
    USING (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint))
    WITH CHECK (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint));

COMMENT ON TABLE api_key IS
    'API keys of a workspace, stored hashed: only the public prefix and the SHA-256 of the key are kept, never the key.';
COMMENT ON COLUMN api_key.key_prefix IS
    'Public start of the key (ak_live_XXXXXXXX or ak_test_XXXXXXXX): lookup and display. Unique platform-wide.';
COMMENT ON COLUMN api_key.key_hash IS 'SHA-256 of the full key, 64 lowercase hex characters. The key itself is never stored.';
COMMENT ON COLUMN api_key.scope IS 'ingest (write events), read (reports) or admin.';
COMMENT ON COLUMN api_key.revoked_at IS 'Set when the key is revoked; a revoked key is refused and never reactivated.';

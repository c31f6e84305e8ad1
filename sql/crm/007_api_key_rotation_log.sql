-- crm module, file 007: api_key_rotation_log
--
-- Security audit of API key rotations. Seed 003 lists this table ("Security
-- audit | Key rotation history", 100-1,000 rows) but never gives its columns;
-- this design follows the seed's conventions and is the module's choice:
--   * uuid primary key with gen_random_uuid(), like every seed table;
--   * client_id references clients(client_id) ON DELETE CASCADE, like every
--     client-owned seed table (a deleted client takes its audit trail with it,
--     as "Cascade Behavior" describes for the others). NOT NULL here, unlike
--     the seed's older tables: a rotation always belongs to a client;
--   * the keys themselves are NEVER stored: old_key_hash and new_key_hash are
--     SHA-256 hex digests (64 lowercase hex chars, enforced by CHECK, the same
--     format the tracking module uses for hashes). They let an operator tell
--     whether a leaked key was ever this client's, and when it was retired,
--     without keeping a usable credential in a log;
--   * rotated_by is text + CHECK (the seed's way for fixed value sets, see
--     clients.email_tone): who asked for the rotation;
--   * rotated_at NOT NULL DEFAULT now(): an audit row without its time is
--     useless. The rotation endpoint updates clients.api_key and
--     clients.last_rotated in the same transaction that inserts this row.
--
-- RLS: a client may read its own rotation history, and has no INSERT, UPDATE
-- or DELETE policy: the audit trail is written only by the rotation endpoint
-- with the service role and cannot be edited or erased by the client it
-- audits.

CREATE TABLE api_key_rotation_log (
    id           uuid        CONSTRAINT api_key_rotation_log_pkey PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id    uuid        NOT NULL
                             CONSTRAINT api_key_rotation_log_client_id_fkey
                             REFERENCES clients (client_id) ON DELETE CASCADE,
    old_key_hash text        NOT NULL
                             CONSTRAINT api_key_rotation_log_old_key_hash_format
                             CHECK (old_key_hash ~ '^[0-9a-f]{64}$'),
    new_key_hash text        NOT NULL
                             CONSTRAINT api_key_rotation_log_new_key_hash_format
                             CHECK (new_key_hash ~ '^[0-9a-f]{64}$'),
    rotated_by   text        NOT NULL DEFAULT 'client'
                             CONSTRAINT api_key_rotation_log_rotated_by_check
                             CHECK (rotated_by IN ('client', 'admin', 'system')),
    reason       text,
    rotated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_key_rotation_log_keys_differ CHECK (old_key_hash <> new_key_hash)
);

-- One client's rotation history, newest first; leading client_id also serves
-- the foreign key (ON DELETE CASCADE from clients) and the RLS policy.
CREATE INDEX idx_api_key_rotation_log_client_rotated
    ON api_key_rotation_log (client_id, rotated_at DESC);

ALTER TABLE api_key_rotation_log ENABLE ROW LEVEL SECURITY;

CREATE POLICY api_key_rotation_log_select_own ON api_key_rotation_log
    FOR SELECT
    TO authenticated
    USING (client_id = (select nullif(current_setting('app.current_client_id', true), '')::uuid));

COMMENT ON TABLE api_key_rotation_log IS
    'Security audit of API key rotations, one row per rotation. Keys are stored only as SHA-256 digests. Written by the rotation endpoint with the service role; clients can read their own history.';
COMMENT ON COLUMN api_key_rotation_log.old_key_hash IS
    'SHA-256 hex digest (64 lowercase hex chars) of the key that was retired.';
COMMENT ON COLUMN api_key_rotation_log.new_key_hash IS
    'SHA-256 hex digest (64 lowercase hex chars) of the key that replaced it (clients.api_key at rotation time).';
COMMENT ON COLUMN api_key_rotation_log.rotated_by IS
    'Who asked for the rotation: client (dashboard), admin (Avenir staff) or system (scheduled or forced rotation).';
COMMENT ON COLUMN api_key_rotation_log.reason IS
    'Free-text reason, e.g. suspected leak.';
COMMENT ON COLUMN api_key_rotation_log.rotated_at IS
    'When the new key took effect (clients.last_rotated is set to the same time).';

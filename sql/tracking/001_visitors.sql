-- tracking module, file 001: visitors
--
-- Declared state, not a migration: every statement describes an object as it
-- should exist. Names are unqualified; the schema comes from stack config
-- (public for this module).
--
-- Source: seeds 000 (phase 7 decisions) and 001 (what phase 7 shipped).
--
-- Module-wide choices (Claude's Discretion in seed 000):
--   * Status/type fields are text + CHECK, not enum types (seed 001's choice):
--     v2 adds values (e.g. more ad platforms) by editing one CHECK instead of
--     ALTER TYPE ... ADD VALUE, which cannot be undone or reordered.
--   * Primary keys are uuid DEFAULT gen_random_uuid() (core since PG 13; no
--     extension needed), never serial.
--   * Named constraints (<table>_<column>_<what>) so the declared name, not a
--     server-generated one, is what the program tracks and diffs.
--   * Index names follow the seed: idx_<table>_<what>.
--   * RLS: ENABLE ROW LEVEL SECURITY on every table this module creates and NO
--     CREATE POLICY anywhere in the module. With RLS on and zero policies,
--     anon and authenticated get no rows (default deny). The API routes write
--     and read with the Supabase service role, which has BYPASSRLS, so they
--     are unaffected. FORCE ROW LEVEL SECURITY is deliberately not used: it
--     would also bind the table owner, which the seeds never ask for.

-- One row per first-party visitor cookie. Written by the visitor-tracking
-- phase (seed 001: phase 8) on first landing and refreshed on later visits.
CREATE TABLE visitors (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Value of the first-party cookie; the natural key used by the app.
    visitor_id    text        NOT NULL CONSTRAINT visitors_visitor_id_key UNIQUE,
    -- Google Ads click id. The only click id for v1.1 (seed 000): no fbclid or
    -- msclkid columns, those belong to v2 (META-01).
    gclid         text,
    utm_source    text,
    utm_medium    text,
    utm_campaign  text,
    utm_term      text,
    utm_content   text,
    -- SHA-256 chosen as the IP hash algorithm (seed 001). Stored as the
    -- lowercase hex digest; a NULL passes the CHECK (no IP captured).
    ip_hash       text        CONSTRAINT visitors_ip_hash_format
                              CHECK (ip_hash ~ '^[0-9a-f]{64}$'),
    user_agent    text,
    landing_page  text,
    referrer      text,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Partial index (seed 001): only rows that carry a gclid are ever looked up by
-- it, and most visitors arrive without one. visitor_id needs no extra index:
-- its UNIQUE constraint already has one.
CREATE INDEX idx_visitors_gclid ON visitors (gclid) WHERE gclid IS NOT NULL;

-- pgstack: accept rls_enabled_no_policy: deny-all on purpose: the API writes and reads visitors
--   with the service role (BYPASSRLS); anon and authenticated must see nothing (see the module
--   notes above)
ALTER TABLE visitors ENABLE ROW LEVEL SECURITY;

COMMENT ON TABLE visitors IS
    'First-party visitors identified by cookie, with the click id (gclid) and UTM attribution of their landing. Written by the API with the service role; RLS on with no policies denies anon and authenticated.';
COMMENT ON COLUMN visitors.visitor_id IS
    'First-party cookie id of the visitor (unique).';
COMMENT ON COLUMN visitors.gclid IS
    'Google Ads click id from the landing URL; the only click id stored in v1.1.';
COMMENT ON COLUMN visitors.ip_hash IS
    'SHA-256 hex digest (64 lowercase hex chars) of the client IP address. The raw IP is never stored.';
COMMENT ON COLUMN visitors.first_seen_at IS
    'When the cookie was first seen.';
COMMENT ON COLUMN visitors.last_seen_at IS
    'When the cookie was last seen; refreshed by the application on each visit.';

-- crm module, file 001: clients
--
-- Declared state, not a migration: every statement describes an object as it
-- should exist. Names are unqualified; the schema comes from stack config
-- (crm for this module).
--
-- Source: seed 003 (schema reference of the lead-management product, v2.0.0).
-- The seed gives exact SQL for each table; columns, types, nullability,
-- defaults, CHECKs, indexes and comments are kept as written there. What
-- changes, module-wide:
--   * Constraints are named (<table>_<column>_<what>, PostgreSQL's own
--     convention) so the declared name is what the program tracks and diffs.
--   * Types are spelled in lower case (uuid, text, timestamptz ...); they are
--     the seed's types.
--   * COMMENT ON names are unqualified (the seed writes public.<table>).
--   * Data rows (the seed's INSERT of the internal client) are not schema: a
--     module file declares objects only. Seeding that row is an application
--     or ops step.
--   * Where the seed's prose tables disagree with its SQL (e.g. "Nullable: No"
--     for clients.language, which the SQL declares without NOT NULL) the SQL
--     wins: it is what the product runs today.
--
-- Row-level security (the seed only recommends it; the project enforces it):
--   * ENABLE ROW LEVEL SECURITY on every table. FORCE is not used: it would
--     also bind the table owner, which the seed never asks for.
--   * The tenant is the value of the setting app.current_client_id, which the
--     API sets per transaction: set_config('app.current_client_id', <uuid>, true).
--     It holds a clients.client_id (the identifier every foreign key uses),
--     not clients.id.
--   * Every policy reads it as
--         (select nullif(current_setting('app.current_client_id', true), '')::uuid)
--     - missing_ok = true: no error when the setting was never set (NULL);
--     - nullif(.., ''): once a transaction-local set_config ends, the setting
--       reads as '' for the rest of the session, and ''::uuid would raise;
--     - NULL = client_id is never true, so without a tenant a policy matches
--       zero rows instead of failing;
--     - the sub-select makes the planner evaluate it once per query (an
--       InitPlan), not once per row.
--   * Policies are for authenticated only. anon has no policy, so RLS shows it
--     nothing. service_role has BYPASSRLS: the server routes (signup, key
--     rotation, crawler, cron jobs) keep full access, as the seed describes.
--   * Every column a policy filters on and every foreign-key column has an
--     index whose leading column it is (a PK or UNIQUE counts).

CREATE TABLE clients (
    -- Primary identifiers
    id                    uuid        CONSTRAINT clients_pkey PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The seed also creates unique indexes idx_clients_client_id, idx_clients_email
    -- and idx_clients_api_key on these three columns, next to their UNIQUE
    -- constraints: two identical indexes per column, both maintained on every
    -- write. Here each UNIQUE constraint carries the seed's index name, so the
    -- database has exactly the indexes the seed names, once each, and the
    -- foreign keys to clients(client_id) still rest on a UNIQUE constraint.
    client_id             uuid        NOT NULL CONSTRAINT idx_clients_client_id UNIQUE,

    -- Account information
    business_name         text        NOT NULL,
    contact_name          text,
    name                  text,
    email                 text        NOT NULL CONSTRAINT idx_clients_email UNIQUE,
    password_hash         text        NOT NULL,
    api_key               text        NOT NULL CONSTRAINT idx_clients_api_key UNIQUE,
    language              text        DEFAULT 'en'
                                      CONSTRAINT clients_language_check
                                      CHECK (language IN ('en', 'fr')),

    -- Flags
    is_internal           boolean     DEFAULT false,
    is_test               boolean     DEFAULT false,

    -- Personalization fields
    industry_category     text,
    primary_service       text,
    booking_link          text,
    custom_tagline        text,
    email_tone            text        DEFAULT 'Friendly'
                                      CONSTRAINT clients_email_tone_check
                                      CHECK (email_tone IN ('Friendly', 'Professional', 'Formal', 'Energetic')),
    followup_speed        text        DEFAULT 'Instant'
                                      CONSTRAINT clients_followup_speed_check
                                      CHECK (followup_speed IN ('Instant', 'Within 1 hour', 'Same day')),
    ai_personalized_reply boolean     DEFAULT true,

    -- SMTP configuration (optional, for sending from the client's domain)
    outbound_email        text,
    smtp_host             text,
    smtp_port             integer,
    smtp_username         text,
    smtp_password         text,

    -- Timestamps
    created_at            timestamptz DEFAULT now(),
    last_login            timestamptz,
    last_connection       timestamptz,
    last_rotated          timestamptz
);

CREATE INDEX idx_clients_is_test ON clients (is_test);
CREATE INDEX idx_clients_is_internal ON clients (is_internal);
CREATE INDEX idx_clients_created_at ON clients (created_at DESC);

ALTER TABLE clients ENABLE ROW LEVEL SECURITY;

-- A signed-in client sees its own account row and nothing else. The policy
-- filters on client_id (indexed by idx_clients_client_id).
--
-- Read only, on purpose: the row holds password_hash, api_key, smtp_password
-- and is_internal, which a client must not set itself (is_internal = true
-- would impersonate Avenir's own account). Signup, settings, password changes
-- and key rotation go through the server routes with the service role, and
-- deleting a client (which cascades to all its data) is an admin operation.
CREATE POLICY clients_select_own ON clients
    FOR SELECT
    TO authenticated
    USING (client_id = (select nullif(current_setting('app.current_client_id', true), '')::uuid));

COMMENT ON TABLE clients IS
    'Client accounts with personalization settings and API credentials';
COMMENT ON COLUMN clients.client_id IS
    'Unique client identifier used in all foreign key relationships';
COMMENT ON COLUMN clients.api_key IS
    'Authentication token for lead submission API';
COMMENT ON COLUMN clients.is_test IS
    'Auto-detected from email containing "test" or "example.com"';
COMMENT ON COLUMN clients.is_internal IS
    'Flag for Avenir AI internal client (UUID: 00000000-0000-0000-0000-000000000001)';

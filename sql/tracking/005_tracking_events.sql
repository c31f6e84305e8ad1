-- tracking module, file 005: tracking_events
--
-- Server-side event log, written by the server-side event proxy (seed 001:
-- phase 11). Schema lives here per seed 000. RLS on, no policies (see 001).
--
-- Claude's Discretion (column design): GA4-style event_name + free-form
-- params jsonb, a client-generated event_id for deduplication, and a nullable
-- visitor_id with ON DELETE SET NULL (seed 001) so events survive visitor
-- cleanup. params is constrained to a JSON object (a params map), which is
-- what the proxy forwards; scalars and arrays are rejected.

CREATE TABLE tracking_events (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    event_name  text        NOT NULL,
    -- Client-generated id; UNIQUE so a retried beacon inserts once
    -- (ON CONFLICT DO NOTHING). Nullable: several NULLs are allowed.
    event_id    text        CONSTRAINT tracking_events_event_id_key UNIQUE,
    params      jsonb       NOT NULL DEFAULT '{}'::jsonb
                            CONSTRAINT tracking_events_params_object
                            CHECK (jsonb_typeof(params) = 'object'),
    visitor_id  uuid        CONSTRAINT tracking_events_visitor_id_fkey
                            REFERENCES visitors (id) ON DELETE SET NULL,
    page_url    text,
    -- When the event happened on the client; created_at is when it was stored.
    occurred_at timestamptz NOT NULL DEFAULT now(),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A visitor's timeline (and the ON DELETE SET NULL from visitors); events
-- without a visitor are left out.
CREATE INDEX idx_tracking_events_visitor_occurred
    ON tracking_events (visitor_id, occurred_at DESC)
    WHERE visitor_id IS NOT NULL;
-- Recent events of one name (reporting, debugging the proxy).
CREATE INDEX idx_tracking_events_name_occurred
    ON tracking_events (event_name, occurred_at DESC);

-- pgstack: accept rls_enabled_no_policy: deny-all on purpose: written by the server-side event
--   proxy with the service role (BYPASSRLS); anon and authenticated see nothing
ALTER TABLE tracking_events ENABLE ROW LEVEL SECURITY;

COMMENT ON TABLE tracking_events IS
    'Server-side tracking events (name + jsonb params), optionally linked to a visitor. Service role only (RLS on, no policies).';
COMMENT ON COLUMN tracking_events.event_id IS
    'Client-generated event id used for deduplication (unique when present).';
COMMENT ON COLUMN tracking_events.params IS 'Event parameters as a JSON object.';
COMMENT ON COLUMN tracking_events.visitor_id IS
    'Visitor that produced the event; NULL if unknown or if the visitor row was deleted (events survive visitor cleanup).';
COMMENT ON COLUMN tracking_events.occurred_at IS 'When the event happened (client time if supplied, else insert time).';

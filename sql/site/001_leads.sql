-- site module (dev stack only): a stand-in for the application's existing `leads` table.
--
-- In production the site created `leads` long before this project; the prod stack declares it
-- under the tracking module's external_tables and never creates it. The dev stack starts from
-- an empty database, so this module creates a minimal leads table for the tracking module to
-- extend. Keep it minimal: the tracking module owns only the columns it adds.

CREATE TABLE leads (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL,
    name text,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- pgstack: accept rls_enabled_no_policy: deny-all on purpose: the dev stand-in for the site's leads
--   table, written and read only by the API with the service role (BYPASSRLS), as in production
ALTER TABLE leads ENABLE ROW LEVEL SECURITY;

COMMENT ON TABLE leads IS 'Dev stand-in for the site''s leads table (exists already in production).';

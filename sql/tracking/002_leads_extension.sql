-- tracking module, file 002: columns this module adds to the existing leads table
--
-- This module does NOT own leads: the table exists before the module (the
-- site's lead form created it) and the stack config declares it as external.
-- Only the columns added below are managed here; the rest of leads, its
-- primary key and its RLS setting are left exactly as they are (no ENABLE or
-- FORCE ROW LEVEL SECURITY, no policies on leads from this module).
-- Assumption: leads.id is uuid (conversions.lead_id in 003 references it).
--
-- Seed 000: "Standard ALTER TABLE migration - site just launched, minimal
-- existing data", so NOT NULL columns carry a DEFAULT and fill existing rows.
--
-- Claude's Discretion: consent field names and types.
--   Google Consent Mode v2 signals, as the Google Ads API upload expects them:
--     consent_ad_storage         - may ad cookies (gclid) be stored/read
--     consent_ad_user_data       - may user data (email_hash) be sent to Google
--     consent_ad_personalization - may the data be used for ad personalization
--   boolean NOT NULL DEFAULT false: a lead with no recorded consent is treated
--   as denied (fail closed), so the uploader never sends data by accident.
--   consent_updated_at is NULL until consent is recorded, which keeps "never
--   asked" distinguishable from "denied" without a three-valued boolean.

ALTER TABLE leads
    ADD COLUMN visitor_id uuid
        CONSTRAINT leads_visitor_id_fkey REFERENCES visitors (id) ON DELETE SET NULL,
    ADD COLUMN utm_source text,
    ADD COLUMN utm_medium text,
    ADD COLUMN utm_campaign text,
    ADD COLUMN utm_term text,
    ADD COLUMN utm_content text,
    ADD COLUMN email_hash text
        CONSTRAINT leads_email_hash_format CHECK (email_hash ~ '^[0-9a-f]{64}$'),
    ADD COLUMN consent_ad_storage boolean NOT NULL DEFAULT false,
    ADD COLUMN consent_ad_user_data boolean NOT NULL DEFAULT false,
    ADD COLUMN consent_ad_personalization boolean NOT NULL DEFAULT false,
    ADD COLUMN consent_updated_at timestamptz,
    ADD COLUMN conversion_status text NOT NULL DEFAULT 'none'
        CONSTRAINT leads_conversion_status_check
        CHECK (conversion_status IN ('none', 'qualified', 'closed'));

-- Leads are joined to their visitor (attribution lookups); most leads from
-- before tracking have none, hence partial.
CREATE INDEX idx_leads_visitor_id ON leads (visitor_id) WHERE visitor_id IS NOT NULL;

COMMENT ON COLUMN leads.visitor_id IS
    'Visitor (first-party cookie) that submitted the lead; set to NULL if the visitor row is deleted. Added by the tracking module.';
COMMENT ON COLUMN leads.utm_source IS 'UTM source captured with the lead. Added by the tracking module.';
COMMENT ON COLUMN leads.utm_medium IS 'UTM medium captured with the lead. Added by the tracking module.';
COMMENT ON COLUMN leads.utm_campaign IS 'UTM campaign captured with the lead. Added by the tracking module.';
COMMENT ON COLUMN leads.utm_term IS 'UTM term captured with the lead. Added by the tracking module.';
COMMENT ON COLUMN leads.utm_content IS 'UTM content captured with the lead. Added by the tracking module.';
COMMENT ON COLUMN leads.email_hash IS
    'SHA-256 hex digest (64 lowercase hex chars) of the trimmed, lowercased email, for Google Ads enhanced conversions. Added by the tracking module.';
COMMENT ON COLUMN leads.consent_ad_storage IS
    'Consent Mode v2 ad_storage granted; false = denied or not recorded. Added by the tracking module.';
COMMENT ON COLUMN leads.consent_ad_user_data IS
    'Consent Mode v2 ad_user_data granted (required before sending email_hash to Google); false = denied or not recorded. Added by the tracking module.';
COMMENT ON COLUMN leads.consent_ad_personalization IS
    'Consent Mode v2 ad_personalization granted; false = denied or not recorded. Added by the tracking module.';
COMMENT ON COLUMN leads.consent_updated_at IS
    'When the consent signals were last recorded; NULL = never recorded. Added by the tracking module.';
COMMENT ON COLUMN leads.conversion_status IS
    'Furthest conversion reached by the lead: none, qualified or closed. Added by the tracking module.';

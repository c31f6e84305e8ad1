-- tracking module, file 003: conversions
--
-- One row per CRM conversion event (a deal qualified or closed). Written by
-- the CRM webhook and enhanced-conversion phases with the service role.
-- RLS on, no policies (see 001).
--
-- Attribution (gclid, email_hash, UTMs) is DENORMALIZED into each row (seed
-- 001): the asynchronous queue uploader must not join conversions -> leads ->
-- visitors at upload time, and the values sent to Google must be the ones
-- captured when the conversion happened, even if the lead or visitor changes
-- or the visitor row is pruned later.

CREATE TABLE conversions (
    id               uuid          PRIMARY KEY DEFAULT gen_random_uuid(),
    -- A conversion has no meaning without its lead; deleting the lead (e.g. an
    -- erasure request) removes its conversions and, via 004, their queue rows.
    lead_id          uuid          NOT NULL
                                   CONSTRAINT conversions_lead_id_fkey
                                   REFERENCES leads (id) ON DELETE CASCADE,
    crm_deal_id      text          NOT NULL,
    conversion_type  text          NOT NULL
                                   CONSTRAINT conversions_conversion_type_check
                                   CHECK (conversion_type IN ('qualified', 'closed')),
    -- Seed 000 (OFL-03): format {crm_deal_id}:{conversion_type}. UNIQUE makes a
    -- replayed webhook a no-op (INSERT ... ON CONFLICT DO NOTHING); the CHECK
    -- keeps the key honest so two rows for the same deal and type cannot slip
    -- past it under differently spelled keys.
    idempotency_key  text          NOT NULL
                                   CONSTRAINT conversions_idempotency_key_key UNIQUE,
    gclid            text,
    email_hash       text          CONSTRAINT conversions_email_hash_format
                                   CHECK (email_hash ~ '^[0-9a-f]{64}$'),
    utm_source       text,
    utm_medium       text,
    utm_campaign     text,
    -- Nullable: a qualified lead often has no monetary value yet.
    conversion_value numeric(12,2) CONSTRAINT conversions_conversion_value_check
                                   CHECK (conversion_value >= 0),
    -- ISO 4217 alphabetic code, as the Google Ads API expects it.
    currency_code    text          NOT NULL DEFAULT 'USD'
                                   CONSTRAINT conversions_currency_code_format
                                   CHECK (currency_code ~ '^[A-Z]{3}$'),
    converted_at     timestamptz   NOT NULL,
    created_at       timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT conversions_idempotency_key_format
        CHECK (idempotency_key = crm_deal_id || ':' || conversion_type)
);

-- FK lookups and the ON DELETE CASCADE from leads.
CREATE INDEX idx_conversions_lead_id ON conversions (lead_id);
-- Reporting: recent conversions of one type.
CREATE INDEX idx_conversions_type_converted_at
    ON conversions (conversion_type, converted_at DESC);

-- pgstack: accept rls_enabled_no_policy: deny-all on purpose: written by the CRM webhook and read
--   by the uploader, both with the service role (BYPASSRLS); anon and authenticated see nothing
ALTER TABLE conversions ENABLE ROW LEVEL SECURITY;

COMMENT ON TABLE conversions IS
    'CRM conversions (qualified / closed deals) with a snapshot of their ad attribution, ready for upload to ad platforms. Service role only (RLS on, no policies).';
COMMENT ON COLUMN conversions.crm_deal_id IS 'Deal id in the CRM that reported the conversion.';
COMMENT ON COLUMN conversions.conversion_type IS 'qualified or closed (OFL-01).';
COMMENT ON COLUMN conversions.idempotency_key IS
    'Always {crm_deal_id}:{conversion_type} (enforced by CHECK); unique, so replayed CRM webhooks insert nothing.';
COMMENT ON COLUMN conversions.gclid IS
    'Denormalized from the lead''s visitor at conversion time, so the uploader needs no joins and is unaffected by later visitor cleanup.';
COMMENT ON COLUMN conversions.email_hash IS
    'Denormalized from leads.email_hash at conversion time (SHA-256 hex of the normalized email), for enhanced conversions.';
COMMENT ON COLUMN conversions.utm_source IS 'Denormalized from the lead at conversion time.';
COMMENT ON COLUMN conversions.utm_medium IS 'Denormalized from the lead at conversion time.';
COMMENT ON COLUMN conversions.utm_campaign IS 'Denormalized from the lead at conversion time.';
COMMENT ON COLUMN conversions.conversion_value IS 'Monetary value, 2 decimal places, >= 0; NULL when unknown.';
COMMENT ON COLUMN conversions.currency_code IS 'ISO 4217 code of conversion_value (3 uppercase letters).';
COMMENT ON COLUMN conversions.converted_at IS 'When the conversion happened in the CRM (sent to the ad platform as the conversion time).';

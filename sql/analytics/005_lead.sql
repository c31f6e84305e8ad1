-- analytics module, file 005: lead (encrypted PII)
--
-- A known person (filled a form, signed up, was imported). The seed asks for
-- "encrypted PII fields and fingerprints":
--   * PII (email, phone, full name) is stored only encrypted, as bytea written
--     by the API with pgcrypto's pgp_sym_encrypt(value, key) and read with
--     pgp_sym_decrypt(column, key). The key is the API's secret and is passed
--     as a bind parameter per statement; it is never stored in the database,
--     so a dump or a replica reveals no PII. pgcrypto is declared here because
--     those functions must exist in the database.
--   * Each encrypted value has a fingerprint for matching without decrypting:
--     lowercase hex SHA-256 of the normalized value (email: trimmed and
--     lowercased; phone: E.164). A plain SHA-256 of an email can be reversed
--     with a list of known addresses, so the API should compute the
--     fingerprint as HMAC-SHA-256 with a server-side pepper; the stored format
--     is the same 64 hex characters either way.
--   * A fingerprint exists exactly when its encrypted value does (CHECK), so a
--     lead cannot be matchable on a value that is not stored, or the reverse.
--   * One lead per email per tenant: (tenant_id, email_fingerprint) is UNIQUE,
--     which is also the index the "is this email already a lead?" match uses.
--     Several NULLs are allowed (leads known only by phone or by id).
-- Non-PII traits go to properties (jsonb object).

CREATE EXTENSION pgcrypto;

CREATE TABLE lead (
    tenant_id         bigint      NOT NULL
                                  CONSTRAINT lead_tenant_id_fkey
                                  REFERENCES tenant (tenant_id) ON DELETE CASCADE,
    id                uuid        NOT NULL DEFAULT gen_random_uuid(),
    email_encrypted   bytea,
    email_fingerprint text        CONSTRAINT lead_email_fingerprint_format
                                  CHECK (email_fingerprint ~ '^[0-9a-f]{64}$'),
    phone_encrypted   bytea,
    phone_fingerprint text        CONSTRAINT lead_phone_fingerprint_format
                                  CHECK (phone_fingerprint ~ '^[0-9a-f]{64}$'),
    full_name_encrypted bytea,
    -- Id of the lead in the tenant's CRM, when synced.
    external_id       text,
    status            text        NOT NULL DEFAULT 'new'
                                  CONSTRAINT lead_status_check
                                  CHECK (status IN ('new', 'qualified', 'customer', 'disqualified')),
    properties        jsonb       NOT NULL DEFAULT '{}'::jsonb
                                  CONSTRAINT lead_properties_object
                                  CHECK (jsonb_typeof(properties) = 'object'),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT lead_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT lead_tenant_id_email_fingerprint_key UNIQUE (tenant_id, email_fingerprint),
    CONSTRAINT lead_email_fingerprint_pair
        CHECK ((email_encrypted IS NULL) = (email_fingerprint IS NULL)),
    CONSTRAINT lead_phone_fingerprint_pair
        CHECK ((phone_encrypted IS NULL) = (phone_fingerprint IS NULL))
);

-- Phone matching; phones are shared (households, switchboards), so not unique.
CREATE INDEX idx_lead_phone_fingerprint ON lead (tenant_id, phone_fingerprint)
    WHERE phone_fingerprint IS NOT NULL;
-- CRM sync looks leads up by their CRM id.
CREATE INDEX idx_lead_external_id ON lead (tenant_id, external_id)
    WHERE external_id IS NOT NULL;

ALTER TABLE lead ENABLE ROW LEVEL SECURITY;

CREATE POLICY lead_tenant_isolation ON lead
    AS PERMISSIVE FOR ALL TO authenticated
    USING (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint))
    WITH CHECK (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint));

COMMENT ON TABLE lead IS
    'Known people of a tenant. PII is stored only encrypted (pgp_sym_encrypt by the API, key never in the database), with SHA-256 fingerprints for matching.';
COMMENT ON COLUMN lead.email_encrypted IS 'pgp_sym_encrypt(email, key) written by the API; NULL when unknown.';
COMMENT ON COLUMN lead.email_fingerprint IS
    'Hex SHA-256 (HMAC with the API pepper) of the trimmed, lowercased email; unique per tenant; present exactly when email_encrypted is.';
COMMENT ON COLUMN lead.phone_encrypted IS 'pgp_sym_encrypt(phone in E.164, key) written by the API.';
COMMENT ON COLUMN lead.phone_fingerprint IS 'Hex SHA-256 (HMAC with the API pepper) of the E.164 phone number.';
COMMENT ON COLUMN lead.full_name_encrypted IS 'pgp_sym_encrypt(full name, key); names are not matched, so no fingerprint.';
COMMENT ON COLUMN lead.properties IS 'Non-PII traits as a JSON object (plan, company size ...). Never put PII here.';

-- analytics module, sample data, file 002: visitors, leads, identity links
-- (DEV ONLY; how it is loaded: see 001.)
--
-- Per tenant: lead A signs up on a laptop (visitor 01) and later opens an
-- email on a phone (visitor 03); lead B comes once (visitor 02); visitor 04
-- reads the blog every week and never identifies.

INSERT INTO visitor (tenant_id, anonymous_id, first_seen_at, last_seen_at, first_referrer, first_landing_page,
                     created_at)
SELECT t.tenant_id, v.anonymous_id, v.first_seen_at::timestamptz, v.last_seen_at::timestamptz, v.first_referrer,
       v.first_landing_page, v.first_seen_at::timestamptz
FROM (VALUES
    ('acme',   'acme-visitor-01',   '2026-01-14 09:02:11+00', '2026-01-14 09:11:40+00',
     'https://www.google.com/', 'https://acme.example/'),
    ('acme',   'acme-visitor-02',   '2026-02-03 12:14:05+00', '2026-02-03 12:20:11+00',
     NULL, 'https://acme.example/blog/attribution-101'),
    ('acme',   'acme-visitor-03',   '2026-03-09 18:38:20+00', '2026-03-09 18:41:00+00',
     NULL, 'https://acme.example/docs/getting-started'),
    ('acme',   'acme-visitor-04',   '2026-01-05 07:45:00+00', '2026-03-23 07:48:00+00',
     'https://news.ycombinator.com/', 'https://acme.example/blog/issue-1'),
    ('globex', 'globex-visitor-01', '2026-01-20 15:30:00+00', '2026-01-20 15:41:10+00',
     'https://www.linkedin.com/', 'https://globex.example/'),
    ('globex', 'globex-visitor-02', '2026-02-17 20:05:00+00', '2026-02-17 20:09:45+00',
     'https://partners.initrode.example/', 'https://globex.example/pricing'),
    ('globex', 'globex-visitor-03', '2026-03-16 07:50:00+00', '2026-03-16 07:55:30+00',
     NULL, 'https://globex.example/app/reports'),
    ('globex', 'globex-visitor-04', '2026-01-05 07:45:00+00', '2026-03-23 07:48:00+00',
     'https://news.ycombinator.com/', 'https://globex.example/blog/issue-1')
) AS v (tenant, anonymous_id, first_seen_at, last_seen_at, first_referrer, first_landing_page)
JOIN tenant t ON t.slug = v.tenant
ON CONFLICT DO NOTHING;

-- PII. The API stores email, phone and name encrypted with pgcrypto's
-- pgp_sym_encrypt(value, key); the embedded dev PostgreSQL has no pgcrypto
-- (built without OpenSSL), so the *_encrypted columns hold a placeholder
-- that is plainly not ciphertext. The fingerprints are computed as 005_lead
-- defines them: hex SHA-256 of the trimmed, lowercased email and of the
-- E.164 phone (the API uses an HMAC with a pepper; same format). All names,
-- addresses (.example) and numbers (555-01xx) are fictional.
INSERT INTO lead (tenant_id, id, email_encrypted, email_fingerprint, phone_encrypted, phone_fingerprint,
                  full_name_encrypted, external_id, status, properties, created_at, updated_at)
SELECT t.tenant_id, md5(v.tenant || '/lead/' || v.key)::uuid,
       convert_to('sample placeholder, not encrypted: email', 'UTF8'),
       encode(sha256(convert_to(lower(trim(v.email)), 'UTF8')), 'hex'),
       CASE WHEN v.phone IS NOT NULL THEN convert_to('sample placeholder, not encrypted: phone', 'UTF8') END,
       encode(sha256(convert_to(v.phone, 'UTF8')), 'hex'),
       convert_to('sample placeholder, not encrypted: full name', 'UTF8'),
       v.external_id, v.status, v.properties::jsonb, v.created_at::timestamptz, v.updated_at::timestamptz
FROM (VALUES
    ('acme', 'ava', 'Ava.Lopez@initech.example', '+15555550123', 'hubspot-1001', 'customer',
     '{"company": "Initech", "company_size": "51-200", "plan": "pro", "lifecycle_stage": "customer"}',
     '2026-01-14 09:10:02+00', '2026-01-28 10:00:00+00'),
    ('acme', 'ben', 'ben.okafor@hooli.example', NULL, 'hubspot-1002', 'qualified',
     '{"company": "Hooli", "team_size": "11-50", "demo_requested": true}',
     '2026-02-03 12:20:11+00', '2026-02-03 12:20:11+00'),
    ('globex', 'carlos', 'carlos.mendes@umbrella.example', '+15555550142', 'sf-0034', 'customer',
     '{"company": "Umbrella Logistics", "industry": "logistics", "plan": "team", "seats": 12}',
     '2026-01-20 15:38:31+00', '2026-02-03 16:00:00+00'),
    ('globex', 'dana', 'dana.kim@soylent.example', NULL, NULL, 'new',
     '{"company": "Soylent", "referred_by": "initrode-partners"}',
     '2026-02-17 20:09:45+00', '2026-02-17 20:09:45+00')
) AS v (tenant, key, email, phone, external_id, status, properties, created_at, updated_at)
JOIN tenant t ON t.slug = v.tenant
ON CONFLICT DO NOTHING;

INSERT INTO identity_link (tenant_id, anonymous_id, lead_id, source, linked_at)
SELECT t.tenant_id, v.anonymous_id, md5(v.tenant || '/lead/' || v.lead)::uuid, v.source, v.linked_at::timestamptz
FROM (VALUES
    ('acme',   'acme-visitor-01',   'ava',    'form',        '2026-01-14 09:10:02+00'),
    ('acme',   'acme-visitor-02',   'ben',    'form',        '2026-02-03 12:20:11+00'),
    ('acme',   'acme-visitor-03',   'ava',    'email_click', '2026-03-09 18:38:20+00'),
    ('globex', 'globex-visitor-01', 'carlos', 'form',        '2026-01-20 15:38:31+00'),
    ('globex', 'globex-visitor-02', 'dana',   'login',       '2026-02-17 20:09:45+00'),
    ('globex', 'globex-visitor-03', 'carlos', 'email_click', '2026-03-16 07:50:00+00')
) AS v (tenant, anonymous_id, lead, source, linked_at)
JOIN tenant t ON t.slug = v.tenant
ON CONFLICT DO NOTHING;

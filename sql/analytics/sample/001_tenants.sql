-- analytics module, sample data, file 001: tenants, workspaces, API keys
--
-- DEV ONLY. Sample rows for trying the analytics schema by hand (seed 004,
-- task 6: "seed script for development data").
--
-- How it is loaded
--   * Stack config turns it on per module: `sample_data: true` under the
--     module in Pulumi.dev.yaml. The program refuses it on a stack whose data
--     is not disposable (safety.allow_data_loss: false), so prod never loads
--     it even if the module block is copied there.
--   * `pulumi up` (./dev-up) runs every file of sql/analytics/sample/ in name
--     order, all statements in ONE transaction, after the module's tables,
--     monthly partitions, indexes and triggers exist. It runs as the tables'
--     owner, which RLS does not bind, so both tenants' rows go in.
--   * `pulumi preview` checks the files first: every statement must be an
--     INSERT ... ON CONFLICT DO NOTHING into a table of this module, and may
--     read only tables of this module. A bad statement stops the run with its
--     file:line; a failing one (a CHECK, a foreign key) rolls everything back.
--   * Editing a file makes the next preview show an update of
--     analytics/analytics.sample_data; `up` then runs ALL statements again.
--     Rows already there are left alone (DO NOTHING), new rows are added:
--     changing the values of an existing row here does not change it in the
--     database. To start over, recreate the dev database (stop it, delete
--     .pgdata/, run ./dev-up). Turning sample_data off leaves the rows.
--
-- Rules that make re-running safe
--   * Every row has a fixed key. tenant_id is GENERATED ALWAYS, so children
--     look their tenant up by its unique slug; other ids are deterministic
--     uuids, md5('<tenant slug>/<kind>/<name>')::uuid, so a statement can
--     compute its parent's id without reading it.
--   * Timestamps are fixed, in UTC, from January to March 2026: the dev
--     stack's event partitions start at 2026-01 and are never dropped.
--
-- The data, per tenant (both have the same shape, so isolation can be tried
-- by comparing them; see 002-004 for the story)
--   tenant             acme (Acme Corp), globex (Globex Corporation)
--   workspace          1    acme: www (Europe/Berlin); globex: app (America/Chicago)
--   api_key            acme 2 (ingest; a revoked read key), globex 1 (ingest)
--   visitor            4    lead A on a laptop and a phone, lead B, and an
--                           anonymous weekly reader
--   lead               2    PII as placeholders (see 002), real fingerprints
--   identity_link      3    visitor -> lead (form, login, email_click)
--   session            15   3 hand-written visits with UTM/device/geo JSON,
--                           12 weekly visits of the reader
--   event              25   a signup journey (page, track, identify), a
--                           server-side event, the reader's weekly page views
--   funnel             1    version 1 published (3 steps, 4 match rules),
--                           snapshotted in funnel_publication (1); version 2
--                           a draft with a 4th step (7 steps, 9 rules in all)
--
-- Fake secrets. The API keys below are sample keys for a local API; only
-- their prefix and SHA-256 are stored (api_key keeps no key), as the API
-- stores real ones:
--   ak_test_AcmeWeb1_DevOnlySampleKeyNotASecret01   acme, ingest
--   ak_test_AcmeRpt1_DevOnlySampleKeyNotASecret02   acme, read, revoked
--   ak_test_GlobxApp_DevOnlySampleKeyNotASecret03   globex, ingest

INSERT INTO tenant (name, slug, status, created_at, updated_at) VALUES
    ('Acme Corp',          'acme',   'active', '2025-12-01 09:00:00+00', '2025-12-01 09:00:00+00'),
    ('Globex Corporation', 'globex', 'active', '2025-12-08 14:30:00+00', '2025-12-08 14:30:00+00')
ON CONFLICT DO NOTHING;

INSERT INTO workspace (tenant_id, id, name, slug, timezone, created_at, updated_at)
SELECT t.tenant_id, md5(v.tenant || '/workspace/' || v.slug)::uuid, v.name, v.slug, v.timezone,
       t.created_at, t.created_at
FROM (VALUES
    ('acme',   'www', 'Acme website',   'Europe/Berlin'),
    ('globex', 'app', 'Globex web app', 'America/Chicago')
) AS v (tenant, slug, name, timezone)
JOIN tenant t ON t.slug = v.tenant
ON CONFLICT DO NOTHING;

-- key_hash: sha256 hex of the sample keys listed at the top of this file.
INSERT INTO api_key (tenant_id, id, workspace_id, name, key_prefix, key_hash, scope,
                     last_used_at, expires_at, revoked_at, created_at)
SELECT t.tenant_id, md5(v.tenant || '/api_key/' || v.key_prefix)::uuid,
       md5(v.tenant || '/workspace/' || v.workspace)::uuid, v.name, v.key_prefix, v.key_hash, v.scope,
       v.last_used_at::timestamptz, v.expires_at::timestamptz, v.revoked_at::timestamptz,
       v.created_at::timestamptz
FROM (VALUES
    ('acme', 'www', 'Website tracking (browser)', 'ak_test_AcmeWeb1',
     'a47dc9cc005774ed100a136d38b6914d8b3942d61058a75d75f631de99f2a0fc', 'ingest',
     '2026-03-23 08:18:00+00', NULL, NULL, '2025-12-01 09:05:00+00'),
    ('acme', 'www', 'Old reporting script', 'ak_test_AcmeRpt1',
     '63917e8146408b6836c51ac66103f40a3c3398788a30efded907378fdf64647d', 'read',
     '2026-02-14 23:00:00+00', NULL, '2026-02-15 10:00:00+00', '2025-12-02 11:00:00+00'),
    ('globex', 'app', 'Web app tracking', 'ak_test_GlobxApp',
     '6056dae99f289d0f26f5c4c641cc2b04236b8854a5d77d8b41fa33d2658ac39a', 'ingest',
     '2026-03-23 08:18:00+00', '2026-12-31 23:59:59+00', NULL, '2025-12-08 15:00:00+00')
) AS v (tenant, workspace, name, key_prefix, key_hash, scope, last_used_at, expires_at, revoked_at, created_at)
JOIN tenant t ON t.slug = v.tenant
ON CONFLICT DO NOTHING;

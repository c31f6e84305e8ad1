-- analytics module, sample data, file 004: funnels
-- (DEV ONLY; how it is loaded: see 001.)
--
-- One funnel per tenant. Version 1 was published before the visits of 003
-- (so the journeys there walk through it) and snapshotted in
-- funnel_publication; version 2 is the draft being edited, with a 4th step.
-- Match rules follow 013_funnel_step_match: {"event", "event_type"?,
-- "where"?: [{"property", "op", "value"}]}; a step matches when any of its
-- rules does.

INSERT INTO funnel (tenant_id, id, workspace_id, name, description, created_at, updated_at)
SELECT t.tenant_id, md5(f.tenant || '/funnel/' || f.key)::uuid, md5(f.tenant || '/workspace/' || f.workspace)::uuid,
       f.name, f.description, f.created_at::timestamptz, f.created_at::timestamptz
FROM (VALUES
    ('acme', 'www', 'signup', 'Pricing to signup',
     'Visitors who look at pricing, start the signup and finish it within a day.', '2026-01-09 16:00:00+00'),
    ('globex', 'app', 'activation', 'Trial activation',
     'Trials that connect a data source within three days.', '2026-01-15 08:30:00+00')
) AS f (tenant, workspace, key, name, description, created_at)
JOIN tenant t ON t.slug = f.tenant
ON CONFLICT DO NOTHING;

INSERT INTO funnel_version (tenant_id, id, funnel_id, version, status, published_at, created_at, updated_at)
SELECT t.tenant_id, md5(v.tenant || '/funnel/' || v.funnel || '/v' || v.version)::uuid,
       md5(v.tenant || '/funnel/' || v.funnel)::uuid, v.version, v.status, v.published_at::timestamptz,
       v.created_at::timestamptz, coalesce(v.published_at, v.created_at)::timestamptz
FROM (VALUES
    ('acme',   'signup',     1, 'published', '2026-01-10 10:00:00+00', '2026-01-09 16:00:00+00'),
    ('acme',   'signup',     2, 'draft',     NULL,                     '2026-03-10 09:00:00+00'),
    ('globex', 'activation', 1, 'published', '2026-01-15 09:00:00+00', '2026-01-15 08:30:00+00'),
    ('globex', 'activation', 2, 'draft',     NULL,                     '2026-03-17 14:00:00+00')
) AS v (tenant, funnel, version, status, published_at, created_at)
JOIN tenant t ON t.slug = v.tenant
ON CONFLICT DO NOTHING;

-- within_seconds: at most that long after the previous step (NULL: no limit).
INSERT INTO funnel_step (tenant_id, id, funnel_version_id, position, name, within_seconds, created_at)
SELECT t.tenant_id, md5(s.tenant || '/funnel/' || s.funnel || '/v' || s.version || '/step/' || s.position)::uuid,
       md5(s.tenant || '/funnel/' || s.funnel || '/v' || s.version)::uuid, s.position, s.name, s.within_seconds,
       v.created_at
FROM (VALUES
    ('acme',   'signup',     1, 1, 'Viewed pricing',     NULL),
    ('acme',   'signup',     1, 2, 'Started signup',     1800),
    ('acme',   'signup',     1, 3, 'Signed up',          86400),
    ('acme',   'signup',     2, 1, 'Viewed pricing',     NULL),
    ('acme',   'signup',     2, 2, 'Started signup',     1800),
    ('acme',   'signup',     2, 3, 'Signed up',          86400),
    ('acme',   'signup',     2, 4, 'Invited a teammate', 604800),
    ('globex', 'activation', 1, 1, 'Viewed pricing',     NULL),
    ('globex', 'activation', 1, 2, 'Started trial',      3600),
    ('globex', 'activation', 1, 3, 'Connected data',     259200),
    ('globex', 'activation', 2, 1, 'Viewed pricing',     NULL),
    ('globex', 'activation', 2, 2, 'Started trial',      3600),
    ('globex', 'activation', 2, 3, 'Connected data',     259200),
    ('globex', 'activation', 2, 4, 'Exported a report',  1209600)
) AS s (tenant, funnel, version, position, name, within_seconds)
JOIN tenant t ON t.slug = s.tenant
JOIN funnel_version v ON v.tenant_id = t.tenant_id
                     AND v.id = md5(s.tenant || '/funnel/' || s.funnel || '/v' || s.version)::uuid
ON CONFLICT DO NOTHING;

-- The rules of a position, for every version that has the step (version 2
-- keeps steps 1-3 as they were). Created a second apart, so the snapshot
-- below lists them in this order.
INSERT INTO funnel_step_match (tenant_id, id, funnel_step_id, rule, created_at)
SELECT s.tenant_id, md5(s.id::text || '/match/' || m.n)::uuid, s.id, m.rule::jsonb,
       s.created_at + m.n * interval '1 second'
FROM (VALUES
    ('acme', 'signup', 1, 1, '{"event": "/pricing", "event_type": "page"}'),
    ('acme', 'signup', 2, 1, '{"event": "Signup Started", "event_type": "track"}'),
    ('acme', 'signup', 3, 1,
     '{"event": "Signed Up", "event_type": "track", "where": [{"property": "plan", "op": "in", "value": ["pro", "team"]}]}'),
    ('acme', 'signup', 3, 2, '{"event": "Trial Started", "event_type": "track"}'),
    ('acme', 'signup', 4, 1,
     '{"event": "Invite Sent", "event_type": "track", "where": [{"property": "invitees", "op": "gte", "value": 1}]}'),
    ('globex', 'activation', 1, 1, '{"event": "/pricing", "event_type": "page"}'),
    ('globex', 'activation', 2, 1, '{"event": "Trial Started", "event_type": "track"}'),
    ('globex', 'activation', 3, 1,
     '{"event": "Integration Connected", "event_type": "track", "where": [{"property": "provider", "op": "in", "value": ["shopify", "woocommerce"]}]}'),
    ('globex', 'activation', 3, 2, '{"event": "CSV Uploaded", "event_type": "track"}'),
    ('globex', 'activation', 4, 1, '{"event": "CSV Exported"}')
) AS m (tenant, funnel, position, n, rule)
JOIN tenant t ON t.slug = m.tenant
JOIN funnel_version v ON v.tenant_id = t.tenant_id AND v.funnel_id = md5(m.tenant || '/funnel/' || m.funnel)::uuid
JOIN funnel_step s ON s.tenant_id = v.tenant_id AND s.funnel_version_id = v.id AND s.position = m.position
ON CONFLICT DO NOTHING;

-- Publishing version 1 wrote this snapshot (the API does it in the same
-- transaction as setting status): the steps in order, each with its rules,
-- read here from the rows above. published_by is a made-up dashboard user.
INSERT INTO funnel_publication (tenant_id, id, funnel_id, funnel_version_id, snapshot, published_by, published_at)
SELECT v.tenant_id, md5(p.tenant || '/funnel/' || p.funnel || '/v1/publication')::uuid, v.funnel_id, v.id,
       jsonb_build_object('name', f.name, 'version', v.version, 'steps', (
           SELECT jsonb_agg(jsonb_build_object(
                      'position', s.position, 'name', s.name, 'within_seconds', s.within_seconds,
                      'matches', (SELECT jsonb_agg(m.rule ORDER BY m.created_at)
                                  FROM funnel_step_match m
                                  WHERE m.tenant_id = s.tenant_id AND m.funnel_step_id = s.id))
                  ORDER BY s.position)
           FROM funnel_step s
           WHERE s.tenant_id = v.tenant_id AND s.funnel_version_id = v.id)),
       md5(p.tenant || '/user/admin')::uuid, v.published_at
FROM (VALUES ('acme', 'signup'), ('globex', 'activation')) AS p (tenant, funnel)
JOIN tenant t ON t.slug = p.tenant
JOIN funnel_version v ON v.tenant_id = t.tenant_id
                     AND v.id = md5(p.tenant || '/funnel/' || p.funnel || '/v1')::uuid
JOIN funnel f ON f.tenant_id = v.tenant_id AND f.id = v.funnel_id
ON CONFLICT DO NOTHING;

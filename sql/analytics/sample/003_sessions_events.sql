-- analytics module, sample data, file 003: sessions and events
-- (DEV ONLY; how it is loaded: see 001.)
--
-- Three hand-written visits per tenant, with the UTM, device and geo JSON an
-- SDK sends, and their events; then the weekly reader's twelve visits
-- (2026-01-05 to 2026-03-23), generated. Events fall in January to March
-- 2026, so they land in the dev stack's partitions event_2026_01 .. _03.

INSERT INTO session (tenant_id, session_id, workspace_id, anonymous_id, started_at, last_activity_at, ended_at,
                     landing_page, referrer, utm, device, geo, created_at)
SELECT t.tenant_id, s.session_id, md5(s.tenant || '/workspace/' || s.workspace)::uuid, s.anonymous_id,
       s.started_at::timestamptz, s.last_activity_at::timestamptz,
       s.last_activity_at::timestamptz + interval '30 minutes',  -- closed by the 30-minute timeout
       s.landing_page, s.referrer, s.utm::jsonb, s.device::jsonb, s.geo::jsonb, s.started_at::timestamptz
FROM (VALUES
    ('acme', 'www', 'acme-sess-01', 'acme-visitor-01', '2026-01-14 09:02:11+00', '2026-01-14 09:11:40+00',
     'https://acme.example/', 'https://www.google.com/',
     '{"source": "google", "medium": "cpc", "campaign": "brand-q1-2026", "term": "acme analytics"}',
     '{"type": "desktop", "os": "macOS 15.2", "browser": "Chrome 132", "screen": "1512x982"}',
     '{"country": "DE", "region": "BE", "city": "Berlin"}'),
    ('acme', 'www', 'acme-sess-02', 'acme-visitor-02', '2026-02-03 12:14:05+00', '2026-02-03 12:20:11+00',
     'https://acme.example/blog/attribution-101', NULL,
     '{"source": "newsletter", "medium": "email", "campaign": "2026-02-digest", "content": "attribution-article"}',
     '{"type": "desktop", "os": "Windows 11", "browser": "Edge 132", "screen": "1920x1080"}',
     '{"country": "GB", "region": "ENG", "city": "Manchester"}'),
    ('acme', 'www', 'acme-sess-03', 'acme-visitor-03', '2026-03-09 18:38:20+00', '2026-03-09 18:41:00+00',
     'https://acme.example/docs/getting-started', NULL,
     '{"source": "hubspot", "medium": "email", "campaign": "pro-onboarding"}',
     '{"type": "mobile", "os": "iOS 18.3", "browser": "Safari 18", "screen": "390x844"}',
     '{"country": "DE", "region": "HH", "city": "Hamburg"}'),
    ('globex', 'app', 'globex-sess-01', 'globex-visitor-01', '2026-01-20 15:30:00+00', '2026-01-20 15:41:10+00',
     'https://globex.example/', 'https://www.linkedin.com/',
     '{"source": "linkedin", "medium": "paid-social", "campaign": "logistics-jan-2026", "content": "carousel-a"}',
     '{"type": "desktop", "os": "Windows 11", "browser": "Chrome 132", "screen": "2560x1440"}',
     '{"country": "US", "region": "IL", "city": "Chicago"}'),
    ('globex', 'app', 'globex-sess-02', 'globex-visitor-02', '2026-02-17 20:05:00+00', '2026-02-17 20:09:45+00',
     'https://globex.example/pricing', 'https://partners.initrode.example/',
     '{"source": "initrode", "medium": "referral", "campaign": "partner-program"}',
     '{"type": "tablet", "os": "iPadOS 18.3", "browser": "Safari 18", "screen": "820x1180"}',
     '{"country": "US", "region": "CA", "city": "Oakland"}'),
    ('globex', 'app', 'globex-sess-03', 'globex-visitor-03', '2026-03-16 07:50:00+00', '2026-03-16 07:55:30+00',
     'https://globex.example/app/reports', NULL,
     '{"source": "globex", "medium": "email", "campaign": "weekly-report"}',
     '{"type": "mobile", "os": "Android 15", "browser": "Chrome 132", "screen": "412x915"}',
     '{"country": "US", "region": "IL", "city": "Evanston"}')
) AS s (tenant, workspace, session_id, anonymous_id, started_at, last_activity_at, landing_page, referrer,
        utm, device, geo)
JOIN tenant t ON t.slug = s.tenant
ON CONFLICT DO NOTHING;

-- page: a page view (name is the path); track: a named action; identify: the
-- visitor became a lead (identity_link in 002). The "... Activated" events
-- come from the tenant's billing backend: no session, a server library.
INSERT INTO event (tenant_id, id, occurred_at, received_at, workspace_id, anonymous_id, session_id, event_type,
                   name, properties, context)
SELECT t.tenant_id, md5(e.tenant || '/event/' || e.key)::uuid, e.occurred_at::timestamptz,
       e.occurred_at::timestamptz + interval '400 milliseconds',
       md5(e.tenant || '/workspace/' || e.workspace)::uuid, e.anonymous_id, e.session_id, e.event_type, e.name,
       e.properties::jsonb, e.context::jsonb
FROM (VALUES
    ('acme', 'www', 'sess-01/1', '2026-01-14 09:02:11+00', 'acme-visitor-01', 'acme-sess-01', 'page', '/',
     '{"title": "Acme - analytics for product teams"}',
     '{"page": {"url": "https://acme.example/", "path": "/", "referrer": "https://www.google.com/"}, "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Chrome/132.0", "locale": "de-DE", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('acme', 'www', 'sess-01/2', '2026-01-14 09:04:30+00', 'acme-visitor-01', 'acme-sess-01', 'page', '/pricing',
     '{"title": "Pricing - Acme"}',
     '{"page": {"url": "https://acme.example/pricing", "path": "/pricing", "referrer": "https://acme.example/"}, "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Chrome/132.0", "locale": "de-DE", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('acme', 'www', 'sess-01/3', '2026-01-14 09:06:02+00', 'acme-visitor-01', 'acme-sess-01', 'track', 'Pricing Plan Selected',
     '{"plan": "pro", "billing": "annual", "price": 390, "currency": "EUR"}',
     '{"page": {"url": "https://acme.example/pricing", "path": "/pricing"}, "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Chrome/132.0", "locale": "de-DE", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('acme', 'www', 'sess-01/4', '2026-01-14 09:07:15+00', 'acme-visitor-01', 'acme-sess-01', 'track', 'Signup Started',
     '{"plan": "pro", "form": "signup-page"}',
     '{"page": {"url": "https://acme.example/signup?plan=pro", "path": "/signup"}, "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Chrome/132.0", "locale": "de-DE", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('acme', 'www', 'sess-01/5', '2026-01-14 09:10:02+00', 'acme-visitor-01', 'acme-sess-01', 'identify', 'Identify',
     '{"traits": {"company": "Initech", "company_size": "51-200"}}',
     '{"page": {"url": "https://acme.example/signup?plan=pro", "path": "/signup"}, "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Chrome/132.0", "locale": "de-DE", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('acme', 'www', 'sess-01/6', '2026-01-14 09:11:40+00', 'acme-visitor-01', 'acme-sess-01', 'track', 'Signed Up',
     '{"plan": "pro", "method": "email"}',
     '{"page": {"url": "https://acme.example/welcome", "path": "/welcome"}, "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Chrome/132.0", "locale": "de-DE", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('acme', 'www', 'billing/1', '2026-01-28 10:00:00+00', 'acme-visitor-01', NULL, 'track', 'Subscription Activated',
     '{"plan": "pro", "billing": "annual", "amount": 4680, "currency": "EUR"}',
     '{"library": {"name": "analytics-node", "version": "1.9.0"}}'),
    ('acme', 'www', 'sess-02/1', '2026-02-03 12:14:05+00', 'acme-visitor-02', 'acme-sess-02', 'page', '/blog/attribution-101',
     '{"title": "Attribution 101", "category": "guides"}',
     '{"page": {"url": "https://acme.example/blog/attribution-101?utm_source=newsletter", "path": "/blog/attribution-101"}, "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/132.0", "locale": "en-GB", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('acme', 'www', 'sess-02/2', '2026-02-03 12:17:44+00', 'acme-visitor-02', 'acme-sess-02', 'page', '/pricing',
     '{"title": "Pricing - Acme"}',
     '{"page": {"url": "https://acme.example/pricing", "path": "/pricing", "referrer": "https://acme.example/blog/attribution-101"}, "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/132.0", "locale": "en-GB", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('acme', 'www', 'sess-02/3', '2026-02-03 12:20:10+00', 'acme-visitor-02', 'acme-sess-02', 'track', 'Demo Requested',
     '{"team_size": "11-50", "preferred_slot": "2026-02-05T15:00:00Z"}',
     '{"page": {"url": "https://acme.example/demo", "path": "/demo"}, "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/132.0", "locale": "en-GB", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('acme', 'www', 'sess-02/4', '2026-02-03 12:20:11+00', 'acme-visitor-02', 'acme-sess-02', 'identify', 'Identify',
     '{"traits": {"company": "Hooli"}}',
     '{"page": {"url": "https://acme.example/demo", "path": "/demo"}, "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/132.0", "locale": "en-GB", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('acme', 'www', 'sess-03/1', '2026-03-09 18:38:20+00', 'acme-visitor-03', 'acme-sess-03', 'page', '/docs/getting-started',
     '{"title": "Getting started - Acme docs"}',
     '{"page": {"url": "https://acme.example/docs/getting-started", "path": "/docs/getting-started"}, "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) Safari/604.1", "locale": "de-DE", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('acme', 'www', 'sess-03/2', '2026-03-09 18:41:00+00', 'acme-visitor-03', 'acme-sess-03', 'track', 'Invite Sent',
     '{"invitees": 2, "role": "editor"}',
     '{"page": {"url": "https://acme.example/app/settings/team", "path": "/app/settings/team"}, "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) Safari/604.1", "locale": "de-DE", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('globex', 'app', 'sess-01/1', '2026-01-20 15:30:00+00', 'globex-visitor-01', 'globex-sess-01', 'page', '/',
     '{"title": "Globex - shipment analytics"}',
     '{"page": {"url": "https://globex.example/?utm_source=linkedin", "path": "/", "referrer": "https://www.linkedin.com/"}, "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/132.0", "locale": "en-US", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('globex', 'app', 'sess-01/2', '2026-01-20 15:32:40+00', 'globex-visitor-01', 'globex-sess-01', 'page', '/solutions/logistics',
     '{"title": "Logistics - Globex"}',
     '{"page": {"url": "https://globex.example/solutions/logistics", "path": "/solutions/logistics"}, "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/132.0", "locale": "en-US", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('globex', 'app', 'sess-01/3', '2026-01-20 15:35:05+00', 'globex-visitor-01', 'globex-sess-01', 'page', '/pricing',
     '{"title": "Pricing - Globex"}',
     '{"page": {"url": "https://globex.example/pricing", "path": "/pricing"}, "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/132.0", "locale": "en-US", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('globex', 'app', 'sess-01/4', '2026-01-20 15:38:30+00', 'globex-visitor-01', 'globex-sess-01', 'track', 'Trial Started',
     '{"plan": "team", "trial_days": 14}',
     '{"page": {"url": "https://globex.example/trial", "path": "/trial"}, "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/132.0", "locale": "en-US", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('globex', 'app', 'sess-01/5', '2026-01-20 15:38:31+00', 'globex-visitor-01', 'globex-sess-01', 'identify', 'Identify',
     '{"traits": {"company": "Umbrella Logistics", "industry": "logistics"}}',
     '{"page": {"url": "https://globex.example/trial", "path": "/trial"}, "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/132.0", "locale": "en-US", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('globex', 'app', 'sess-01/6', '2026-01-20 15:41:10+00', 'globex-visitor-01', 'globex-sess-01', 'track', 'Integration Connected',
     '{"provider": "shopify", "stores": 3}',
     '{"page": {"url": "https://globex.example/app/integrations", "path": "/app/integrations"}, "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/132.0", "locale": "en-US", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('globex', 'app', 'billing/1', '2026-02-03 16:00:00+00', 'globex-visitor-01', NULL, 'track', 'Subscription Activated',
     '{"plan": "team", "billing": "monthly", "amount": 399, "currency": "USD", "seats": 12}',
     '{"library": {"name": "analytics-python", "version": "2.3.0"}}'),
    ('globex', 'app', 'sess-02/1', '2026-02-17 20:05:00+00', 'globex-visitor-02', 'globex-sess-02', 'page', '/pricing',
     '{"title": "Pricing - Globex"}',
     '{"page": {"url": "https://globex.example/pricing?ref=initrode", "path": "/pricing", "referrer": "https://partners.initrode.example/"}, "userAgent": "Mozilla/5.0 (iPad; CPU OS 18_3 like Mac OS X) Safari/604.1", "locale": "en-US", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('globex', 'app', 'sess-02/2', '2026-02-17 20:07:10+00', 'globex-visitor-02', 'globex-sess-02', 'track', 'Pricing Plan Selected',
     '{"plan": "starter", "billing": "monthly", "price": 99, "currency": "USD"}',
     '{"page": {"url": "https://globex.example/pricing", "path": "/pricing"}, "userAgent": "Mozilla/5.0 (iPad; CPU OS 18_3 like Mac OS X) Safari/604.1", "locale": "en-US", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('globex', 'app', 'sess-02/3', '2026-02-17 20:09:45+00', 'globex-visitor-02', 'globex-sess-02', 'identify', 'Identify',
     '{"traits": {"company": "Soylent"}, "method": "login"}',
     '{"page": {"url": "https://globex.example/login", "path": "/login"}, "userAgent": "Mozilla/5.0 (iPad; CPU OS 18_3 like Mac OS X) Safari/604.1", "locale": "en-US", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('globex', 'app', 'sess-03/1', '2026-03-16 07:50:00+00', 'globex-visitor-03', 'globex-sess-03', 'page', '/app/reports',
     '{"title": "Reports - Globex"}',
     '{"page": {"url": "https://globex.example/app/reports?utm_source=globex", "path": "/app/reports"}, "userAgent": "Mozilla/5.0 (Linux; Android 15; Pixel 8) Chrome/132.0 Mobile", "locale": "en-US", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('globex', 'app', 'sess-03/2', '2026-03-16 07:52:10+00', 'globex-visitor-03', 'globex-sess-03', 'track', 'Report Viewed',
     '{"report": "shipments-by-carrier", "range": "last_7_days"}',
     '{"page": {"url": "https://globex.example/app/reports/shipments-by-carrier", "path": "/app/reports/shipments-by-carrier"}, "userAgent": "Mozilla/5.0 (Linux; Android 15; Pixel 8) Chrome/132.0 Mobile", "locale": "en-US", "library": {"name": "analytics.js", "version": "2.4.1"}}'),
    ('globex', 'app', 'sess-03/3', '2026-03-16 07:55:30+00', 'globex-visitor-03', 'globex-sess-03', 'track', 'CSV Exported',
     '{"report": "shipments-by-carrier", "rows": 1284}',
     '{"page": {"url": "https://globex.example/app/reports/shipments-by-carrier", "path": "/app/reports/shipments-by-carrier"}, "userAgent": "Mozilla/5.0 (Linux; Android 15; Pixel 8) Chrome/132.0 Mobile", "locale": "en-US", "library": {"name": "analytics.js", "version": "2.4.1"}}')
) AS e (tenant, workspace, key, occurred_at, anonymous_id, session_id, event_type, name, properties, context)
JOIN tenant t ON t.slug = e.tenant
ON CONFLICT DO NOTHING;

-- The weekly reader (visitor 04 of each tenant): one visit every Monday
-- morning, twelve weeks, one page view each.
INSERT INTO session (tenant_id, session_id, workspace_id, anonymous_id, started_at, last_activity_at, ended_at,
                     landing_page, referrer, device, geo, created_at)
SELECT t.tenant_id, format('%s-weekly-%s', r.tenant, lpad(g::text, 2, '0')),
       md5(r.tenant || '/workspace/' || r.workspace)::uuid, r.tenant || '-visitor-04',
       w.monday, w.monday + interval '3 minutes', w.monday + interval '33 minutes',
       format('https://%s.example/blog/issue-%s', r.tenant, g),
       CASE WHEN g = 1 THEN 'https://news.ycombinator.com/' END,
       '{"type": "desktop", "os": "Linux", "browser": "Firefox 134", "screen": "1920x1200"}',
       '{"country": "NL", "region": "NH", "city": "Amsterdam"}', w.monday
FROM (VALUES ('acme', 'www'), ('globex', 'app')) AS r (tenant, workspace)
JOIN tenant t ON t.slug = r.tenant
CROSS JOIN generate_series(1, 12) AS g
CROSS JOIN LATERAL (SELECT timestamptz '2026-01-05 07:45:00+00' + (g - 1) * interval '7 days' AS monday) AS w
ON CONFLICT DO NOTHING;

INSERT INTO event (tenant_id, id, occurred_at, received_at, workspace_id, anonymous_id, session_id, event_type,
                   name, properties, context)
SELECT s.tenant_id, md5(format('%s/event/weekly-%s', t.slug, lpad(g::text, 2, '0')))::uuid,
       s.started_at, s.started_at + interval '400 milliseconds', s.workspace_id, s.anonymous_id, s.session_id,
       'page', format('/blog/issue-%s', g), jsonb_build_object('title', format('Product notes #%s', g)),
       jsonb_build_object('page', jsonb_build_object('url', s.landing_page, 'path', format('/blog/issue-%s', g)),
                          'userAgent', 'Mozilla/5.0 (X11; Linux x86_64; rv:134.0) Gecko/20100101 Firefox/134.0',
                          'locale', 'nl-NL', 'library', jsonb_build_object('name', 'analytics.js', 'version', '2.4.1'))
FROM tenant t
CROSS JOIN generate_series(1, 12) AS g
JOIN session s ON s.tenant_id = t.tenant_id AND s.session_id = format('%s-weekly-%s', t.slug, lpad(g::text, 2, '0'))
WHERE t.slug IN ('acme', 'globex')
ON CONFLICT DO NOTHING;

-- growth module, file 012: ceo_briefings
--
-- Generated executive summaries per shop, with human feedback. Seed RLS:
-- "Shop-based access (CEO only)". Two policies:
--   * the shop-based policy every shop table has (see 001);
--   * a RESTRICTIVE policy that also requires the caller's JWT to say they
--     are the CEO of the row's shop. A user may belong to several shops with
--     a different role in each, so the claim is a map from shop to role:
--       app_metadata.shop_roles = {"<shop_domain>": "ceo", "<other shop>": "member"}
--     and the policy reads the entry of the row's shop_domain: the CEO of
--     shop A who is a plain member of shop B reads A's briefings, not B's.
--     On Supabase app_metadata is writable only with the service role
--     (unlike user_metadata, which users edit themselves), so a user cannot
--     grant it to themselves. Restrictive policies are ANDed with the
--     permissive one. The map is read once per query (the sub-select), the
--     row's entry per row.

CREATE TABLE ceo_briefings (
    id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    shop_domain       text        NOT NULL
                                  CONSTRAINT ceo_briefings_shop_domain_format
                                  CHECK (shop_domain ~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$'),
    briefing_type     text        NOT NULL
                                  CONSTRAINT ceo_briefings_briefing_type_check
                                  CHECK (briefing_type IN ('daily', 'weekly', 'monthly', 'quarterly', 'ad_hoc')),
    period_start      date        NOT NULL,
    period_end        date        NOT NULL,
    executive_summary text        NOT NULL,
    key_metrics       jsonb       NOT NULL DEFAULT '{}'::jsonb
                                  CONSTRAINT ceo_briefings_key_metrics_object
                                  CHECK (jsonb_typeof(key_metrics) = 'object'),
    insights          jsonb       NOT NULL DEFAULT '[]'::jsonb
                                  CONSTRAINT ceo_briefings_insights_array
                                  CHECK (jsonb_typeof(insights) = 'array'),
    generation_model  text,
    generation_tokens integer     CONSTRAINT ceo_briefings_generation_tokens_check
                                  CHECK (generation_tokens >= 0),
    -- Human feedback: 1 (useless) to 5 (excellent); NULL until rated.
    rating            smallint    CONSTRAINT ceo_briefings_rating_check CHECK (rating BETWEEN 1 AND 5),
    feedback_notes    text,
    created_by        uuid,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ceo_briefings_period_check CHECK (period_end >= period_start)
);

-- Seed: recent briefings of a type. Also the index of the policy column.
CREATE INDEX idx_ceo_briefings_shop_type_period
    ON ceo_briefings (shop_domain, briefing_type, period_end DESC);
-- Seed: (rating DESC), quality tracking of the generator across shops
-- (service role); unrated briefings are left out.
CREATE INDEX idx_ceo_briefings_rating
    ON ceo_briefings (rating DESC)
    WHERE rating IS NOT NULL;

ALTER TABLE ceo_briefings ENABLE ROW LEVEL SECURITY;

CREATE POLICY ceo_briefings_shop_isolation ON ceo_briefings
    FOR ALL TO authenticated
    USING (shop_domain = (select current_setting('app.current_shop', true)))
    WITH CHECK (shop_domain = (select current_setting('app.current_shop', true)));

CREATE POLICY ceo_briefings_ceo_only ON ceo_briefings
    AS RESTRICTIVE
    FOR ALL TO authenticated
    USING ((select auth.jwt() -> 'app_metadata' -> 'shop_roles') ->> shop_domain = 'ceo')
    WITH CHECK ((select auth.jwt() -> 'app_metadata' -> 'shop_roles') ->> shop_domain = 'ceo');

COMMENT ON TABLE ceo_briefings IS
    'Generated executive briefings per shop with human ratings. Shop-based RLS plus CEO of the row''s shop only (JWT app_metadata.shop_roles ->> shop_domain = ceo). Retention: 365 days on created_at (retention.yaml).';
COMMENT ON COLUMN ceo_briefings.period_start IS 'First day the briefing covers.';
COMMENT ON COLUMN ceo_briefings.period_end IS 'Last day the briefing covers.';
COMMENT ON COLUMN ceo_briefings.key_metrics IS 'Headline metrics, a JSON object.';
COMMENT ON COLUMN ceo_briefings.insights IS 'Generated insights, a JSON array.';
COMMENT ON COLUMN ceo_briefings.generation_tokens IS 'Tokens used to generate the briefing.';
COMMENT ON COLUMN ceo_briefings.rating IS 'Human rating 1-5; NULL until rated.';
COMMENT ON COLUMN ceo_briefings.created_by IS 'auth user (uuid) who requested the briefing; NULL when scheduled.';

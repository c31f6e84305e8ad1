-- growth module, file 002: seo_rankings
--
-- Keyword position tracking: one row per (shop, keyword, engine, location)
-- per tracking run. Shop-based RLS (see 001). The highest-volume table of the
-- module: the first candidate for partitioning by tracked_at (see 001).

CREATE TABLE seo_rankings (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    shop_domain      text        NOT NULL
                                 CONSTRAINT seo_rankings_shop_domain_format
                                 CHECK (shop_domain ~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$'),
    keyword          text        NOT NULL
                                 CONSTRAINT seo_rankings_keyword_check CHECK (keyword <> ''),
    -- 1-based position in the results; NULL = not ranked in the tracked depth.
    position         integer     CONSTRAINT seo_rankings_position_check CHECK (position >= 1),
    search_volume    integer     CONSTRAINT seo_rankings_search_volume_check CHECK (search_volume >= 0),
    search_engine    text        NOT NULL DEFAULT 'google'
                                 CONSTRAINT seo_rankings_search_engine_check
                                 CHECK (search_engine IN ('google', 'bing')),
    -- Where the search was run, e.g. 'us' or 'us-ca'; '' would be ambiguous
    -- with "everywhere", so that is spelled 'global'.
    location         text        NOT NULL DEFAULT 'global'
                                 CONSTRAINT seo_rankings_location_check CHECK (location <> ''),
    featured_snippet boolean     NOT NULL DEFAULT false,
    tracked_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- One measurement per keyword, engine and location per run: a retried
    -- tracking run is a no-op with ON CONFLICT DO NOTHING.
    CONSTRAINT seo_rankings_measurement_key
        UNIQUE (shop_domain, keyword, search_engine, location, tracked_at)
);

-- Seed: keyword history. Also the index of the policy column.
CREATE INDEX idx_seo_rankings_shop_keyword_tracked
    ON seo_rankings (shop_domain, keyword, tracked_at DESC);
-- Seed: (position) WHERE position <= 100, top-100 rankings only; shop_domain
-- leads because every tenant query is filtered by it (see 001).
CREATE INDEX idx_seo_rankings_shop_position
    ON seo_rankings (shop_domain, position)
    WHERE position <= 100;

ALTER TABLE seo_rankings ENABLE ROW LEVEL SECURITY;

CREATE POLICY seo_rankings_shop_isolation ON seo_rankings
    FOR ALL TO authenticated
    USING (shop_domain = (select current_setting('app.current_shop', true)))
    WITH CHECK (shop_domain = (select current_setting('app.current_shop', true)));

COMMENT ON TABLE seo_rankings IS
    'Keyword positions per shop over time. Shop-based RLS (app.current_shop). Retention: 365 days on tracked_at (retention.yaml).';
COMMENT ON COLUMN seo_rankings.position IS '1-based search result position; NULL when not ranked within the tracked depth.';
COMMENT ON COLUMN seo_rankings.location IS 'Search location code (e.g. us, us-ca) or global.';
COMMENT ON COLUMN seo_rankings.featured_snippet IS 'The shop holds the featured snippet for the keyword.';
COMMENT ON COLUMN seo_rankings.tracked_at IS 'When the position was measured; retention counts from here.';

-- growth module, file 004: ad_performance
--
-- Daily metrics of a campaign: one row per campaign per day, written by the
-- Google Ads sync. RLS "via the parent campaign's shop_domain" (seed): the
-- row carries shop_domain and the foreign key (campaign_id, shop_domain)
-- makes it equal to the campaign's (see 001), so the policy is the plain
-- shop-based one. Partitioning candidate by date (see 001).
--
-- The calculated columns are written by the sync together with the counts:
--   ctr = clicks / impressions, cpc = cost / clicks, cpa = cost / conversions,
--   roas = revenue / cost; NULL when the divisor is 0.

CREATE TABLE ad_performance (
    id          uuid          PRIMARY KEY DEFAULT gen_random_uuid(),
    shop_domain text          NOT NULL,
    -- A metric row has no meaning without its campaign.
    campaign_id uuid          NOT NULL,
    date        date          NOT NULL,
    impressions bigint        NOT NULL DEFAULT 0
                              CONSTRAINT ad_performance_impressions_check CHECK (impressions >= 0),
    clicks      bigint        NOT NULL DEFAULT 0
                              CONSTRAINT ad_performance_clicks_check CHECK (clicks >= 0),
    -- Google Ads reports fractional conversions (data-driven attribution).
    conversions numeric(12,2) NOT NULL DEFAULT 0
                              CONSTRAINT ad_performance_conversions_check CHECK (conversions >= 0),
    cost        numeric(12,2) NOT NULL DEFAULT 0
                              CONSTRAINT ad_performance_cost_check CHECK (cost >= 0),
    revenue     numeric(12,2) NOT NULL DEFAULT 0
                              CONSTRAINT ad_performance_revenue_check CHECK (revenue >= 0),
    roas        numeric(12,4) CONSTRAINT ad_performance_roas_check CHECK (roas >= 0),
    ctr         numeric(7,6)  CONSTRAINT ad_performance_ctr_check CHECK (ctr BETWEEN 0 AND 1),
    cpc         numeric(12,2) CONSTRAINT ad_performance_cpc_check CHECK (cpc >= 0),
    cpa         numeric(12,2) CONSTRAINT ad_performance_cpa_check CHECK (cpa >= 0),
    created_at  timestamptz   NOT NULL DEFAULT now(),
    updated_at  timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT ad_performance_clicks_impressions_check CHECK (clicks <= impressions),
    -- pgstack: accept unindexed_foreign_keys: idx_ad_performance_campaign_date leads with
    --   campaign_id, a uuid unique to one campaign, so the lookups by (campaign_id, shop_domain)
    --   use it; a second index would only cost writes
    CONSTRAINT ad_performance_campaign_id_fkey
        FOREIGN KEY (campaign_id, shop_domain) REFERENCES ad_campaigns (id, shop_domain)
        ON DELETE CASCADE
);

-- Seed: campaign history, (campaign_id, date DESC). Made UNIQUE: one row per
-- campaign and day, so the daily sync upserts with
-- ON CONFLICT (campaign_id, date). Also serves the foreign key (leading
-- column) and the ON DELETE CASCADE from ad_campaigns.
CREATE UNIQUE INDEX idx_ad_performance_campaign_date
    ON ad_performance (campaign_id, date DESC);
-- Seed: (roas DESC), top performing campaigns; per shop (see 001). Also the
-- index of the policy column.
CREATE INDEX idx_ad_performance_shop_roas
    ON ad_performance (shop_domain, roas DESC NULLS LAST);

ALTER TABLE ad_performance ENABLE ROW LEVEL SECURITY;

CREATE POLICY ad_performance_shop_isolation ON ad_performance
    FOR ALL TO authenticated
    USING (shop_domain = (select current_setting('app.current_shop', true)))
    WITH CHECK (shop_domain = (select current_setting('app.current_shop', true)));

COMMENT ON TABLE ad_performance IS
    'Daily metrics per ad campaign (one row per campaign and day). Shop-based RLS; shop_domain always equals the campaign''s (composite foreign key). Retention: 730 days on date (retention.yaml).';
COMMENT ON COLUMN ad_performance.shop_domain IS 'Copy of the campaign''s shop_domain, enforced by the foreign key; the RLS tenant key.';
COMMENT ON COLUMN ad_performance.date IS 'Day the metrics are for (account time zone); retention counts from here.';
COMMENT ON COLUMN ad_performance.roas IS 'Return on ad spend, revenue / cost; NULL when cost is 0.';
COMMENT ON COLUMN ad_performance.ctr IS 'Click-through rate, clicks / impressions (0-1); NULL when there were no impressions.';
COMMENT ON COLUMN ad_performance.cpc IS 'Cost per click, cost / clicks; NULL when there were no clicks.';
COMMENT ON COLUMN ad_performance.cpa IS 'Cost per acquisition, cost / conversions; NULL when there were no conversions.';

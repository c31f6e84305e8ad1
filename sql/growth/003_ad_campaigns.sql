-- growth module, file 003: ad_campaigns
--
-- Google Ads campaign definitions per shop. Shop-based RLS (see 001).
-- Parent of ad_performance (1:many).
--
-- Choices: no platform column (the seed says Google Ads campaigns; a second
-- platform adds one with a CHECK, as tracking's conversion_queue did).
-- platform_campaign_id is NULL while the campaign is a draft not yet created
-- in Google Ads.

CREATE TABLE ad_campaigns (
    id                   uuid          PRIMARY KEY DEFAULT gen_random_uuid(),
    shop_domain          text          NOT NULL
                                       CONSTRAINT ad_campaigns_shop_domain_format
                                       CHECK (shop_domain ~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$'),
    platform_campaign_id text,
    campaign_name        text          NOT NULL
                                       CONSTRAINT ad_campaigns_campaign_name_check CHECK (campaign_name <> ''),
    daily_budget         numeric(12,2) CONSTRAINT ad_campaigns_daily_budget_check CHECK (daily_budget >= 0),
    total_budget         numeric(12,2) CONSTRAINT ad_campaigns_total_budget_check CHECK (total_budget >= 0),
    -- ISO 4217, like tracking's conversions.currency_code.
    currency_code        text          NOT NULL DEFAULT 'USD'
                                       CONSTRAINT ad_campaigns_currency_code_format
                                       CHECK (currency_code ~ '^[A-Z]{3}$'),
    -- Google Ads bidding strategies in use by the app; NULL = not set yet.
    bid_strategy         text          CONSTRAINT ad_campaigns_bid_strategy_check
                                       CHECK (bid_strategy IN ('manual_cpc', 'maximize_clicks',
                                              'maximize_conversions', 'maximize_conversion_value',
                                              'target_cpa', 'target_roas', 'target_impression_share')),
    -- draft = only here; enabled/paused/removed mirror Google Ads' status.
    campaign_status      text          NOT NULL DEFAULT 'draft'
                                       CONSTRAINT ad_campaigns_campaign_status_check
                                       CHECK (campaign_status IN ('draft', 'enabled', 'paused', 'removed')),
    start_date           date,
    end_date             date,
    created_by           uuid,
    created_at           timestamptz   NOT NULL DEFAULT now(),
    updated_at           timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT ad_campaigns_dates_check CHECK (end_date >= start_date),
    -- An external campaign belongs to one shop (drafts, NULL, are not
    -- compared). Leads with shop_domain: the policy column's index.
    CONSTRAINT ad_campaigns_shop_domain_platform_campaign_id_key
        UNIQUE (shop_domain, platform_campaign_id),
    -- Target of ad_performance's (campaign_id, shop_domain) foreign key, which
    -- keeps each metric row in its campaign's shop (see 001).
    CONSTRAINT ad_campaigns_id_shop_domain_key UNIQUE (id, shop_domain)
);

-- Seed: active campaigns of a shop.
CREATE INDEX idx_ad_campaigns_shop_status ON ad_campaigns (shop_domain, campaign_status);
-- Seed: external id lookup. Kept on its own: the Google Ads sync resolves
-- ids it receives without knowing the shop.
CREATE INDEX idx_ad_campaigns_platform_campaign_id
    ON ad_campaigns (platform_campaign_id)
    WHERE platform_campaign_id IS NOT NULL;

ALTER TABLE ad_campaigns ENABLE ROW LEVEL SECURITY;

CREATE POLICY ad_campaigns_shop_isolation ON ad_campaigns
    FOR ALL TO authenticated
    USING (shop_domain = (select current_setting('app.current_shop', true)))
    WITH CHECK (shop_domain = (select current_setting('app.current_shop', true)));

COMMENT ON TABLE ad_campaigns IS
    'Google Ads campaign definitions per shop. Shop-based RLS (app.current_shop). Retention: none set by the seed (kept).';
COMMENT ON COLUMN ad_campaigns.platform_campaign_id IS 'Campaign id in Google Ads; NULL while a draft.';
COMMENT ON COLUMN ad_campaigns.daily_budget IS 'Daily budget in currency_code, 2 decimals.';
COMMENT ON COLUMN ad_campaigns.total_budget IS 'Total budget in currency_code, 2 decimals; NULL = no cap.';
COMMENT ON COLUMN ad_campaigns.campaign_status IS 'draft (not in Google Ads yet), enabled, paused or removed.';
COMMENT ON COLUMN ad_campaigns.created_by IS 'auth user (uuid) who created the campaign; NULL when created by a sync job.';

-- growth module, file 006: social_analytics
--
-- Performance snapshots of a social post over time, written by the platform
-- sync. RLS "via the parent post's shop_domain" (seed): shop_domain and
-- platform are copies of the post's, made equal by the foreign key
-- (social_post_id, shop_domain, platform) (see 001 and 005), so the policy is
-- the plain shop-based one. Partitioning candidate by measured_at (see 001).
--
-- engagement_rate = (likes + comments + shares) / reach, written by the sync;
-- NULL when reach is 0. It can exceed 1 (one person engaging several times).

CREATE TABLE social_analytics (
    id              uuid          PRIMARY KEY DEFAULT gen_random_uuid(),
    shop_domain     text          NOT NULL,
    social_post_id  uuid          NOT NULL,
    platform        text          NOT NULL,
    measured_at     timestamptz   NOT NULL,
    views           bigint        NOT NULL DEFAULT 0
                                  CONSTRAINT social_analytics_views_check CHECK (views >= 0),
    likes           bigint        NOT NULL DEFAULT 0
                                  CONSTRAINT social_analytics_likes_check CHECK (likes >= 0),
    comments        bigint        NOT NULL DEFAULT 0
                                  CONSTRAINT social_analytics_comments_check CHECK (comments >= 0),
    shares          bigint        NOT NULL DEFAULT 0
                                  CONSTRAINT social_analytics_shares_check CHECK (shares >= 0),
    reach           bigint        NOT NULL DEFAULT 0
                                  CONSTRAINT social_analytics_reach_check CHECK (reach >= 0),
    impressions     bigint        NOT NULL DEFAULT 0
                                  CONSTRAINT social_analytics_impressions_check CHECK (impressions >= 0),
    engagement_rate numeric(10,6) CONSTRAINT social_analytics_engagement_rate_check
                                  CHECK (engagement_rate >= 0),
    created_at      timestamptz   NOT NULL DEFAULT now(),
    -- pgstack: accept unindexed_foreign_keys: idx_social_analytics_post_measured leads with
    --   social_post_id, a uuid unique to one post, so the lookups by (social_post_id, shop_domain,
    --   platform) use it; a second index would only cost writes
    CONSTRAINT social_analytics_social_post_id_fkey
        FOREIGN KEY (social_post_id, shop_domain, platform)
        REFERENCES social_posts (id, shop_domain, platform)
        ON DELETE CASCADE
);

-- Seed: post metrics over time, (social_post_id, measured_at DESC). Made
-- UNIQUE: one snapshot per post and measurement time, so a retried sync is a
-- no-op with ON CONFLICT DO NOTHING. Also serves the foreign key (leading
-- column) and the ON DELETE CASCADE from social_posts.
CREATE UNIQUE INDEX idx_social_analytics_post_measured
    ON social_analytics (social_post_id, measured_at DESC);
-- Seed: (engagement_rate DESC), top posts; per shop (see 001). Also the index
-- of the policy column.
CREATE INDEX idx_social_analytics_shop_engagement
    ON social_analytics (shop_domain, engagement_rate DESC NULLS LAST);

ALTER TABLE social_analytics ENABLE ROW LEVEL SECURITY;

CREATE POLICY social_analytics_shop_isolation ON social_analytics
    FOR ALL TO authenticated
    USING (shop_domain = (select current_setting('app.current_shop', true)))
    WITH CHECK (shop_domain = (select current_setting('app.current_shop', true)));

COMMENT ON TABLE social_analytics IS
    'Performance snapshots of social posts over time. Shop-based RLS; shop_domain and platform always equal the post''s (composite foreign key). Retention: 365 days on measured_at (retention.yaml).';
COMMENT ON COLUMN social_analytics.shop_domain IS 'Copy of the post''s shop_domain, enforced by the foreign key; the RLS tenant key.';
COMMENT ON COLUMN social_analytics.platform IS 'Copy of the post''s platform, enforced by the foreign key.';
COMMENT ON COLUMN social_analytics.measured_at IS 'When the snapshot was taken; retention counts from here.';
COMMENT ON COLUMN social_analytics.engagement_rate IS '(likes + comments + shares) / reach; NULL when reach is 0.';

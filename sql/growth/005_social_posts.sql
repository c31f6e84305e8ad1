-- growth module, file 005: social_posts
--
-- NOT defined by seed 002: its ERD says SocialPost -> SocialAnalytics (1:many)
-- via social_post_id and its migration plan says social_analytics "requires
-- social_posts", but no section describes the table. Designed here the way
-- the seed's other shop tables are:
--   * shop_domain + shop-based RLS, like ad_campaigns, the other parent of a
--     metrics table; created_by / created_at / updated_at audit columns;
--   * the platform and the post's id on it (platform_post_id, NULL until
--     published), mirroring ad_campaigns.platform_campaign_id;
--   * a small status lifecycle (draft -> scheduled -> published, or failed)
--     as text + CHECK.
--   * UNIQUE (id, shop_domain, platform) is the target of social_analytics'
--     foreign key, which keeps each snapshot in its post's shop and on its
--     post's platform (social_analytics.platform is in the seed too).
-- No retention is given for posts (the seed's 365 days is for their
-- analytics).

CREATE TABLE social_posts (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    shop_domain      text        NOT NULL
                                 CONSTRAINT social_posts_shop_domain_format
                                 CHECK (shop_domain ~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$'),
    platform         text        NOT NULL
                                 CONSTRAINT social_posts_platform_check
                                 CHECK (platform IN ('instagram', 'facebook', 'tiktok', 'x',
                                                     'linkedin', 'pinterest', 'youtube')),
    platform_post_id text,
    status           text        NOT NULL DEFAULT 'draft'
                                 CONSTRAINT social_posts_status_check
                                 CHECK (status IN ('draft', 'scheduled', 'published', 'failed')),
    content          text        NOT NULL DEFAULT '',
    media_urls       text[]      NOT NULL DEFAULT '{}',
    post_url         text,
    scheduled_at     timestamptz,
    published_at     timestamptz,
    created_by       uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT social_posts_published_check
        CHECK ((status = 'published') = (published_at IS NOT NULL)),
    -- A platform's post belongs to one shop (unpublished, NULL, not compared).
    CONSTRAINT social_posts_shop_domain_platform_post_id_key
        UNIQUE (shop_domain, platform, platform_post_id),
    CONSTRAINT social_posts_id_shop_domain_platform_key UNIQUE (id, shop_domain, platform)
);

-- A shop's posts, newest first (the content calendar). Also the index of the
-- policy column.
CREATE INDEX idx_social_posts_shop_published ON social_posts (shop_domain, published_at DESC);

ALTER TABLE social_posts ENABLE ROW LEVEL SECURITY;

CREATE POLICY social_posts_shop_isolation ON social_posts
    FOR ALL TO authenticated
    USING (shop_domain = (select current_setting('app.current_shop', true)))
    WITH CHECK (shop_domain = (select current_setting('app.current_shop', true)));

COMMENT ON TABLE social_posts IS
    'Social media posts of a shop (draft to published); parent of social_analytics. Not defined by seed 002, designed to its conventions. Shop-based RLS (app.current_shop). Retention: none set by the seed (kept).';
COMMENT ON COLUMN social_posts.platform_post_id IS 'Id of the post on the platform; NULL until published.';
COMMENT ON COLUMN social_posts.status IS 'draft, scheduled, published (published_at set) or failed.';
COMMENT ON COLUMN social_posts.created_by IS 'auth user (uuid) who wrote the post; NULL when imported by a sync job.';

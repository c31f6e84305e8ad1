-- growth module, file 001: seo_audits
--
-- Declared state, not a migration: every statement describes an object as it
-- should exist. Names are unqualified; the schema comes from stack config
-- (growth for this module).
--
-- Source: seed 002 (phases 7-13 schema draft): eleven tables, plus
-- social_posts, which the seed references (SocialPost -> SocialAnalytics) but
-- never defines (005).
--
-- Module-wide choices (where the seed is silent):
--   * Status/type fields are text + CHECK, not enum types, as in the tracking
--     module: adding a value is an edit of one CHECK, not ALTER TYPE.
--   * Primary keys are uuid DEFAULT gen_random_uuid(); named constraints
--     <table>_<column>_<what>; index names idx_<table>_<what>.
--   * Tenancy. Every shop-scoped table has shop_domain text NOT NULL. Root
--     tables CHECK it is a lowercase host name: the policy compares it with
--     the app.current_shop setting byte for byte, so 'Shop.com' would be a row
--     nobody sees, and an empty setting ('' once a SET LOCAL has ended) can
--     never match a row.
--   * Child tables (ad_performance, social_analytics, experiment_results) are
--     "RLS via parent's shop_domain" in the seed. They carry a copy of
--     shop_domain, and the foreign key includes it: (parent_id, shop_domain)
--     REFERENCES parent (id, shop_domain). The database then guarantees the
--     copy equals the parent's value, so the child's policy is the same
--     one-column test as the parent's (no per-row EXISTS join, indexable) and
--     a child row can never hang under another shop's parent. The cost is one
--     extra UNIQUE (id, shop_domain) index on each parent.
--   * RLS: one FOR ALL policy per table, TO authenticated, with the same
--     expression in USING and WITH CHECK: a tenant reads, updates and deletes
--     only its rows and cannot insert a row for, or move a row to, another
--     tenant. Which commands a role may run at all is decided by the grants
--     the program manages, not by the policies. anon has no policy: it sees
--     and writes nothing. service_role (BYPASSRLS) is used by the sync and
--     generation jobs.
--       shop-based: shop_domain = (select current_setting('app.current_shop', true))
--       user-based: (select auth.uid())::text = user_id
--     Both are wrapped in a sub-select so they are evaluated once per query
--     (an InitPlan), not per row. current_setting(..., true) returns NULL when
--     the setting is missing: the comparison is then NULL, so no rows and no
--     error. The setting is trusted because only the application server sets
--     it (SET LOCAL per request); a client with a direct SQL session as
--     authenticated could set it too, so such sessions must not be handed out.
--   * Audit trail (seed principle 3): created_at on every table; created_by
--     (uuid of the auth user, no FK: auth.users exists only on Supabase, no
--     default: NULL when a system job wrote the row) on the tables people
--     author: ad_campaigns, social_posts, experiments, knowledge_base,
--     ceo_briefings. updated_at has no trigger (as in tracking): the writer
--     sets it.
--   * Ratios the seed calls "calculated" (ctr, cpc, cpa, roas,
--     engagement_rate, conversion_rate) are plain columns written by the job
--     that syncs the counts. Generated columns would be better, but the SQL
--     model does not support GENERATED ... STORED yet.
--   * Indexes the seed lists as a single ranking column ((roas DESC),
--     (engagement_rate DESC), (conversion_rate DESC), (position)) lead with
--     shop_domain here: RLS adds shop_domain = <shop> to every tenant query,
--     and the seed's own performance notes ask for indexes on the RLS columns.
--     Rankings are DESC NULLS LAST, so "top N" queries must say NULLS LAST.
--   * Retention (seed "Data Retention"): stated in each table's COMMENT and
--     declared in retention.yaml next to these files (table -> timestamp
--     column and how long to keep), which components/model/retention.py
--     validates against the parsed module. The deletion job is not built yet.
--   * Partitioning (seed principle 5): not yet. The candidates are the daily
--     time series: seo_rankings (shops x keywords x days, the largest),
--     ad_performance (campaigns x days) and social_analytics (posts x
--     snapshots), by month on tracked_at / date / measured_at, which would
--     turn retention into dropping old partitions. Not now because the SQL
--     model does not manage partitioned tables yet and, at the seed's estimate
--     (~8 GB/year for 1000 shops), b-tree indexes serve these tables well.
--     Partitioning later means every unique index and the primary key must
--     include the partition key: the unique indexes already do (they include
--     the time column), the uuid primary keys would become (id, <time column>).

-- One row per daily crawl of a shop's storefront.
CREATE TABLE seo_audits (
    id                   uuid          PRIMARY KEY DEFAULT gen_random_uuid(),
    shop_domain          text          NOT NULL
                                       CONSTRAINT seo_audits_shop_domain_format
                                       CHECK (shop_domain ~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$'),
    crawled_at           timestamptz   NOT NULL,
    pages_crawled        integer       NOT NULL DEFAULT 0
                                       CONSTRAINT seo_audits_pages_crawled_check CHECK (pages_crawled >= 0),
    -- Core Web Vitals, averaged over the crawled pages. NULL when not measured.
    avg_lcp              numeric(10,2) CONSTRAINT seo_audits_avg_lcp_check CHECK (avg_lcp >= 0),
    avg_fid              numeric(10,2) CONSTRAINT seo_audits_avg_fid_check CHECK (avg_fid >= 0),
    avg_cls              numeric(8,4)  CONSTRAINT seo_audits_avg_cls_check CHECK (avg_cls >= 0),
    technical_score      numeric(5,2)  CONSTRAINT seo_audits_technical_score_check
                                       CHECK (technical_score BETWEEN 0 AND 100),
    content_score        numeric(5,2)  CONSTRAINT seo_audits_content_score_check
                                       CHECK (content_score BETWEEN 0 AND 100),
    performance_score    numeric(5,2)  CONSTRAINT seo_audits_performance_score_check
                                       CHECK (performance_score BETWEEN 0 AND 100),
    critical_issues      integer       NOT NULL DEFAULT 0
                                       CONSTRAINT seo_audits_critical_issues_check CHECK (critical_issues >= 0),
    high_priority_issues integer       NOT NULL DEFAULT 0
                                       CONSTRAINT seo_audits_high_priority_issues_check CHECK (high_priority_issues >= 0),
    created_at           timestamptz   NOT NULL DEFAULT now()
);

-- Seed: recent audits per shop. Also the index of the policy column.
CREATE INDEX idx_seo_audits_shop_crawled ON seo_audits (shop_domain, crawled_at DESC);

ALTER TABLE seo_audits ENABLE ROW LEVEL SECURITY;

CREATE POLICY seo_audits_shop_isolation ON seo_audits
    FOR ALL TO authenticated
    USING (shop_domain = (select current_setting('app.current_shop', true)))
    WITH CHECK (shop_domain = (select current_setting('app.current_shop', true)));

COMMENT ON TABLE seo_audits IS
    'Daily SEO crawl results per shop: Core Web Vitals, scores, issue counts. Shop-based RLS (app.current_shop). Retention: none set by the seed (kept).';
COMMENT ON COLUMN seo_audits.shop_domain IS 'Shop the audit belongs to (lowercase host name); the RLS tenant key.';
COMMENT ON COLUMN seo_audits.avg_lcp IS 'Average Largest Contentful Paint, milliseconds.';
COMMENT ON COLUMN seo_audits.avg_fid IS 'Average First Input Delay, milliseconds.';
COMMENT ON COLUMN seo_audits.avg_cls IS 'Average Cumulative Layout Shift (unitless).';
COMMENT ON COLUMN seo_audits.technical_score IS 'Technical SEO score, 0-100.';
COMMENT ON COLUMN seo_audits.content_score IS 'Content SEO score, 0-100.';
COMMENT ON COLUMN seo_audits.performance_score IS 'Performance score, 0-100.';

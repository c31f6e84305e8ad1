-- growth module, file 009: experiments
--
-- A/B test definitions per shop. Shop-based RLS (see 001). Parent of
-- experiment_results (1:many).
--
-- The seed's (experiment_key) "unique lookup" index is not created: the key is
-- unique per shop, not globally, so the lookup is (shop_domain,
-- experiment_key), which the seed's UNIQUE (shop_domain, experiment_key)
-- already indexes (and RLS adds shop_domain to every tenant query anyway).

CREATE TABLE experiments (
    id               uuid         PRIMARY KEY DEFAULT gen_random_uuid(),
    shop_domain      text         NOT NULL
                                  CONSTRAINT experiments_shop_domain_format
                                  CHECK (shop_domain ~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$'),
    -- Stable identifier used by the storefront code to assign variants.
    experiment_key   text         NOT NULL
                                  CONSTRAINT experiments_experiment_key_format
                                  CHECK (experiment_key ~ '^[a-z0-9][a-z0-9_-]*$'),
    experiment_name  text         NOT NULL,
    hypothesis       text,
    -- Variant configuration: a JSON array of {key, weight, ...} objects.
    variants         jsonb        NOT NULL DEFAULT '[]'::jsonb
                                  CONSTRAINT experiments_variants_array CHECK (jsonb_typeof(variants) = 'array'),
    status           text         NOT NULL DEFAULT 'draft'
                                  CONSTRAINT experiments_status_check
                                  CHECK (status IN ('draft', 'running', 'paused', 'completed', 'archived')),
    started_at       timestamptz,
    ended_at         timestamptz,
    primary_metric   text         NOT NULL DEFAULT 'conversion_rate',
    -- Key of the winning variant once decided; NULL while undecided.
    winning_variant  text,
    -- Statistical confidence of the decision, 0-1 (e.g. 0.95).
    confidence_level numeric(5,4) CONSTRAINT experiments_confidence_level_check
                                  CHECK (confidence_level BETWEEN 0 AND 1),
    created_by       uuid,
    created_at       timestamptz  NOT NULL DEFAULT now(),
    updated_at       timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT experiments_dates_check CHECK (ended_at >= started_at),
    -- Seed unique. Leads with shop_domain: the index of the policy column.
    CONSTRAINT experiments_shop_domain_experiment_key_key UNIQUE (shop_domain, experiment_key),
    -- Target of experiment_results' (experiment_id, shop_domain) foreign key
    -- (see 001).
    CONSTRAINT experiments_id_shop_domain_key UNIQUE (id, shop_domain)
);

-- Seed: active experiments of a shop.
CREATE INDEX idx_experiments_shop_status ON experiments (shop_domain, status);

ALTER TABLE experiments ENABLE ROW LEVEL SECURITY;

CREATE POLICY experiments_shop_isolation ON experiments
    FOR ALL TO authenticated
    USING (shop_domain = (select current_setting('app.current_shop', true)))
    WITH CHECK (shop_domain = (select current_setting('app.current_shop', true)));

COMMENT ON TABLE experiments IS
    'A/B test definitions per shop. Shop-based RLS (app.current_shop). Retention: none set by the seed (kept; their results are kept indefinitely).';
COMMENT ON COLUMN experiments.experiment_key IS 'Stable key of the experiment, unique within the shop (lowercase, digits, _ and -).';
COMMENT ON COLUMN experiments.variants IS 'Variant configuration, a JSON array.';
COMMENT ON COLUMN experiments.winning_variant IS 'Key of the winning variant; NULL while undecided.';
COMMENT ON COLUMN experiments.confidence_level IS 'Confidence of the decision, 0-1.';
COMMENT ON COLUMN experiments.created_by IS 'auth user (uuid) who created the experiment.';

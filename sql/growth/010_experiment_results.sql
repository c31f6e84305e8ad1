-- growth module, file 010: experiment_results
--
-- Performance of each variant of an experiment: one row per (experiment,
-- variant), recomputed in place by the statistics job (computed_at says when).
-- RLS "via the parent experiment's shop_domain" (seed): the row carries
-- shop_domain and the foreign key (experiment_id, shop_domain) makes it equal
-- to the experiment's (see 001), so the policy is the plain shop-based one.

CREATE TABLE experiment_results (
    id                        uuid          PRIMARY KEY DEFAULT gen_random_uuid(),
    shop_domain               text          NOT NULL,
    experiment_id             uuid          NOT NULL,
    variant_key               text          NOT NULL
                                            CONSTRAINT experiment_results_variant_key_check CHECK (variant_key <> ''),
    participants              integer       NOT NULL DEFAULT 0
                                            CONSTRAINT experiment_results_participants_check CHECK (participants >= 0),
    conversions               integer       NOT NULL DEFAULT 0
                                            CONSTRAINT experiment_results_conversions_check CHECK (conversions >= 0),
    -- conversions / participants, 0-1; NULL with no participants.
    conversion_rate           numeric(7,6)  CONSTRAINT experiment_results_conversion_rate_check
                                            CHECK (conversion_rate BETWEEN 0 AND 1),
    avg_order_value           numeric(12,2) CONSTRAINT experiment_results_avg_order_value_check
                                            CHECK (avg_order_value >= 0),
    revenue_per_user          numeric(12,4) CONSTRAINT experiment_results_revenue_per_user_check
                                            CHECK (revenue_per_user >= 0),
    p_value                   numeric(7,6)  CONSTRAINT experiment_results_p_value_check
                                            CHECK (p_value BETWEEN 0 AND 1),
    -- Confidence interval of the conversion rate (or of the lift); bounds may
    -- be negative for a lift.
    confidence_interval_lower numeric(10,6),
    confidence_interval_upper numeric(10,6),
    computed_at               timestamptz   NOT NULL DEFAULT now(),
    created_at                timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT experiment_results_conversions_participants_check CHECK (conversions <= participants),
    CONSTRAINT experiment_results_confidence_interval_check
        CHECK (confidence_interval_lower <= confidence_interval_upper),
    -- Seed: variant lookup, (experiment_id, variant_key). Made UNIQUE: one row
    -- per variant, upserted with ON CONFLICT (experiment_id, variant_key).
    -- Also serves the foreign key (leading column) and the ON DELETE CASCADE.
    CONSTRAINT experiment_results_experiment_id_variant_key_key UNIQUE (experiment_id, variant_key),
    -- pgstack: accept unindexed_foreign_keys: the UNIQUE (experiment_id, variant_key) index leads
    --   with experiment_id, a uuid unique to one experiment, so the lookups by (experiment_id,
    --   shop_domain) use it; a second index would only cost writes
    CONSTRAINT experiment_results_experiment_id_fkey
        FOREIGN KEY (experiment_id, shop_domain) REFERENCES experiments (id, shop_domain)
        ON DELETE CASCADE
);

-- Seed: (conversion_rate DESC), top variants; per shop (see 001). Also the
-- index of the policy column.
CREATE INDEX idx_experiment_results_shop_conversion_rate
    ON experiment_results (shop_domain, conversion_rate DESC NULLS LAST);

ALTER TABLE experiment_results ENABLE ROW LEVEL SECURITY;

CREATE POLICY experiment_results_shop_isolation ON experiment_results
    FOR ALL TO authenticated
    USING (shop_domain = (select current_setting('app.current_shop', true)))
    WITH CHECK (shop_domain = (select current_setting('app.current_shop', true)));

COMMENT ON TABLE experiment_results IS
    'Per-variant results of an experiment (one row per variant). Shop-based RLS; shop_domain always equals the experiment''s (composite foreign key). Retention: indefinite (retention.yaml).';
COMMENT ON COLUMN experiment_results.shop_domain IS 'Copy of the experiment''s shop_domain, enforced by the foreign key; the RLS tenant key.';
COMMENT ON COLUMN experiment_results.variant_key IS 'Key of the variant, as in experiments.variants.';
COMMENT ON COLUMN experiment_results.conversion_rate IS 'conversions / participants (0-1); NULL with no participants.';
COMMENT ON COLUMN experiment_results.p_value IS 'p-value of the variant against control.';
COMMENT ON COLUMN experiment_results.computed_at IS 'When the statistics job last recomputed the row.';

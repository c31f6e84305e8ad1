-- crm module, file 004: growth_brain
--
-- AI learning snapshots and growth analytics (seed 003, table 5). Columns,
-- CHECK, indexes (including the GIN index for jsonb queries) and comments as
-- the seed writes them. event_type has no CHECK in the seed's SQL (its seven
-- values are listed in the column comment and in prose), so none is added.
--
-- RLS: a client reads and writes only its own snapshots (see 001), one policy
-- per command; INSERT and UPDATE check the new row.

CREATE TABLE growth_brain (
    -- Primary identifier
    id                uuid         CONSTRAINT growth_brain_pkey PRIMARY KEY DEFAULT gen_random_uuid(),

    -- Relationship
    client_id         uuid         CONSTRAINT growth_brain_client_id_fkey
                                   REFERENCES clients (client_id) ON DELETE CASCADE,

    -- Event classification
    event_type        text         NOT NULL,

    -- AI learning data (flexible JSONB structure)
    learning_snapshot jsonb,

    -- Human-readable insight
    insight_text      text,

    -- Confidence in this insight/prediction
    confidence        numeric(3,2) CONSTRAINT growth_brain_confidence_check
                                   CHECK (confidence >= 0 AND confidence <= 1),

    -- Timestamp
    created_at        timestamptz  DEFAULT now()
);

CREATE INDEX idx_growth_brain_client_id ON growth_brain (client_id);
CREATE INDEX idx_growth_brain_event_type ON growth_brain (event_type);
CREATE INDEX idx_growth_brain_created_at ON growth_brain (created_at DESC);
CREATE INDEX idx_growth_brain_confidence ON growth_brain (confidence DESC);
-- GIN index for JSONB queries: containment and key tests (@>, ?, ?|, ?&) on
-- learning_snapshot. The seed's default operator class (jsonb_ops) is kept.
CREATE INDEX idx_growth_brain_snapshot ON growth_brain USING gin (learning_snapshot);

ALTER TABLE growth_brain ENABLE ROW LEVEL SECURITY;

-- Name kept from the seed's recommended policy.
CREATE POLICY client_brain_isolation ON growth_brain
    FOR SELECT
    TO authenticated
    USING (client_id = (select nullif(current_setting('app.current_client_id', true), '')::uuid));

CREATE POLICY growth_brain_insert_own ON growth_brain
    FOR INSERT
    TO authenticated
    WITH CHECK (client_id = (select nullif(current_setting('app.current_client_id', true), '')::uuid));

CREATE POLICY growth_brain_update_own ON growth_brain
    FOR UPDATE
    TO authenticated
    USING (client_id = (select nullif(current_setting('app.current_client_id', true), '')::uuid))
    WITH CHECK (client_id = (select nullif(current_setting('app.current_client_id', true), '')::uuid));

CREATE POLICY growth_brain_delete_own ON growth_brain
    FOR DELETE
    TO authenticated
    USING (client_id = (select nullif(current_setting('app.current_client_id', true), '')::uuid));

COMMENT ON TABLE growth_brain IS
    'AI learning snapshots and growth analytics with feedback loop';
COMMENT ON COLUMN growth_brain.event_type IS
    'conversion, reversion, pattern_detected, engagement_score, urgency_trend, tone_distribution, conversion_prediction';
COMMENT ON COLUMN growth_brain.learning_snapshot IS
    'Flexible JSONB containing patterns, metrics, predictions';
COMMENT ON COLUMN growth_brain.insight_text IS
    'Human-readable insight for dashboard display';

-- crm module, file 002: lead_memory
--
-- Core lead storage with AI enrichment (seed 003, table 2). Columns, defaults,
-- CHECK and indexes as the seed writes them. current_tag has no CHECK in the
-- seed's SQL (its values, Active / Follow-Up / Converted / Archived / Deleted,
-- are listed in prose only), so none is added here.
--
-- RLS: a client reads and writes only its own leads (see 001 for the setting).
-- Every command has its own policy; INSERT and UPDATE check the new row, so a
-- lead can neither be created for another client nor moved to one.

CREATE TABLE lead_memory (
    -- Primary identifiers
    id                   uuid         CONSTRAINT lead_memory_pkey PRIMARY KEY DEFAULT gen_random_uuid(),
    email                text         NOT NULL,

    -- Lead information
    name                 text         NOT NULL,
    message              text,
    language             text         DEFAULT 'en',

    -- AI enrichment
    ai_summary           text,
    intent               text,
    tone                 text,
    urgency              text,
    confidence_score     numeric(3,2) CONSTRAINT lead_memory_confidence_score_check
                                      CHECK (confidence_score >= 0 AND confidence_score <= 1),

    -- Relationships
    client_id            uuid         CONSTRAINT lead_memory_client_id_fkey
                                      REFERENCES clients (client_id) ON DELETE CASCADE,

    -- Status
    current_tag          text         DEFAULT 'Active',
    archived             boolean      DEFAULT false,
    deleted              boolean      DEFAULT false,
    is_test              boolean      DEFAULT false,

    -- Historical tracking (JSONB arrays of {value, timestamp})
    tone_history         jsonb        DEFAULT '[]'::jsonb,
    urgency_history      jsonb        DEFAULT '[]'::jsonb,
    confidence_history   jsonb        DEFAULT '[]'::jsonb,

    -- Additional AI analysis
    relationship_insight text,

    -- Timestamps
    timestamp            timestamptz  DEFAULT now(),
    last_updated         timestamptz  DEFAULT now()
);

-- idx_lead_memory_client_id serves the foreign key (ON DELETE CASCADE from
-- clients) and the RLS policies; kept although client_active also leads with
-- client_id, because the seed declares both.
CREATE INDEX idx_lead_memory_client_id ON lead_memory (client_id);
CREATE INDEX idx_lead_memory_email ON lead_memory (email);
CREATE INDEX idx_lead_memory_is_test ON lead_memory (is_test);
CREATE INDEX idx_lead_memory_current_tag ON lead_memory (current_tag);
CREATE INDEX idx_lead_memory_timestamp ON lead_memory (timestamp DESC);
CREATE INDEX idx_lead_memory_urgency ON lead_memory (urgency);
CREATE INDEX idx_lead_memory_archived ON lead_memory (archived) WHERE archived = false;
CREATE INDEX idx_lead_memory_deleted ON lead_memory (deleted) WHERE deleted = false;
-- Dashboard: a client's active, non-test leads, newest first.
CREATE INDEX idx_lead_memory_client_active
    ON lead_memory (client_id, current_tag, is_test, timestamp DESC);

ALTER TABLE lead_memory ENABLE ROW LEVEL SECURITY;

-- Name kept from the seed's recommended policy.
CREATE POLICY client_data_isolation ON lead_memory
    FOR SELECT
    TO authenticated
    USING (client_id = (select nullif(current_setting('app.current_client_id', true), '')::uuid));

CREATE POLICY lead_memory_insert_own ON lead_memory
    FOR INSERT
    TO authenticated
    WITH CHECK (client_id = (select nullif(current_setting('app.current_client_id', true), '')::uuid));

CREATE POLICY lead_memory_update_own ON lead_memory
    FOR UPDATE
    TO authenticated
    USING (client_id = (select nullif(current_setting('app.current_client_id', true), '')::uuid))
    WITH CHECK (client_id = (select nullif(current_setting('app.current_client_id', true), '')::uuid));

CREATE POLICY lead_memory_delete_own ON lead_memory
    FOR DELETE
    TO authenticated
    USING (client_id = (select nullif(current_setting('app.current_client_id', true), '')::uuid));

COMMENT ON TABLE lead_memory IS
    'Core lead storage with AI enrichment and historical tracking';
COMMENT ON COLUMN lead_memory.confidence_score IS
    'AI confidence that lead is qualified (0.0 to 1.0)';
COMMENT ON COLUMN lead_memory.tone_history IS
    'Array of {value, timestamp} objects tracking tone changes';

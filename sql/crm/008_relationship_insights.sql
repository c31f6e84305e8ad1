-- crm module, file 008: relationship_insights (DEPRECATED)
--
-- Seed 003 lists this table as "Deprecated/Legacy", 0 rows, "(Use growth_brain
-- instead)", without columns. It is kept so that legacy readers keep working
-- while nothing new is written to it. Its columns are the module's choice,
-- following the seed's conventions: it held per-lead relationship insights
-- (what lead_memory.relationship_insight now keeps inline, and growth_brain
-- keeps as events), so it references its lead and its client like
-- lead_actions does, with the seed's nullable foreign keys and ON DELETE
-- CASCADE, and timestamps DEFAULT now().
--
-- RLS: a client may read its own legacy rows; there is no INSERT, UPDATE or
-- DELETE policy, so clients cannot write new insights here (that is what
-- deprecated means for this table). The service role can still clean up.
-- Dropping the table later is a separate, deliberate change (the prod stack
-- refuses drops unless allow_data_loss is set).

CREATE TABLE relationship_insights (
    id           uuid        CONSTRAINT relationship_insights_pkey PRIMARY KEY DEFAULT gen_random_uuid(),
    lead_id      uuid        CONSTRAINT relationship_insights_lead_id_fkey
                             REFERENCES lead_memory (id) ON DELETE CASCADE,
    client_id    uuid        CONSTRAINT relationship_insights_client_id_fkey
                             REFERENCES clients (client_id) ON DELETE CASCADE,
    insight_text text,
    created_at   timestamptz DEFAULT now()
);

-- Foreign keys (ON DELETE CASCADE from lead_memory and clients) and the RLS
-- policy.
CREATE INDEX idx_relationship_insights_lead_id ON relationship_insights (lead_id);
CREATE INDEX idx_relationship_insights_client_id ON relationship_insights (client_id);

ALTER TABLE relationship_insights ENABLE ROW LEVEL SECURITY;

CREATE POLICY relationship_insights_select_own ON relationship_insights
    FOR SELECT
    TO authenticated
    USING (client_id = (select nullif(current_setting('app.current_client_id', true), '')::uuid));

COMMENT ON TABLE relationship_insights IS
    'DEPRECATED (legacy, expected empty): use growth_brain instead. Kept read-only for clients so legacy readers keep working; no new rows.';
COMMENT ON COLUMN relationship_insights.insight_text IS
    'Legacy relationship insight for the lead; new insights go to growth_brain.insight_text.';

-- crm module, file 006: prospect_outreach_log
--
-- Outreach emails sent to prospects and their engagement (seed 003, table 8).
-- Columns, CHECK, indexes and comments as the seed writes them; the index
-- names are the seed's (idx_outreach_*).
--
-- RLS: ENABLE with NO policy, like its parent prospect_candidates (005): the
-- log has no client_id, its parent has no owner to join to, and both are the
-- operator's pipeline, written and read with the service role only.

CREATE TABLE prospect_outreach_log (
    -- Primary identifier
    id            uuid        CONSTRAINT prospect_outreach_log_pkey PRIMARY KEY DEFAULT gen_random_uuid(),

    -- Relationship
    prospect_id   uuid        CONSTRAINT prospect_outreach_log_prospect_id_fkey
                              REFERENCES prospect_candidates (id) ON DELETE CASCADE,

    -- Email details
    email_subject text        NOT NULL,
    email_body    text        NOT NULL,

    -- Engagement tracking
    status        text        DEFAULT 'sent'
                              CONSTRAINT prospect_outreach_log_status_check
                              CHECK (status IN ('sent', 'opened', 'replied', 'ignored')),

    -- Timestamps
    sent_at       timestamptz DEFAULT now(),
    opened_at     timestamptz,
    replied_at    timestamptz
);

-- Also serves the ON DELETE CASCADE from prospect_candidates.
CREATE INDEX idx_outreach_prospect_id ON prospect_outreach_log (prospect_id);
CREATE INDEX idx_outreach_status ON prospect_outreach_log (status);
CREATE INDEX idx_outreach_sent_at ON prospect_outreach_log (sent_at DESC);

-- pgstack: accept rls_enabled_no_policy: deny-all on purpose: the operator's outreach log, like its
--   parent prospect_candidates; service role only
ALTER TABLE prospect_outreach_log ENABLE ROW LEVEL SECURITY;

COMMENT ON TABLE prospect_outreach_log IS
    'Outreach email tracking with engagement metrics';
COMMENT ON COLUMN prospect_outreach_log.status IS
    'Progression: sent → opened → replied (or ignored)';

-- crm module, file 005: prospect_candidates
--
-- Businesses found by Avenir's own prospect-intelligence crawler (seed 003).
-- The seed defines this table twice (sections 4 and 7) with the same columns;
-- this is the later definition, which adds idx_prospects_high_priority and
-- its table comment and automation_need_score comment. The response_score
-- comment exists only in section 4 and is kept from there. Index names are
-- the seed's (idx_prospects_*, not idx_prospect_candidates_*).
--
-- RLS: ENABLE with NO policy. The seed draws this table as "(Independent)":
-- it has no client_id and no parent, and it is not any client's data but the
-- operator's outreach pipeline (a client deletion does not touch it; the
-- seed's cascade list leaves it out). Adding a client_id would change the
-- seed's columns and invent an owner. So it is isolated the strictest way:
-- anon and authenticated see and write nothing; the crawler and the admin
-- dashboard use the service role (BYPASSRLS).

CREATE TABLE prospect_candidates (
    -- Primary identifier
    id                    uuid         CONSTRAINT prospect_candidates_pkey PRIMARY KEY DEFAULT gen_random_uuid(),

    -- Business information
    business_name         text         NOT NULL,
    website               text,
    contact_email         text,
    form_url              text,

    -- Classification
    industry              text,
    region                text,
    language              text         DEFAULT 'en',

    -- Scoring (0-100 scale)
    response_score        numeric(5,2) CONSTRAINT prospect_candidates_response_score_check
                                       CHECK (response_score >= 0 AND response_score <= 100),
    automation_need_score numeric(5,2) CONSTRAINT prospect_candidates_automation_need_score_check
                                       CHECK (automation_need_score >= 0 AND automation_need_score <= 100),

    -- Status
    contacted             boolean      DEFAULT false,

    -- Timestamps
    last_tested           timestamptz,
    created_at            timestamptz  DEFAULT now()
);

CREATE INDEX idx_prospects_automation_score ON prospect_candidates (automation_need_score DESC);
CREATE INDEX idx_prospects_contacted ON prospect_candidates (contacted);
CREATE INDEX idx_prospects_industry ON prospect_candidates (industry);
CREATE INDEX idx_prospects_region ON prospect_candidates (region);
CREATE INDEX idx_prospects_created_at ON prospect_candidates (created_at DESC);
-- High-priority prospects (automation_need_score >= 70), best first.
CREATE INDEX idx_prospects_high_priority
    ON prospect_candidates (automation_need_score DESC, contacted)
    WHERE automation_need_score >= 70;

-- pgstack: accept rls_enabled_no_policy: deny-all on purpose: the operator's prospecting pipeline,
--   no client's data; only the crawler and the admin dashboard use it, with the service role (see
--   above)
ALTER TABLE prospect_candidates ENABLE ROW LEVEL SECURITY;

COMMENT ON TABLE prospect_candidates IS
    'Businesses discovered via crawler with automation need scoring';
COMMENT ON COLUMN prospect_candidates.response_score IS
    'Quality of current autoresponder (0-100, higher = better)';
COMMENT ON COLUMN prospect_candidates.automation_need_score IS
    'Calculated as 100 - response_score (higher = better prospect)';

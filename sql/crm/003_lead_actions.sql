-- crm module, file 003: lead_actions
--
-- Activity history of every lead (seed 003). The seed defines this table
-- twice (sections 3 and 6) with the same columns; this is the later, fuller
-- definition: section 6 adds the CHECK on action_type and the indexes
-- idx_lead_actions_tag and idx_lead_actions_client_timeline, and its table
-- comment. The action_type column comment exists only in section 3 and is
-- kept from there.
--
-- RLS: the seed calls the table an "immutable audit log" and the product
-- records a reversion as a new 'revert' action, never by editing one. So a
-- client may read and append its own actions, and has no UPDATE or DELETE
-- policy: nobody but the service role can rewrite or erase the history. Rows
-- still go with their lead or client through ON DELETE CASCADE (referential
-- actions are not subject to RLS).

CREATE TABLE lead_actions (
    -- Primary identifier
    id                 uuid        CONSTRAINT lead_actions_pkey PRIMARY KEY DEFAULT gen_random_uuid(),

    -- Relationships
    lead_id            uuid        CONSTRAINT lead_actions_lead_id_fkey
                                   REFERENCES lead_memory (id) ON DELETE CASCADE,
    client_id          uuid        CONSTRAINT lead_actions_client_id_fkey
                                   REFERENCES clients (client_id) ON DELETE CASCADE,

    -- Action details
    action_type        text        NOT NULL
                                   CONSTRAINT lead_actions_action_type_check
                                   CHECK (action_type IN ('insert', 'update', 'tag', 'archive', 'delete', 'revert')),
    tag                text,

    -- Conversion tracking
    conversion_outcome boolean     DEFAULT false,
    reversion_reason   text,

    -- Metadata
    is_test            boolean     DEFAULT false,
    timestamp          timestamptz DEFAULT now()
);

CREATE INDEX idx_lead_actions_lead_id ON lead_actions (lead_id);
CREATE INDEX idx_lead_actions_client_id ON lead_actions (client_id);
CREATE INDEX idx_lead_actions_timestamp ON lead_actions (timestamp DESC);
CREATE INDEX idx_lead_actions_action_type ON lead_actions (action_type);
CREATE INDEX idx_lead_actions_conversion ON lead_actions (conversion_outcome) WHERE conversion_outcome = true;
CREATE INDEX idx_lead_actions_tag ON lead_actions (tag);
-- Timeline of one client's actions, newest first.
CREATE INDEX idx_lead_actions_client_timeline ON lead_actions (client_id, timestamp DESC);

ALTER TABLE lead_actions ENABLE ROW LEVEL SECURITY;

-- Name kept from the seed's recommended policy.
CREATE POLICY client_actions_isolation ON lead_actions
    FOR SELECT
    TO authenticated
    USING (client_id = (select nullif(current_setting('app.current_client_id', true), '')::uuid));

-- Append only (see above). The row must belong to the client, and so must its
-- lead: the foreign key on lead_id is checked without RLS, so without the
-- EXISTS a client could attach actions to another client's lead (they would
-- show in that lead's history for the service role and die with it). The
-- sub-select is a primary-key lookup and also passes lead_memory's own RLS.
CREATE POLICY lead_actions_insert_own ON lead_actions
    FOR INSERT
    TO authenticated
    WITH CHECK (
        client_id = (select nullif(current_setting('app.current_client_id', true), '')::uuid)
        AND (lead_id IS NULL OR EXISTS (
            SELECT 1 FROM lead_memory
            WHERE lead_memory.id = lead_actions.lead_id
              AND lead_memory.client_id = lead_actions.client_id))
    );

COMMENT ON TABLE lead_actions IS
    'Immutable audit log of all lead state changes and actions';
COMMENT ON COLUMN lead_actions.action_type IS
    'insert, update, tag, archive, delete, revert';
COMMENT ON COLUMN lead_actions.conversion_outcome IS
    'Set to true when tag changes to "Converted"';
COMMENT ON COLUMN lead_actions.reversion_reason IS
    'User-provided reason when reverting a converted lead';

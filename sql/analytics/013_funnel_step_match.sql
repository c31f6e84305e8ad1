-- analytics module, file 013: funnel_step_match
--
-- How an event matches a funnel step (seed 004: "JSON rules"). A step has one
-- or more match rows; an event matches the step when it matches ANY of them
-- (alternatives: "Signed Up" OR "Trial Started"). A rule is a jsonb object:
--   {"event": "Signed Up",                      -- event.name, required
--    "event_type": "track",                     -- optional
--    "where": [{"property": "plan", "op": "eq", "value": "pro"}, ...]}
--                                               -- optional, all must hold
-- The CHECK enforces the shape the funnel engine relies on (an object with a
-- string "event", and "where", if present, an array); the operators inside
-- "where" are validated by the API, which can evolve them without a schema
-- change.

CREATE TABLE funnel_step_match (
    tenant_id      bigint      NOT NULL,
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    funnel_step_id uuid        NOT NULL,
    rule           jsonb       NOT NULL
                               CONSTRAINT funnel_step_match_rule_shape
                               CHECK (jsonb_typeof(rule) = 'object'
                                      AND jsonb_typeof(rule -> 'event') = 'string'
                                      AND (rule -> 'where' IS NULL
                                           OR jsonb_typeof(rule -> 'where') = 'array')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT funnel_step_match_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT funnel_step_match_step_fkey FOREIGN KEY (tenant_id, funnel_step_id)
        REFERENCES funnel_step (tenant_id, id) ON DELETE CASCADE
);

-- The rules of a step, and the step foreign key.
CREATE INDEX idx_funnel_step_match_step ON funnel_step_match (tenant_id, funnel_step_id);

ALTER TABLE funnel_step_match ENABLE ROW LEVEL SECURITY;

CREATE POLICY funnel_step_match_tenant_isolation ON funnel_step_match
    AS PERMISSIVE FOR ALL TO authenticated
    USING (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint))
    WITH CHECK (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint));

COMMENT ON TABLE funnel_step_match IS
    'Match rules of a funnel step (any one matching is enough), as JSON objects {event, event_type?, where?}.';
COMMENT ON COLUMN funnel_step_match.rule IS
    'JSON object: "event" (string, required), "event_type" (optional), "where" (optional array of property conditions).';

-- analytics module, file 012: funnel_step
--
-- The ordered steps of a funnel version. position is 1-based and unique per
-- version (reordering in the editor rewrites positions of the draft).
-- within_seconds bounds the time from the previous step (NULL: no limit;
-- ignored for step 1).

CREATE TABLE funnel_step (
    tenant_id         bigint      NOT NULL,
    id                uuid        NOT NULL DEFAULT gen_random_uuid(),
    funnel_version_id uuid        NOT NULL,
    position          integer     NOT NULL
                                  CONSTRAINT funnel_step_position_check CHECK (position >= 1),
    name              text        NOT NULL
                                  CONSTRAINT funnel_step_name_check CHECK (length(name) BETWEEN 1 AND 200),
    within_seconds    integer     CONSTRAINT funnel_step_within_seconds_check CHECK (within_seconds > 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT funnel_step_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT funnel_step_version_fkey FOREIGN KEY (tenant_id, funnel_version_id)
        REFERENCES funnel_version (tenant_id, id) ON DELETE CASCADE,
    -- Also the index for the version foreign key (leading columns).
    CONSTRAINT funnel_step_tenant_id_funnel_version_id_position_key
        UNIQUE (tenant_id, funnel_version_id, position)
);

ALTER TABLE funnel_step ENABLE ROW LEVEL SECURITY;

CREATE POLICY funnel_step_tenant_isolation ON funnel_step
    AS PERMISSIVE FOR ALL TO authenticated
    USING (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint))
    WITH CHECK (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint));

COMMENT ON TABLE funnel_step IS 'Ordered steps of a funnel version.';
COMMENT ON COLUMN funnel_step.position IS '1-based order of the step in its version (unique).';
COMMENT ON COLUMN funnel_step.within_seconds IS 'Maximum seconds after the previous step; NULL for no limit.';

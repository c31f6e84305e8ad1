-- analytics module, file 011: funnel_publication (immutable)
--
-- The immutable snapshot of a published funnel version (seed 004: "immutable
-- snapshots"). Reports computed from a publication stay reproducible: the
-- snapshot holds the full definition as it was published (steps in order,
-- each with its match rules), so later edits of funnel_step/funnel_step_match
-- rows cannot change what a publication meant.
--
-- Immutability is enforced by the database, for every role including
-- service_role (which bypasses RLS but not triggers): a BEFORE UPDATE OR
-- DELETE row trigger and a BEFORE TRUNCATE statement trigger raise. To change
-- a funnel, publish a new version. The error code is restrict_violation
-- (23001), an integrity error (PostgREST answers 409).
--
-- Consequences, chosen deliberately:
--   * The foreign keys into this table's parents are ON DELETE RESTRICT: a
--     published version, its funnel, workspace or tenant cannot be hard-
--     deleted while publications exist. Tenants are soft-deleted
--     (tenant.status); a hard purge is an owner-only maintenance job that
--     disables the trigger in its own transaction (ALTER TABLE ... DISABLE
--     TRIGGER needs ownership, which no application role has).
--   * The publication names both the funnel and the version, with one foreign
--     key (tenant_id, funnel_id, funnel_version_id), so they always agree, and
--     UNIQUE on the same columns means a version is published at most once.

CREATE TABLE funnel_publication (
    tenant_id         bigint      NOT NULL,
    id                uuid        NOT NULL DEFAULT gen_random_uuid(),
    funnel_id         uuid        NOT NULL,
    funnel_version_id uuid        NOT NULL,
    -- {"name": ..., "steps": [{"position": 1, "name": ..., "within_seconds": ...,
    --   "matches": [<funnel_step_match.rule>, ...]}, ...]}
    snapshot          jsonb       NOT NULL
                                  CONSTRAINT funnel_publication_snapshot_shape
                                  CHECK (jsonb_typeof(snapshot) = 'object'
                                         AND jsonb_typeof(snapshot -> 'steps') = 'array'),
    -- auth.uid() of the user who published (NULL when published by the API).
    published_by      uuid,
    published_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT funnel_publication_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT funnel_publication_version_fkey FOREIGN KEY (tenant_id, funnel_id, funnel_version_id)
        REFERENCES funnel_version (tenant_id, funnel_id, id) ON DELETE RESTRICT,
    -- A version is published once; also the index for the foreign key.
    CONSTRAINT funnel_publication_tenant_id_funnel_id_funnel_version_id_key
        UNIQUE (tenant_id, funnel_id, funnel_version_id)
);

-- The publication in effect: the latest of a funnel.
CREATE INDEX idx_funnel_publication_funnel_published
    ON funnel_publication (tenant_id, funnel_id, published_at DESC);

-- Raises for any UPDATE, DELETE or TRUNCATE. Empty search_path: it calls
-- nothing, and a trigger function should not resolve names through the
-- caller's path.
CREATE FUNCTION funnel_publication_immutable() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
BEGIN
    RAISE EXCEPTION 'funnel_publication is immutable: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'Publish a new funnel version instead of changing a publication.';
END
$$;

CREATE TRIGGER funnel_publication_no_update_delete
    BEFORE UPDATE OR DELETE ON funnel_publication
    FOR EACH ROW EXECUTE FUNCTION funnel_publication_immutable();

CREATE TRIGGER funnel_publication_no_truncate
    BEFORE TRUNCATE ON funnel_publication
    FOR EACH STATEMENT EXECUTE FUNCTION funnel_publication_immutable();

ALTER TABLE funnel_publication ENABLE ROW LEVEL SECURITY;

CREATE POLICY funnel_publication_tenant_isolation ON funnel_publication
    AS PERMISSIVE FOR ALL TO authenticated
    USING (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint))
    WITH CHECK (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint));

COMMENT ON TABLE funnel_publication IS
    'Immutable snapshots of published funnel versions: UPDATE, DELETE and TRUNCATE raise (trigger). Publish a new version to change a funnel.';
COMMENT ON COLUMN funnel_publication.snapshot IS
    'Full definition as published: a JSON object with a steps array (each step with its match rules).';
COMMENT ON COLUMN funnel_publication.published_by IS 'auth.uid() of the publishing user; NULL when published by the API.';

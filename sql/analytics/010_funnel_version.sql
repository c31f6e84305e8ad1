-- analytics module, file 010: funnel_version
--
-- One version of a funnel's definition (its steps, 012, and their match rules,
-- 013). Status draft or published (seed 004): a version is edited as a draft;
-- publishing sets status and published_at and writes the immutable snapshot
-- (011) in the same transaction. At most one draft per funnel (partial unique
-- index), so "the draft" is well defined for the editor. version numbers are
-- assigned by the API (max + 1), unique per funnel.

CREATE TABLE funnel_version (
    tenant_id    bigint      NOT NULL,
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    funnel_id    uuid        NOT NULL,
    version      integer     NOT NULL
                             CONSTRAINT funnel_version_version_check CHECK (version >= 1),
    status       text        NOT NULL DEFAULT 'draft'
                             CONSTRAINT funnel_version_status_check
                             CHECK (status IN ('draft', 'published')),
    published_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT funnel_version_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT funnel_version_funnel_fkey FOREIGN KEY (tenant_id, funnel_id)
        REFERENCES funnel (tenant_id, id) ON DELETE CASCADE,
    -- Also the index for the funnel foreign key (leading columns).
    CONSTRAINT funnel_version_tenant_id_funnel_id_version_key UNIQUE (tenant_id, funnel_id, version),
    -- Target of funnel_publication's foreign key, which names the funnel too,
    -- so a publication cannot pair a funnel with another funnel's version.
    CONSTRAINT funnel_version_tenant_id_funnel_id_id_key UNIQUE (tenant_id, funnel_id, id),
    CONSTRAINT funnel_version_published_at_check
        CHECK ((status = 'published') = (published_at IS NOT NULL))
);

-- One draft per funnel at a time.
CREATE UNIQUE INDEX idx_funnel_version_one_draft ON funnel_version (tenant_id, funnel_id)
    WHERE status = 'draft';

ALTER TABLE funnel_version ENABLE ROW LEVEL SECURITY;

CREATE POLICY funnel_version_tenant_isolation ON funnel_version
    AS PERMISSIVE FOR ALL TO authenticated
    USING (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint))
    WITH CHECK (tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint));

COMMENT ON TABLE funnel_version IS
    'Versions of a funnel definition: draft (editable, at most one per funnel) or published (snapshotted in funnel_publication).';
COMMENT ON COLUMN funnel_version.version IS 'Version number, 1, 2, ... unique within the funnel.';
COMMENT ON COLUMN funnel_version.status IS 'draft or published; published_at is set exactly when published.';

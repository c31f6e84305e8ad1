-- growth module, file 011: knowledge_base
--
-- AI knowledge documents per shop with OpenAI embeddings (1536 dimensions,
-- text-embedding-3-small / ada-002). Shop-based RLS (see 001).
--
-- Requires pgvector (seed). Declared here, with the only table that needs it;
-- the program creates module extensions before any table. No SCHEMA option:
-- on Supabase the program installs it in schema extensions, where Supabase
-- keeps extensions (and where the dashboard enables pgvector), and gives the
-- owner USAGE on that schema; on plain PostgreSQL it goes in public. Either
-- way the type and operator class are found through the search_path.
--
-- Versioning (seed: "self-referencing for versioning", via
-- previous_version_id): a new version is a new row with version + 1 and
-- previous_version_id pointing at the row it replaces, whose is_current the
-- writer sets to false in the same transaction. The database keeps the
-- chain honest:
--   * version 1 has no predecessor, every later version has one (CHECK);
--   * a version has at most one successor (UNIQUE previous_version_id), so a
--     chain is a line, not a tree;
--   * the self-reference includes shop_domain ((previous_version_id,
--     shop_domain) -> (id, shop_domain)), so a chain never crosses shops;
--   * ON DELETE NO ACTION: a single version in the middle of a chain cannot
--     be deleted; deleting a whole document (all its rows in one statement)
--     works because the check runs at the end of the statement;
--   * at most one current version per document (partial unique index).
--
-- Vector index: the seed asks for ivfflat (lists = 100); hnsw is used
-- instead. ivfflat learns its lists from the rows present when the index is
-- built, and this index is built by the program on an empty table, so its
-- recall would degrade as data arrives until someone rebuilt it; hnsw needs
-- no training data, has better speed/recall, and pgvector 0.8 can continue
-- the scan past filtered rows: RLS adds shop_domain = <shop> to every
-- similarity query, so sessions should SET hnsw.iterative_scan =
-- relaxed_order to still get LIMIT rows for a small shop.
-- Cosine distance (vector_cosine_ops, operator <=>) matches OpenAI
-- embeddings.

CREATE EXTENSION vector;

CREATE TABLE knowledge_base (
    id                  uuid         PRIMARY KEY DEFAULT gen_random_uuid(),
    shop_domain         text         NOT NULL
                                     CONSTRAINT knowledge_base_shop_domain_format
                                     CHECK (shop_domain ~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$'),
    -- Stable key of the document across its versions.
    document_key        text         NOT NULL
                                     CONSTRAINT knowledge_base_document_key_check CHECK (document_key <> ''),
    -- Category slug chosen by the app (faq, policy, product, brand_voice ...):
    -- open-ended per shop, so a format CHECK rather than a fixed list.
    document_type       text         NOT NULL
                                     CONSTRAINT knowledge_base_document_type_format
                                     CHECK (document_type ~ '^[a-z][a-z0-9_]*$'),
    title               text         NOT NULL,
    content             text         NOT NULL,
    -- NULL until the embedding job has embedded this version.
    embedding           vector(1536),
    embedding_model     text,
    version             integer      NOT NULL DEFAULT 1
                                     CONSTRAINT knowledge_base_version_check CHECK (version >= 1),
    is_current          boolean      NOT NULL DEFAULT true,
    previous_version_id uuid,
    tags                text[]       NOT NULL DEFAULT '{}',
    created_by          uuid,
    created_at          timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT knowledge_base_previous_version_check
        CHECK ((version = 1) = (previous_version_id IS NULL)),
    CONSTRAINT knowledge_base_embedding_model_check
        CHECK (embedding IS NULL OR embedding_model IS NOT NULL),
    -- Leads with shop_domain: the index of the policy column.
    CONSTRAINT knowledge_base_shop_domain_document_key_version_key
        UNIQUE (shop_domain, document_key, version),
    -- Target of the self-reference below.
    CONSTRAINT knowledge_base_id_shop_domain_key UNIQUE (id, shop_domain),
    -- A line, not a tree; also the index of the foreign key column.
    CONSTRAINT knowledge_base_previous_version_id_key UNIQUE (previous_version_id),
    -- pgstack: accept unindexed_foreign_keys: the UNIQUE (previous_version_id) index above finds
    --   the one row that points at a version, so the lookups by (previous_version_id, shop_domain)
    --   use it; a second index would only cost writes
    CONSTRAINT knowledge_base_previous_version_id_fkey
        FOREIGN KEY (previous_version_id, shop_domain) REFERENCES knowledge_base (id, shop_domain)
);

-- At most one current version of a document.
CREATE UNIQUE INDEX idx_knowledge_base_current
    ON knowledge_base (shop_domain, document_key)
    WHERE is_current;
-- Seed: approximate nearest neighbours by cosine distance (hnsw, see above),
-- for ORDER BY embedding <=> $1 LIMIT k.
CREATE INDEX idx_knowledge_base_embedding
    ON knowledge_base USING hnsw (embedding vector_cosine_ops);
-- Seed: document categories of a shop.
CREATE INDEX idx_knowledge_base_shop_type ON knowledge_base (shop_domain, document_type);
-- Seed: tag search (tags @> ARRAY['returns']).
CREATE INDEX idx_knowledge_base_tags ON knowledge_base USING gin (tags);

ALTER TABLE knowledge_base ENABLE ROW LEVEL SECURITY;

CREATE POLICY knowledge_base_shop_isolation ON knowledge_base
    FOR ALL TO authenticated
    USING (shop_domain = (select current_setting('app.current_shop', true)))
    WITH CHECK (shop_domain = (select current_setting('app.current_shop', true)));

COMMENT ON TABLE knowledge_base IS
    'Versioned AI knowledge documents per shop with pgvector embeddings (cosine hnsw index). Shop-based RLS (app.current_shop). Retention: indefinite (retention.yaml).';
COMMENT ON COLUMN knowledge_base.document_key IS 'Stable key of the document; each version is a row.';
COMMENT ON COLUMN knowledge_base.embedding IS 'OpenAI embedding (1536 dimensions) of title and content; NULL until computed.';
COMMENT ON COLUMN knowledge_base.embedding_model IS 'Model that produced embedding; set whenever embedding is.';
COMMENT ON COLUMN knowledge_base.version IS '1 for the first version, +1 for each new one.';
COMMENT ON COLUMN knowledge_base.is_current IS 'true for the latest version of the document (at most one).';
COMMENT ON COLUMN knowledge_base.previous_version_id IS 'The version this row replaces (same shop); NULL for version 1.';
COMMENT ON COLUMN knowledge_base.tags IS 'Categorization tags (GIN-indexed).';

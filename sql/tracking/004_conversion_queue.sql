-- tracking module, file 004: conversion_queue
--
-- Upload queue: one row per (conversion, ad platform). The cron uploader
-- (seed 001: phase 12) picks rows that are due, uploads them, and records the
-- outcome. RLS on, no policies (see 001).
--
-- Retry mechanics (seed 000, OFL-07): at most 5 attempts. After a failed
-- attempt the uploader increments retry_count and sets next_retry_at to
-- now() + 15 min, 1 h, 4 h, 16 h for retry_count 1..4; when retry_count reaches
-- max_retries (5) the row becomes dead_letter and is no longer picked up.
--
-- Claude's Discretion: updated_at has no trigger (the seeds define none); the
-- cron uploader, the only writer that updates rows, sets it with each status
-- change. This keeps the module free of functions in the shared schema.

CREATE TABLE conversion_queue (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    conversion_id uuid        NOT NULL
                              CONSTRAINT conversion_queue_conversion_id_fkey
                              REFERENCES conversions (id) ON DELETE CASCADE,
    -- Platform column for future multi-platform support (seed 000). Google Ads
    -- only in v1.1; v2 (META-01) widens this CHECK.
    platform      text        NOT NULL DEFAULT 'google_ads'
                              CONSTRAINT conversion_queue_platform_check
                              CHECK (platform IN ('google_ads')),
    status        text        NOT NULL DEFAULT 'pending'
                              CONSTRAINT conversion_queue_status_check
                              CHECK (status IN ('pending', 'uploaded', 'failed', 'dead_letter')),
    retry_count   integer     NOT NULL DEFAULT 0,
    max_retries   integer     NOT NULL DEFAULT 5,
    next_retry_at timestamptz,
    last_error    text,
    uploaded_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT conversion_queue_retry_count_check
        CHECK (retry_count >= 0 AND retry_count <= max_retries),
    -- A conversion is queued at most once per platform; re-enqueueing is a
    -- no-op with ON CONFLICT DO NOTHING. Its index also serves conversion_id
    -- lookups and the ON DELETE CASCADE from conversions (leading column).
    CONSTRAINT conversion_queue_conversion_id_platform_key
        UNIQUE (conversion_id, platform)
);

-- Composite partial index (seed 001) for the cron query
--   WHERE status IN ('pending','failed') AND next_retry_at <= now()
-- uploaded and dead_letter rows, the vast majority over time, are left out.
-- Name kept exactly as the seed shipped it.
CREATE INDEX idx_queue_status_next_retry
    ON conversion_queue (status, next_retry_at)
    WHERE status IN ('pending', 'failed');

-- pgstack: accept rls_enabled_no_policy: deny-all on purpose: only the cron uploader uses the
--   queue, with the service role (BYPASSRLS); anon and authenticated see nothing
ALTER TABLE conversion_queue ENABLE ROW LEVEL SECURITY;

COMMENT ON TABLE conversion_queue IS
    'Per-platform upload queue for conversions, with retry/backoff and dead-letter state. Service role only (RLS on, no policies).';
COMMENT ON COLUMN conversion_queue.platform IS
    'Target ad platform; only google_ads in v1.1 (v2 adds more).';
COMMENT ON COLUMN conversion_queue.status IS
    'pending -> uploaded, or failed (retried) -> dead_letter after max_retries attempts.';
COMMENT ON COLUMN conversion_queue.retry_count IS
    'Failed upload attempts so far; at most max_retries (5).';
COMMENT ON COLUMN conversion_queue.max_retries IS
    'Attempt limit (5, OFL-07); reaching it moves the row to dead_letter.';
COMMENT ON COLUMN conversion_queue.next_retry_at IS
    'When the row is next due. Backoff after failures 1..4: 15 min, 1 h, 4 h, 16 h; after that dead_letter.';
COMMENT ON COLUMN conversion_queue.last_error IS 'Error message of the last failed attempt.';
COMMENT ON COLUMN conversion_queue.uploaded_at IS 'When the platform accepted the upload.';
COMMENT ON COLUMN conversion_queue.updated_at IS 'Last change of the row; set by the uploader on every update.';

-- growth module, file 007: onboarding_progress
--
-- One row per user, shop and onboarding step. User-based RLS (seed): the row
-- is the user's own, whichever shop it is about.
--
-- user_id is text, as in the seed's policy ((SELECT auth.uid())::text =
-- user_id). The CHECK holds it to the form uuid::text produces (lowercase,
-- hyphenated): any other spelling of the same uuid would never match the
-- policy, so such a row would be invisible to its owner.

CREATE TABLE onboarding_progress (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            text        NOT NULL
                                   CONSTRAINT onboarding_progress_user_id_format
                                   CHECK (user_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
    shop_domain        text        NOT NULL
                                   CONSTRAINT onboarding_progress_shop_domain_format
                                   CHECK (shop_domain ~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$'),
    step_key           text        NOT NULL
                                   CONSTRAINT onboarding_progress_step_key_check CHECK (step_key <> ''),
    -- Position of the step in the flow, for ordered display.
    step_order         integer     NOT NULL
                                   CONSTRAINT onboarding_progress_step_order_check CHECK (step_order >= 0),
    status             text        NOT NULL DEFAULT 'not_started'
                                   CONSTRAINT onboarding_progress_status_check
                                   CHECK (status IN ('not_started', 'in_progress', 'completed', 'skipped')),
    started_at         timestamptz,
    completed_at       timestamptz,
    attempts           integer     NOT NULL DEFAULT 0
                                   CONSTRAINT onboarding_progress_attempts_check CHECK (attempts >= 0),
    time_spent_seconds integer     NOT NULL DEFAULT 0
                                   CONSTRAINT onboarding_progress_time_spent_seconds_check
                                   CHECK (time_spent_seconds >= 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT onboarding_progress_completed_check
        CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
    -- Seed unique. Leads with user_id: the index of the policy column.
    CONSTRAINT onboarding_progress_user_id_shop_domain_step_key_key
        UNIQUE (user_id, shop_domain, step_key)
);

-- Seed: a user's progress in step order.
CREATE INDEX idx_onboarding_progress_user_shop_order
    ON onboarding_progress (user_id, shop_domain, step_order);
-- Seed: completion tracking across users (product analytics, service role).
CREATE INDEX idx_onboarding_progress_status ON onboarding_progress (status);

ALTER TABLE onboarding_progress ENABLE ROW LEVEL SECURITY;

CREATE POLICY onboarding_progress_own_rows ON onboarding_progress
    FOR ALL TO authenticated
    USING ((select auth.uid())::text = user_id)
    WITH CHECK ((select auth.uid())::text = user_id);

COMMENT ON TABLE onboarding_progress IS
    'Onboarding step progress per user and shop. User-based RLS (auth.uid()). Retention: none set by the seed (kept).';
COMMENT ON COLUMN onboarding_progress.user_id IS 'auth user id (uuid as lowercase text, the form auth.uid()::text produces).';
COMMENT ON COLUMN onboarding_progress.status IS 'not_started, in_progress, completed (completed_at set) or skipped.';
COMMENT ON COLUMN onboarding_progress.attempts IS 'How many times the user started the step.';

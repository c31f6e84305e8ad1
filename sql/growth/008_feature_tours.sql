-- growth module, file 008: feature_tours
--
-- Interactive feature tours per user. User-based RLS (seed). The seed gives
-- this table no shop_domain: a tour is about the app, shown once per user
-- whichever shop they work on.
--
-- user_id is text with the same format CHECK as onboarding_progress (see 007).
-- steps holds the tour's step definitions as a JSON array (the seed's JSONB
-- "tour step definitions"); current_step is a 0-based index into it.

CREATE TABLE feature_tours (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       text        NOT NULL
                              CONSTRAINT feature_tours_user_id_format
                              CHECK (user_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
    tour_key      text        NOT NULL
                              CONSTRAINT feature_tours_tour_key_check CHECK (tour_key <> ''),
    tour_name     text        NOT NULL,
    steps         jsonb       NOT NULL DEFAULT '[]'::jsonb
                              CONSTRAINT feature_tours_steps_array CHECK (jsonb_typeof(steps) = 'array'),
    status        text        NOT NULL DEFAULT 'pending'
                              CONSTRAINT feature_tours_status_check
                              CHECK (status IN ('pending', 'active', 'completed', 'dismissed')),
    current_step  integer     NOT NULL DEFAULT 0
                              CONSTRAINT feature_tours_current_step_check CHECK (current_step >= 0),
    times_shown   integer     NOT NULL DEFAULT 0
                              CONSTRAINT feature_tours_times_shown_check CHECK (times_shown >= 0),
    -- Count of clicks/advances inside the tour.
    interactions  integer     NOT NULL DEFAULT 0
                              CONSTRAINT feature_tours_interactions_check CHECK (interactions >= 0),
    last_shown_at timestamptz,
    completed_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- Seed unique. Leads with user_id: the index of the policy column.
    CONSTRAINT feature_tours_user_id_tour_key_key UNIQUE (user_id, tour_key)
);

-- Seed: a user's pending/active tours.
CREATE INDEX idx_feature_tours_user_status ON feature_tours (user_id, status);
-- Seed: tour definitions, by key across users (service role).
CREATE INDEX idx_feature_tours_tour_key ON feature_tours (tour_key);

ALTER TABLE feature_tours ENABLE ROW LEVEL SECURITY;

CREATE POLICY feature_tours_own_rows ON feature_tours
    FOR ALL TO authenticated
    USING ((select auth.uid())::text = user_id)
    WITH CHECK ((select auth.uid())::text = user_id);

COMMENT ON TABLE feature_tours IS
    'Feature tour state per user (steps, progress, exposure). User-based RLS (auth.uid()). Retention: none set by the seed (kept).';
COMMENT ON COLUMN feature_tours.user_id IS 'auth user id (uuid as lowercase text, the form auth.uid()::text produces).';
COMMENT ON COLUMN feature_tours.steps IS 'Tour step definitions, a JSON array.';
COMMENT ON COLUMN feature_tours.current_step IS '0-based index into steps of the step shown next.';
COMMENT ON COLUMN feature_tours.interactions IS 'Number of user interactions with the tour.';

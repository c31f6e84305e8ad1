-- Supabase-compatible auth helpers, for a plain-PostgreSQL target only.
--
-- On Supabase these functions exist (schema auth, owned by supabase_auth_admin) and the
-- program never declares them. On plain PostgreSQL the program deploys this file as the
-- built-in module `supabase_auth` in schema `auth`, so the same policies run unchanged in
-- dev and prod.
--
-- They read the JWT claims the way Supabase's PostgREST does: the whole claim set as JSON in
-- the `request.jwt.claims` setting (PostgREST 9+), falling back to the older per-claim
-- settings (`request.jwt.claim.sub`, ...). A missing or empty setting gives NULL, never an
-- error, so a policy such as `user_id = (select auth.uid())` matches no row without claims.

CREATE FUNCTION uid() RETURNS uuid
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
    )::uuid
$$;

CREATE FUNCTION role() RETURNS text
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'
    )::text
$$;

CREATE FUNCTION jwt() RETURNS jsonb
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;

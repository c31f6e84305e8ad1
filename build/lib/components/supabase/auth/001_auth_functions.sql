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
--
-- Each fixes its search_path to empty (it uses only pg_catalog, which is always searched): a
-- caller's search_path cannot put other functions or operators in front of the built-in ones.
-- Supabase's own helpers leave it unset; policies call these once per query, in a sub-select, so
-- the SET (which keeps PostgreSQL from inlining the function) costs nothing that matters.

CREATE FUNCTION uid() RETURNS uuid
    LANGUAGE sql STABLE
    SET search_path = ''
AS $$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
    )::uuid
$$;

CREATE FUNCTION role() RETURNS text
    LANGUAGE sql STABLE
    SET search_path = ''
AS $$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'
    )::text
$$;

CREATE FUNCTION jwt() RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path = ''
AS $$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;

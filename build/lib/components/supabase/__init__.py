"""What Supabase provides and every layer relies on, in one place.

On Supabase these exist already; on a plain-PostgreSQL target the program creates compatible
ones (stack/roles.py, and auth/*.sql deployed as the built-in module `supabase_auth`), so the
same policies run unchanged in dev and prod.
"""

from pathlib import Path

# The roles PostgREST switches to per request, and the login it connects as.
ANON = "anon"
AUTHENTICATED = "authenticated"
SERVICE_ROLE = "service_role"  # the only role with BYPASSRLS
API_ROLES = (ANON, AUTHENTICATED, SERVICE_ROLE)
AUTHENTICATOR = "authenticator"
BUILTIN_ROLES = API_ROLES + (AUTHENTICATOR,)

# auth.uid(), auth.role(), auth.jwt(): read the request's JWT claims.
AUTH_SCHEMA = "auth"
AUTH_MODULE = "supabase_auth"
AUTH_SQL_DIR = Path(__file__).resolve().parent / "auth"

# Where Supabase installs extensions (vector, pgcrypto) when enabled from the dashboard.
EXTENSIONS_SCHEMA = "extensions"

"""pgstack: PostgreSQL and Supabase schemas as Pulumi resources.

One folder per layer (see README, "Layout"): settings/ (typed stack config), model/ (the pure
SQL model), provider/ (the dynamic provider), stack/ (the Pulumi components); supabase/ holds
the Supabase-compatibility facts every layer shares, devdb.py the embedded dev PostgreSQL.
"""


class PgstackError(Exception):
    """Base of every error the project raises on purpose: bad config, bad SQL, a refused or
    failed change. Anything else escaping is a bug."""

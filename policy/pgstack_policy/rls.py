"""Row-level security rules (Supabase splinter's names where one exists)."""

from collections.abc import Iterator

from .expressions import always_true, per_row_request_calls, references_user_metadata
from .rule import Finding
from .stack import BYPASSRLS_ROLES, Resource, Stack, known

API_ROLES = frozenset({"public", "anon", "authenticated"})  # whom an always-true policy opens a table to
COMMANDS = ("select", "insert", "update", "delete")
ENABLE_FIX = ("add `ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;` next to its CREATE TABLE, and a policy for each "
              "role that needs rows.")


def _texts(policy: Resource) -> list[str]:
    return [t for t in (policy.get("using"), policy.get("with_check")) if isinstance(t, str)]


def _rls_disabled(table: Resource, public: bool) -> Iterator[Finding]:
    schema = table.get("schema")
    if table.owned_table and table.get("rls_enabled") is not True and (schema == "public") == public:
        yield Finding(table, "row level security is not enabled: every role granted the table reads and "
                             "writes all of its rows.", ENABLE_FIX.format(name=table.get("name")))


def rls_disabled_in_public(table: Resource) -> Iterator[Finding]:
    yield from _rls_disabled(table, public=True)


def rls_disabled(table: Resource) -> Iterator[Finding]:
    yield from _rls_disabled(table, public=False)


def policy_exists_rls_disabled(stack: Stack) -> Iterator[Finding]:
    for key, table in stack.owned_tables():
        policies = stack.on_table("Policy", key)
        if policies and table.get("rls_enabled") is not True:
            names = ", ".join(sorted(str(p.get("name")) for p in policies))
            yield Finding(table, f"has policies ({names}) but row level security is not enabled, so none of them "
                                 f"is enforced.", ENABLE_FIX.format(name=table.get("name")))


def rls_enabled_no_policy(stack: Stack) -> Iterator[Finding]:
    for key, table in stack.owned_tables():
        if table.get("rls_enabled") is True and not stack.on_table("Policy", key):
            yield Finding(table, "row level security is enabled and no policy exists: anon and authenticated get "
                                 "no rows; only the owner and roles that bypass RLS (service_role) do.",
                          "add a policy for each role that needs rows; if the table is deny-all on purpose "
                          "(service role only), accept this finding and say why.")


def rls_policy_always_true(policy: Resource) -> Iterator[Finding]:
    roles = policy.get("roles") or ["public"]
    if policy.get("permissive") is False or not known(roles) or not API_ROLES & set(roles):
        return
    command, using, check = policy.get("command", "all"), policy.get("using"), policy.get("with_check")
    if not check and command in ("update", "all"):
        check = using  # new rows are checked against USING
    problems = []
    if command in ("update", "delete", "all") and isinstance(using, str) and always_true(using):
        problems.append(f"USING ({using}) is always true")
    if command in ("insert", "update", "all") and isinstance(check, str) and always_true(check):
        problems.append(f"WITH CHECK ({check}) is always true")
    if problems:
        yield Finding(policy, f"lets {', '.join(roles)} {command.upper()} any row: {' and '.join(problems)}, which "
                              f"is the same as no row level security for these writes.",
                      "write the condition a row must meet, e.g. `user_id = (select auth.uid())`; for public read "
                      "access use a FOR SELECT policy.")


def rls_references_user_metadata(policy: Resource) -> Iterator[Finding]:
    if any(references_user_metadata(text) for text in _texts(policy)):
        yield Finding(policy, "reads the JWT's user_metadata, which every signed-in user can edit about "
                              "themselves: any user can make the policy say what they want.",
                      "decide on app_metadata (only the service role writes it) or on a table the user cannot write.")


def auth_rls_initplan(policy: Resource) -> Iterator[Finding]:
    calls = sorted({c for text in _texts(policy) for c in per_row_request_calls(text)})
    if calls:
        yield Finding(policy, f"calls {', '.join(calls)} for every row it checks, not once per query.",
                      f"wrap each call in a sub-select, e.g. `(select {calls[0]})`: PostgreSQL then evaluates it "
                      f"once (an InitPlan).")


def multiple_permissive_policies(stack: Stack) -> Iterator[Finding]:
    for key, table in stack.owned_tables():
        permissive = [p for p in stack.on_table("Policy", key)
                      if p.get("permissive") is not False and known(p.get("roles"))]
        roles = sorted({r for p in permissive for r in p.get("roles") or ["public"]} - BYPASSRLS_ROLES)
        overlaps = []
        for role in roles:
            for command in COMMANDS:
                names = sorted(str(p.get("name")) for p in permissive
                               if {role, "public"} & set(p.get("roles") or ["public"])
                               and p.get("command", "all") in (command, "all"))
                if len(names) > 1:
                    overlaps.append(f"{role} {command.upper()} ({', '.join(names)})")
        if overlaps:
            yield Finding(table, f"several permissive policies apply to the same role and command: "
                                 f"{'; '.join(overlaps)}. PostgreSQL evaluates every one of them for each row.",
                          "merge them into one policy per role and command (conditions joined with OR), or make "
                          "the extra conditions RESTRICTIVE if they must all hold.")

"""Rules on grants: what the API's anonymous role may touch."""

from collections.abc import Iterator

from .rule import Finding
from .stack import Resource, Stack, known

ANON = "anon"


def _granted_tables(stack: Stack, grant: Resource) -> list[tuple[object, Resource]]:
    """The stack's tables a Grant or DefaultPrivileges on tables reaches (none while unknown)."""
    schema, objects, privileges = grant.get("schema"), grant.get("objects"), grant.get("privileges")
    if grant.get("objectType") != "table" or not privileges or not known(schema, objects):
        return []
    tables = [(key, t) for key, t in stack.owned_tables() if t.get("schema") == schema]
    if grant.kind == "DefaultPrivileges":  # tables that owner creates later in the schema
        return [(key, t) for key, t in tables if t.get("owner") == grant.get("owner")]
    return [(key, t) for key, t in tables if not objects or t.get("name") in objects]


def anon_grants(stack: Stack) -> Iterator[Finding]:
    """anon granted anything on a table no policy lets anon into: useless under RLS at best,
    and TRUNCATE, REFERENCES and TRIGGER ignore policies altogether."""
    for_anon = {stack.table_key(p) for p in stack.of_kind("Policy")
                if known(p.get("roles")) and {ANON, "public"} & set(p.get("roles") or ["public"])}
    reaching: dict[object, tuple[Resource, list[Resource]]] = {}
    for grant in stack.of_kind("Grant") + stack.of_kind("DefaultPrivileges"):
        if grant.get("role") == ANON:
            for key, table in _granted_tables(stack, grant):
                reaching.setdefault(key, (table, []))[1].append(grant)
    for key, (table, grants) in reaching.items():
        if key not in for_anon:
            privileges = ", ".join(sorted({str(p) for g in grants for p in g.get("privileges")}))
            yield Finding(table, f"anon is granted {privileges} on it ({'; '.join(g.name for g in grants)}) but no "
                                 f"policy applies to anon.", "remove the grant (stack config pgstack:grants), or add a "
                                                             "policy TO anon that says which rows anon may use.",
                          urn=grants[0].urn)

"""The access matrix: for every table and view the stack creates, every role and every command,
what PostgreSQL will let that role do, computed from the declared resources alone.

A cell is `denied` (no privilege: the command fails), `all` rows, `none` (allowed, but row level
security lets no row through), or `rows` matching a predicate. It follows PostgreSQL's rules:

- privileges: the role's own and those of every role it inherits (memberships, followed only
  through roles with INHERIT: authenticator is NOINHERIT), plus PUBLIC's; the owner has all of
  them. A table needs USAGE on its schema (public grants it to PUBLIC). On a table a Grant lists
  for a role, that Grant's privileges count (a pulumi_postgresql Grant is authoritative for its
  objects, and runs after the table is created); otherwise the schema's default privileges for
  tables its owner creates.
- rows: no RLS, TRUNCATE (which ignores RLS), BYPASSRLS (the role's own attribute, never
  inherited: service_role) or being the owner (unless RLS is forced) give all rows. Otherwise the
  policies whose roles the role has the privileges of (or PUBLIC) apply, per command, FOR ALL to
  every command: permissive ones ORed, restrictive ones ANDed; no permissive one, no rows. SELECT
  and DELETE read USING; INSERT checks new rows with WITH CHECK; UPDATE changes the rows USING
  selects and checks the new rows with WITH CHECK (USING where a policy has no WITH CHECK).
- views: the privileges are the view's; the rows are its tables' as the caller sees them
  (security_invoker) or as the view's owner does.

Monthly partitions are left out: requests go through their partitioned table.
"""

from dataclasses import dataclass, field

from pglast import ast, parse_sql

from ..model import rights
from ..supabase import ANON, API_ROLES, AUTHENTICATED, AUTHENTICATOR, SERVICE_ROLE
from .predicates import TRUE, combine
from .record import Declared

COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
TABLE_PRIVILEGES = frozenset({*COMMANDS, "REFERENCES", "TRIGGER"})
PUBLIC = "public"
# Supabase's roles, as they exist on Supabase (the dev stack declares the same): the API's login
# is NOINHERIT and a member of the three API roles; only service_role bypasses RLS.
SUPABASE_ROLES = {ANON: {}, AUTHENTICATED: {}, SERVICE_ROLE: {"bypassRowLevelSecurity": True},
                  AUTHENTICATOR: {"login": True, "inherit": False}}
SUPABASE_MEMBERSHIPS = {(AUTHENTICATOR, role) for role in API_ROLES}
# Schemas whose USAGE every role has (PostgreSQL 15+ and Supabase keep it for public).
PUBLIC_SCHEMAS = frozenset({"public"})


@dataclass(frozen=True)
class Cell:
    access: str  # denied | all | none | rows | tables (a security_invoker view: as its tables allow)
    rows: str | None = None  # the rows the command reads or changes (USING); TRUE for all
    new_rows: str | None = None  # what new rows must meet (WITH CHECK): INSERT, UPDATE

    @classmethod
    def denied(cls) -> "Cell":
        return cls("denied")


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    kind: str  # table | view
    owner: str | None
    rls_enabled: bool = False
    rls_forced: bool = False
    security_invoker: bool = False

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class AccessMatrix:
    stack: str
    roles: tuple[str, ...]
    relations: tuple[Relation, ...]
    cells: dict[tuple[str, str, str], Cell]  # (schema.name, role, command) -> cell

    def cell(self, relation: str, role: str, command: str) -> Cell:
        return self.cells.get((relation, role, command), Cell.denied())


@dataclass
class _Declared:
    """What the matrix reads from the declared resources, by kind."""

    roles: dict[str, dict] = field(default_factory=dict)
    memberships: set[tuple[str, str]] = field(default_factory=set)  # (member, group)
    schema_usage: set[tuple[str, str]] = field(default_factory=set)  # (schema, role)
    grants: list[dict] = field(default_factory=list)  # Grant inputs on tables
    defaults: list[dict] = field(default_factory=list)  # DefaultPrivileges inputs on tables
    relations: list[Relation] = field(default_factory=list)
    policies: list[dict] = field(default_factory=list)


def _security_invoker(definition: str) -> bool:
    view = parse_sql(definition)[0].stmt
    return isinstance(view, ast.ViewStmt) and rights.security_invoker(view) is True


def _read(declared: list[Declared]) -> _Declared:
    found = _Declared(roles={name: dict(attrs) for name, attrs in SUPABASE_ROLES.items()},
                      memberships=set(SUPABASE_MEMBERSHIPS))
    for resource in declared:
        kind, inputs = resource.type.rsplit(":", 1)[-1], resource.inputs
        if kind == "Role" and resource.type.startswith("postgresql:"):
            found.roles[inputs["name"]] = inputs
        elif kind == "GrantRole":
            found.memberships.add((inputs["role"], inputs["grantRole"]))
        elif kind == "Schema" and resource.type.startswith("postgresql:") and inputs.get("owner"):
            found.schema_usage.add((inputs["name"], inputs["owner"]))
        elif kind == "Grant" and inputs.get("objectType") == "schema" and "USAGE" in inputs.get("privileges", []):
            found.schema_usage.add((inputs["schema"], inputs["role"]))
        elif kind == "Grant" and inputs.get("objectType") == "table":
            found.grants.append(inputs)
        elif kind == "DefaultPrivileges" and inputs.get("objectType") == "table":
            found.defaults.append(inputs)
        elif kind == "Table" and resource.type.startswith("pulumi-python:") and inputs.get("managed") == "table":
            found.relations.append(Relation(inputs["schema"], inputs["name"], "table", inputs.get("owner"),
                                            bool(inputs.get("rls_enabled")), bool(inputs.get("rls_forced"))))
        elif kind == "View" and resource.type.startswith("pulumi-python:"):
            found.relations.append(Relation(inputs["schema"], inputs["name"], "view", inputs.get("owner"),
                                            security_invoker=_security_invoker(inputs["definition"])))
        elif kind == "Policy" and resource.type.startswith("pulumi-python:"):
            found.policies.append(inputs)
    return found


def _privileges(privileges: list[str]) -> set[str]:
    upper = {p.upper() for p in privileges}
    return set(TABLE_PRIVILEGES) if "ALL" in upper else upper


class _Access:
    def __init__(self, found: _Declared):
        self.found = found

    def inherited(self, role: str) -> set[str]:
        """The role, every role whose privileges it has, and PUBLIC."""
        result, todo = {role}, [role]
        while todo:
            member = todo.pop()
            if self.found.roles.get(member, {}).get("inherit", True) is False:
                continue  # NOINHERIT: uses its groups' rights only after SET ROLE
            for m, group in self.found.memberships:
                if m == member and group not in result:
                    result.add(group)
                    todo.append(group)
        return result | {PUBLIC}

    def table_privileges(self, role: str, relation: Relation) -> set[str]:
        listed = [g for g in self.found.grants if g["role"] == role and g["schema"] == relation.schema
                  and (not g.get("objects") or relation.name in g["objects"])]
        if listed:
            return set().union(*(_privileges(g["privileges"]) for g in listed))
        return set().union(*(_privileges(d["privileges"]) for d in self.found.defaults
                             if d["role"] == role and d["schema"] == relation.schema
                             and d.get("owner") == relation.owner))

    def allowed(self, roles: set[str], relation: Relation, command: str) -> bool:
        if relation.owner in roles:
            return True
        usage = relation.schema in PUBLIC_SCHEMAS or any((relation.schema, r) in self.found.schema_usage for r in roles)
        return usage and any(command in self.table_privileges(r, relation) for r in roles)

    def rows(self, role: str, roles: set[str], relation: Relation, command: str) -> Cell:
        bypass = self.found.roles.get(role, {}).get("bypassRowLevelSecurity") is True
        owner = relation.owner in roles
        if relation.kind == "view":
            return Cell("tables") if relation.security_invoker else Cell("all")
        if not relation.rls_enabled or command == "TRUNCATE" or bypass or (owner and not relation.rls_forced):
            return Cell("all")
        applying = sorted((p for p in self.found.policies if p["schema"] == relation.schema
                           and p["table"] == relation.name and p.get("command", "all") in (command.lower(), "all")
                           and roles & set(p.get("roles") or [PUBLIC])), key=lambda p: p["name"])
        permissive = [p for p in applying if p.get("permissive", True)]
        restrictive = [p for p in applying if not p.get("permissive", True)]

        def check(p: dict) -> str | None:  # what new rows must meet; USING where WITH CHECK is absent
            return p.get("with_check") or (p.get("using") if p.get("command", "all") in ("all", "update") else None)

        using = combine([p.get("using") for p in permissive], [p.get("using") for p in restrictive])
        new_rows = combine([check(p) for p in permissive], [check(p) for p in restrictive])
        if command == "INSERT":
            using, new_rows = new_rows, None
        elif command != "UPDATE":
            new_rows = None
        if using is None:
            return Cell("none")
        if using == TRUE and new_rows in (None, TRUE):
            return Cell("all")
        return Cell("rows", rows=using, new_rows=None if new_rows == using else new_rows)

    def cell(self, role: str, relation: Relation, command: str) -> Cell:
        roles = self.inherited(role)
        if relation.kind == "view" and command == "TRUNCATE":
            return Cell.denied()
        if not self.allowed(roles, relation, command):
            return Cell.denied()
        return self.rows(role, roles, relation, command)


def matrix_roles(found: _Declared, owner: str | None) -> tuple[str, ...]:
    """Supabase's roles first, then the stack's own (not the owner, whom no one logs in as)."""
    configured = [name for name in found.roles if name not in SUPABASE_ROLES and name != owner]
    return (ANON, AUTHENTICATED, SERVICE_ROLE, AUTHENTICATOR, *configured)


def access_matrix(stack: str, declared: list[Declared]) -> AccessMatrix:
    found = _read(declared)
    relations = tuple(sorted(found.relations, key=lambda r: (r.schema, r.name)))
    owner = next((r.owner for r in relations if r.owner), None)
    roles = matrix_roles(found, owner)
    access = _Access(found)
    cells = {(relation.qualified, role, command): access.cell(role, relation, command)
             for relation in relations for role in roles for command in COMMANDS}
    return AccessMatrix(stack, roles, relations, cells)

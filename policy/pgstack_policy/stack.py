"""The resources a rule reads, as the engine hands them to the policy pack.

Dynamic resources (tables, indexes, policies, ...) carry the inputs components/model/objects.py
defines, under those names; pulumi_postgresql resources carry camelCase wire names (objectType,
bypassRowLevelSecurity). During a preview some values are not known yet (the name of a schema
or table being created): reading one through pulumi_policy's proxy raises. `plain` copies the
props once, with such values as UNKNOWN, so a rule skips what it cannot know yet; the engine
runs the policies again before each resource is changed, when the values are known.

Policies, indexes and triggers are tied to their table through the engine's property
dependencies (their `table` input is the table resource's output), which hold even while the
table's name is unknown; by name only when a resource comes without them.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy.proxy import UnknownValueError

DYNAMIC_PREFIX = "pulumi-python:dynamic/pgstack:"
POSTGRESQL_PREFIX = "postgresql:index/"
# Roles with BYPASSRLS: Supabase's service_role (the program creates it the same way on plain
# PostgreSQL). Policies never apply to them.
BYPASSRLS_ROLES = frozenset({"service_role"})


class Unknown:
    """A value the engine does not know yet (during a preview)."""

    def __repr__(self) -> str:
        return "<unknown until applied>"


UNKNOWN = Unknown()


def known(*values: Any) -> bool:
    return not any(isinstance(v, Unknown) for v in values)


def plain(value: Any) -> Any:
    """Props (pulumi_policy's unknown-checking proxies) as dicts and lists, unknowns as UNKNOWN."""
    if isinstance(value, Mapping):
        result = {}
        for key in value:
            try:
                result[key] = plain(value[key])
            except UnknownValueError:
                result[key] = UNKNOWN
        return result
    if isinstance(value, Sequence) and not isinstance(value, str):
        items = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def kind_of(resource_type: str) -> str | None:
    """Table, Index, Policy, ... for this project's dynamic resources; Grant, Role, ... for
    pulumi_postgresql's; None for anything else."""
    if resource_type.startswith((DYNAMIC_PREFIX, POSTGRESQL_PREFIX)):
        return resource_type.rsplit(":", 1)[1]
    return None


@dataclass
class Resource:
    kind: str | None
    urn: str
    name: str
    props: dict
    dependencies: dict[str, list[str]] = field(default_factory=dict)  # property -> urns it depends on

    def get(self, key: str, default: Any = None) -> Any:
        return self.props.get(key, default)

    @property
    def source(self) -> str:
        source = self.get("source")
        return source if isinstance(source, str) else "unknown source"

    @property
    def accepted(self) -> dict:
        accepted = self.get("accepted")
        return accepted if isinstance(accepted, dict) else {}

    @property
    def owned_table(self) -> bool:
        """A table a module creates (not one it only adds columns to)."""
        return self.kind == "Table" and self.get("managed") == "table"

    def label(self) -> str:
        """How a finding names the object: `table growth.seo_audits`, `policy p on growth.t`."""
        schema, name = self.get("schema"), self.get("name")
        qualified = f"{schema}.{name}" if known(schema) and schema else str(name)
        if self.kind == "Policy" or self.kind == "Index":
            table = self.get("table")
            on = f"{schema}.{table}" if known(schema, table) else "its table"
            return f"{self.kind.lower()} {name} on {on}"
        if self.kind == "Function":
            return f"function {qualified}({self.get('arguments', '')})"
        return f"{(self.kind or 'resource').lower()} {qualified}"


def resource(resource_type: str, props: Mapping[str, Any], urn: str, name: str,
             property_dependencies: Mapping[str, Sequence[Any]] | None = None) -> Resource:
    dependencies = {key: [getattr(d, "urn", d) for d in deps] for key, deps in (property_dependencies or {}).items()}
    return Resource(kind_of(resource_type), urn, name, plain(props), dependencies)


class Stack:
    """Every resource of the stack, with each table's policies, indexes and definitions."""

    def __init__(self, resources: Iterable[Resource]):
        self.resources = list(resources)
        self._by_urn = {r.urn: r for r in self.resources}
        # A table may be declared by two modules (one creates it, one adds columns): one key.
        self.tables: dict[object, list[Resource]] = {}
        for table in self.of_kind("Table"):
            self.tables.setdefault(self.key_of(table), []).append(table)

    def of_kind(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.kind == kind]

    @staticmethod
    def key_of(table: Resource) -> object:
        schema, name = table.get("schema"), table.get("name")
        return (schema, name) if known(schema, name) else table.urn

    def table_key(self, resource: Resource) -> object | None:
        """The key of the table a policy, index or trigger is on (None: cannot be told yet)."""
        for urn in resource.dependencies.get("table", []):
            target = self._by_urn.get(urn)
            if target is not None and target.kind == "Table":
                return self.key_of(target)
        schema, table = resource.get("schema"), resource.get("table")
        return (schema, table) if known(schema, table) else None

    def owned_tables(self) -> list[tuple[object, Resource]]:
        """Each table the stack creates, with its key."""
        return [(key, t) for key, group in self.tables.items() for t in group if t.owned_table]

    def on_table(self, kind: str, key: object) -> list[Resource]:
        return [r for r in self.of_kind(kind) if self.table_key(r) == key]

    def constraints(self, key: object) -> list[dict]:
        """The constraints every module declares on the table."""
        return [c for t in self.tables.get(key, []) if isinstance(t.get("constraints"), list)
                for c in t.get("constraints") if isinstance(c, dict)]

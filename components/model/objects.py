"""The schema objects a module declares, as plain data.

Each object's `inputs()` is exactly what its Pulumi resource receives: structured (so
`pulumi preview --diff` shows "column consent_at added", not a changed blob), made of strings,
booleans, lists and dicts only (Pulumi turns numbers into floats and drops None values), and
carrying `source`, the file and line it came from.
"""

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from graphlib import TopologicalSorter


def _clean(value):
    """Drop None values and empty optional lists, recursively, the way Pulumi stores inputs."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


class Ownership(StrEnum):
    """Whether a module creates a table or only adds columns to one that exists outside the
    stack (declared under `external_tables`, e.g. the site's `leads`). Stored in state as the
    `managed` input, with these values."""

    OWNED = "table"  # created by the module: its columns, constraints, comment, RLS and owner
    EXTENDED = "columns"  # exists already: only the columns and constraints the module adds


def extends_only(table: dict) -> bool:
    """Whether a table's inputs (or outputs) describe a table the module only adds columns to."""
    return table.get("managed") == Ownership.EXTENDED


@dataclass
class Column:
    name: str
    type: str
    not_null: bool = False
    default: str | None = None
    identity: str | None = None  # "always" or "by default"
    comment: str | None = None
    renamed_from: str | None = None  # `-- pgstack: renamed from <old>`: renamed, not dropped and added


@dataclass
class Reference:
    schema: str
    table: str
    columns: list[str]


@dataclass
class Constraint:
    name: str
    kind: str  # primary_key | unique | check | foreign_key
    columns: list[str] = field(default_factory=list)
    expression: str | None = None  # check
    references: Reference | None = None  # foreign_key
    on_delete: str | None = None  # foreign_key: cascade | set null | set default | restrict
    on_update: str | None = None


@dataclass
class Table:
    schema: str
    name: str
    source: str
    managed: Ownership = Ownership.OWNED
    columns: list[Column] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    comment: str | None = None
    rls_enabled: bool = False
    rls_forced: bool = False
    # PARTITION BY clause as pg_get_partkeydef() spells it ("RANGE (occurred_at)"); None for a
    # plain table. partition_key holds its column names for the program (not an input).
    partition_by: str | None = None
    partition_key: list[str] = field(default_factory=list)
    renamed_from: str | None = None  # `-- pgstack: renamed from <old>` above CREATE TABLE
    # (schema, name) of the enum types its columns use, for the program's dependencies (not an input).
    enum_types: list[tuple[str, str]] = field(default_factory=list)
    # Advisory findings of the policy pack accepted in the SQL file: {rule: reason}
    # (model/annotations.py). The same on indexes, policies, functions and views.
    accepted: dict[str, str] | None = None
    # Hazards approved in the SQL file for this object's changes: {hazard: reason}
    approved: dict[str, str] | None = None

    @property
    def owned(self) -> bool:
        return self.managed == Ownership.OWNED

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def primary_key(self) -> list[str] | None:
        return next((c.columns for c in self.constraints if c.kind == "primary_key"), None)

    def inputs(self) -> dict:
        data = asdict(self)
        data.pop("partition_key")
        data.pop("enum_types")
        data["managed"] = str(self.managed)
        if not self.owned:
            # The module does not own the table: its comment and RLS flags are left alone.
            for key in ("comment", "rls_enabled", "rls_forced"):
                data.pop(key)
        return _clean(data)


@dataclass
class Enum:
    """CREATE TYPE ... AS ENUM: its values in their order (which is the type's sort order)."""

    schema: str
    name: str
    source: str
    values: list[str] = field(default_factory=list)

    def inputs(self) -> dict:
        return _clean(asdict(self))


@dataclass
class IndexElement:
    column: str | None = None
    expression: str | None = None
    opclass: str | None = None
    order: str | None = None  # ASC | DESC
    nulls: str | None = None  # FIRST | LAST


@dataclass
class Index:
    schema: str
    name: str
    table: str
    source: str
    elements: list[IndexElement]
    unique: bool = False
    method: str = "btree"
    include: list[str] = field(default_factory=list)
    where: str | None = None
    with_params: list[str] = field(default_factory=list)  # "lists=100"
    # True on a partitioned table of the module: PostgreSQL cannot build such an index
    # CONCURRENTLY. None (left out of the inputs) otherwise.
    partitioned: bool | None = None
    accepted: dict[str, str] | None = None
    # Hazards approved in the SQL file for this object's changes: {hazard: reason}
    approved: dict[str, str] | None = None

    def inputs(self) -> dict:
        return _clean(asdict(self))


@dataclass
class Policy:
    schema: str
    table: str
    name: str
    source: str
    command: str = "all"  # all | select | insert | update | delete
    permissive: bool = True
    roles: list[str] = field(default_factory=lambda: ["public"])
    using: str | None = None
    with_check: str | None = None
    accepted: dict[str, str] | None = None
    # Hazards approved in the SQL file for this object's changes: {hazard: reason}
    approved: dict[str, str] | None = None

    def inputs(self) -> dict:
        return _clean(asdict(self))


@dataclass
class Function:
    schema: str
    name: str
    source: str
    arguments: str  # identity signature, e.g. "integer, text"
    returns: str
    definition: str  # canonical CREATE OR REPLACE FUNCTION, schema-qualified
    accepted: dict[str, str] | None = None
    # Hazards approved in the SQL file for this object's changes: {hazard: reason}
    approved: dict[str, str] | None = None

    def inputs(self) -> dict:
        return _clean(asdict(self))


@dataclass
class Trigger:
    schema: str
    table: str
    name: str
    source: str
    function: str  # schema-qualified function name
    definition: str  # canonical CREATE OR REPLACE TRIGGER
    approved: dict[str, str] | None = None  # hazards approved in the SQL file

    def inputs(self) -> dict:
        return _clean(asdict(self))


@dataclass
class View:
    schema: str
    name: str
    source: str
    definition: str  # canonical CREATE OR REPLACE VIEW, WITH (security_invoker = true) unless accepted
    # The stack's tables and views it reads, (schema, name), this module's or an earlier one's:
    # the view resource waits for them.
    reads: list[tuple[str, str]] = field(default_factory=list)
    accepted: dict[str, str] | None = None
    approved: dict[str, str] | None = None  # hazards approved in the SQL file

    def inputs(self) -> dict:
        data = _clean(asdict(self))
        data.pop("reads")
        return data


@dataclass
class Extension:
    name: str
    source: str
    schema: str | None = None


@dataclass
class Schema:
    name: str
    source: str


@dataclass
class Module:
    """Everything one sql/<module>/ folder declares, in file order."""

    name: str
    schema: str
    schemas: list[Schema] = field(default_factory=list)
    extensions: list[Extension] = field(default_factory=list)
    enums: list[Enum] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)
    triggers: list[Trigger] = field(default_factory=list)
    views: list[View] = field(default_factory=list)

    _by_name: dict[str, Table] = field(default_factory=dict, repr=False, compare=False)

    def add_table(self, table: Table) -> None:
        self.tables.append(table)
        self._by_name[table.name] = table

    def table(self, name: str) -> Table | None:
        return self._by_name.get(name)

    def declared_table(self, name: str) -> Table:
        """A table the caller knows the module declares (checked earlier); KeyError otherwise."""
        return self._by_name[name]

    def tables_in_dependency_order(self) -> list[Table]:
        """The module's tables, each after the tables of the module its foreign keys reference
        (the parser has rejected cycles), otherwise in file order."""
        graph = {t.name: [c.references.table for c in t.constraints if c.references is not None
                          and c.references.schema == t.schema and c.references.table != t.name
                          and c.references.table in self._by_name]
                 for t in self.tables}
        return [self._by_name[name] for name in TopologicalSorter(graph).static_order()]

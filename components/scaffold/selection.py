"""What the scaffold writes, into which file, and what it leaves out and why.

From the catalog of one schema: the tables asked for (every table of the schema when none is
named), their columns, constraints, indexes, RLS flags, policies and triggers; the enum types
their columns use (every enum of the schema when no table is named); the functions their
triggers, defaults, checks, indexes and policies use (every function of the schema when no
table is named); the views that read them. Files come in this order: the enum types, the tables
in foreign-key order (a table after the tables it references), the schema's other functions,
then the views.

Whatever the model cannot express is never dropped in silence: it becomes an Omission (the
object and the reason), which the command prints on stderr and writes into the file it
concerns.
"""

import heapq
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from graphlib import CycleError, TopologicalSorter

from .. import PgstackError
from ..model.rights import SECURITY_INVOKER
from . import statements
from .catalog import Catalog, ColumnRow, ConstraintRow, EnumRow, FunctionRow, PolicyRow, RelationRow, TriggerRow

TABLE_KINDS = ("r", "p")
# Roles every target has (components/model/parser.py); any other must be in stack config.
BUILTIN_ROLES = {"public", "anon", "authenticated", "service_role"}
RELATION_KINDS = {"m": "materialized view", "f": "foreign table", "S": "sequence"}
FUNCTION_KINDS = {"p": "procedure", "a": "aggregate", "w": "window function"}


class ScaffoldError(PgstackError):
    """A request the scaffold cannot carry out (a bad argument, an unknown table or schema, no
    connection): nothing is written."""


@dataclass(frozen=True)
class Omission:
    """Something in the catalog the scaffolded files do not say, and why."""

    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.what}: {self.reason}"


@dataclass(frozen=True)
class DeclaredFunction:
    oid: int
    statement: str  # CREATE FUNCTION ...


@dataclass
class TypesFile:
    enums: list[EnumRow]
    extensions: list[str] = field(default_factory=list)
    omissions: list[Omission] = field(default_factory=list)
    title: str = "types"


@dataclass
class TableFile:
    relation: RelationRow
    columns: list[ColumnRow]
    constraints: list[ConstraintRow]
    indexes: list[str] = field(default_factory=list)  # CREATE INDEX ...
    policies: list[PolicyRow] = field(default_factory=list)
    functions: list[DeclaredFunction] = field(default_factory=list)  # trigger functions, before the triggers
    triggers: list[str] = field(default_factory=list)  # CREATE TRIGGER ...
    extensions: list[str] = field(default_factory=list)
    omissions: list[Omission] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.relation.name


@dataclass
class FunctionsFile:
    functions: list[DeclaredFunction]
    extensions: list[str] = field(default_factory=list)
    omissions: list[Omission] = field(default_factory=list)
    title: str = "functions"


@dataclass
class ViewFile:
    relation: RelationRow
    extensions: list[str] = field(default_factory=list)
    omissions: list[Omission] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.relation.name


ScaffoldFile = TypesFile | TableFile | FunctionsFile | ViewFile


@dataclass
class Scaffold:
    schema: str
    files: list[ScaffoldFile]
    omissions: list[Omission]
    notes: list[str]
    # Tables the files refer to but do not declare (foreign keys): for the module's config.
    references: set[tuple[str, str]]
    roles: set[str]  # every role a policy names


FK_ACTIONS = {"a": None, "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}
POLICY_COMMANDS = {"r": "select", "a": "insert", "w": "update", "d": "delete", "*": "all"}


def _qualified(schema: str, name: str) -> str:
    return f"{schema}.{name}"


def _constraint_problem(con: ConstraintRow) -> str | None:
    """Why the model cannot declare a constraint at all, if it cannot."""
    problems = (
        (con.kind == "x", "exclusion constraints are not supported"),
        (con.deferrable, "DEFERRABLE constraints are not supported"),
        (not con.validated, "NOT VALID: validate it (ALTER TABLE ... VALIDATE CONSTRAINT) and scaffold again"),
        (con.kind == "c" and con.no_inherit, "NO INHERIT constraints are not supported"),
        (not con.enforced, "NOT ENFORCED constraints are not supported"),
        (con.period, "WITHOUT OVERLAPS / PERIOD constraints are not supported"),
        (con.kind == "f" and con.match_type != "s", "MATCH FULL / MATCH PARTIAL foreign keys are not supported"),
        (con.delete_set_columns, "ON DELETE SET NULL / SET DEFAULT with a column list is not supported"),
        (con.index_nulls_not_distinct, "UNIQUE NULLS NOT DISTINCT is not supported"),
    )
    return next((message for failed, message in problems if failed), None)


class Selector:
    def __init__(self, catalog: Catalog, requested: list[str] | None):
        self.catalog = catalog
        self.schema = catalog.schema
        self.whole_schema = requested is None
        self.by_oid = {r.oid: r for r in catalog.relations}
        self.omissions: list[Omission] = []
        self.notes: list[str] = []
        self.references: set[tuple[str, str]] = set()
        self.roles: set[str] = set()
        self.functions = {f.oid: f for f in catalog.functions}
        self.enums = {e.oid: e for e in catalog.enums}
        self.placed_functions: set[int] = set()
        self.cycle_breaks: set[tuple[int, str]] = set()  # (table oid, foreign key) left out
        self.tables = [t for t in self._tables(requested) if self._included(t)]
        self.views = self._views()

    # --- which tables -------------------------------------------------------------------------

    def _tables(self, requested: list[str] | None) -> list[RelationRow]:
        by_name = {r.name: r for r in self.catalog.relations}
        if requested is None:
            return [r for r in self.catalog.relations if r.kind in TABLE_KINDS and not r.is_partition]
        chosen: list[RelationRow] = []
        for name in requested:
            relation = by_name.get(name)
            if relation is None or relation.kind not in TABLE_KINDS:
                tables = ", ".join(r.name for r in self.catalog.relations if r.kind in TABLE_KINDS) or "none"
                what = "no such table" if relation is None else f"it is a {RELATION_KINDS.get(relation.kind, 'view')}"
                raise ScaffoldError(f"--tables: {self.schema}.{name}: {what} (tables of {self.schema}: {tables})")
            if relation.is_partition:
                raise ScaffoldError(f"--tables: {self.schema}.{name} is a partition of {relation.parents[0]}: name "
                                    f"the partitioned table; its partitions come from stack config")
            if relation.oid not in {c.oid for c in chosen}:
                chosen.append(relation)
        return chosen

    def omit(self, what: str, reason: str, into: list[Omission] | None = None) -> None:
        omission = Omission(what, reason)
        self.omissions.append(omission)
        if into is not None:
            into.append(omission)

    # --- the whole result ---------------------------------------------------------------------

    def select(self) -> Scaffold:
        files: list[ScaffoldFile] = [self._table_file(t) for t in self._fk_order()]
        types = self._types_file()
        if types is not None:
            files.insert(0, types)
        leftover = self._other_functions()
        if leftover is not None:
            files.append(leftover)
        files.extend(self._view_files())
        self._place_extensions(files)
        if self.whole_schema:
            self._schema_leftovers()
        self._function_order_notes()
        notes = list(dict.fromkeys(self.notes))
        return Scaffold(self.schema, files, self.omissions, notes, self.references, self.roles)

    # --- tables -------------------------------------------------------------------------------

    def _included(self, table: RelationRow) -> bool:
        what = f"table {_qualified(self.schema, table.name)}"
        if table.parents:
            self.omit(what, f"it inherits from {', '.join(table.parents)}: table inheritance is not supported "
                            f"(declare a partitioned table, or a plain table)")
        elif table.typed:
            self.omit(what, "typed tables (CREATE TABLE ... OF type) are not supported")
        else:
            return True
        return False

    def _fk_order(self) -> list[RelationRow]:
        """The tables, each after the tables it references; among those ready, the oldest first
        (the order they were created in). A foreign key that closes a cycle is left out."""
        oids = {t.oid for t in self.tables}
        by_name = {t.name: t for t in self.tables}
        graph: dict[int, set[int]] = {t.oid: set() for t in self.tables}
        for con in self.catalog.constraints:
            if con.kind == "f" and con.table_oid in oids and con.ref_schema == self.schema \
                    and con.ref_table in by_name and by_name[con.ref_table].oid != con.table_oid:
                graph[con.table_oid].add(by_name[con.ref_table].oid)
        order: list[RelationRow] = []
        while True:
            sorter = TopologicalSorter(graph)
            try:
                sorter.prepare()
            except CycleError as exc:  # break the cycle at one foreign key
                cycle = exc.args[1]
                table_oid, target_oid = cycle[1], cycle[0]
                graph[table_oid].discard(target_oid)
                target = self.by_oid[target_oid].name
                self.cycle_breaks.update((table_oid, c.name) for c in self.catalog.constraints
                                         if c.kind == "f" and c.table_oid == table_oid and c.ref_table == target
                                         and c.ref_schema == self.schema)
                continue
            ready: list[int] = []
            while sorter.is_active():
                for oid in sorter.get_ready():
                    heapq.heappush(ready, oid)
                oid = heapq.heappop(ready)
                order.append(self.by_oid[oid])
                sorter.done(oid)
            return order

    def _table_file(self, table: RelationRow) -> TableFile:
        result = TableFile(relation=table, columns=[], constraints=[])
        name = _qualified(self.schema, table.name)
        if table.persistence == "u":
            self.omit(f"table {name}", "UNLOGGED is not supported: the file declares a logged table", result.omissions)
        if table.options:
            self.omit(f"table {name}", f"storage parameters WITH ({', '.join(table.options)}) are not supported",
                      result.omissions)
        if table.tablespace:
            self.omit(f"table {name}", f"TABLESPACE {table.tablespace} is not supported", result.omissions)
        if table.replica_identity != "d":
            self.omit(f"table {name}", "REPLICA IDENTITY is not supported", result.omissions)
        result.columns = [self._column(table, c, result.omissions) for c in self.catalog.columns
                          if c.table_oid == table.oid]
        result.constraints = [c for c in self.catalog.constraints
                              if c.table_oid == table.oid and self._constraint(table, c, result.omissions)]
        result.indexes = self._indexes(table, result.omissions)
        result.policies = self._policies(table, result.omissions)
        result.functions, result.triggers = self._triggers(table, result.omissions)
        self._rules_and_statistics(table, result.omissions)
        if table.kind == "p":
            self._partitions(table, result.omissions)
        return result

    def _column(self, table: RelationRow, column: ColumnRow, into: list[Omission]) -> ColumnRow:
        what = f"column {_qualified(self.schema, table.name)}.{column.name}"
        if column.generated is not None:
            self.omit(what, f"generated columns (GENERATED ALWAYS AS ({column.generated})) are not supported: "
                            f"the file declares a plain column", into)
        if column.default_sequence is not None:
            self.omit(what, f"DEFAULT {column.default} reads sequence {column.default_sequence} (a serial column), "
                            f"and the model has no sequences: declare the column GENERATED BY DEFAULT AS "
                            f"IDENTITY instead (after converting the live column); the file declares no default",
                      into)
            column = replace(column, default=None)
        if column.identity and column.identity_default_options is False:
            self.omit(what, "identity sequence options (START, INCREMENT, MINVALUE, MAXVALUE, CACHE, CYCLE) are "
                            "not supported: the file declares the identity with default options", into)
        if column.collation is not None:
            self.omit(what, f"COLLATE {column.collation} is not supported: the file uses the type's collation", into)
        if column.options:
            self.omit(what, f"column options ({', '.join(column.options)}) are not supported", into)
        if column.custom_storage:
            self.omit(what, "SET STORAGE / SET COMPRESSION are not supported", into)
        if column.user_type_kind == "e" and column.user_type_oid in self.enums:
            pass  # an enum of the schema: the types file declares it
        elif column.user_type_kind == "e":
            self.notes.append(f"{what} uses enum type {column.user_type}, which is not in schema {self.schema}: "
                              f"declare it in a module listed before this one")
        elif column.user_type is not None:
            kind = {"d": "a domain", "c": "a composite type", "r": "a range type"}.get(
                column.user_type_kind or "", "a user-defined type")
            self.omit(what, f"its type {column.user_type} is {kind}, which the model cannot declare: the file "
                            f"uses the type, which must exist before `up` (or use text with a CHECK)", into)
        return column

    def _constraint(self, table: RelationRow, con: ConstraintRow, into: list[Omission]) -> bool:
        """Whether the file declares the constraint; anything it cannot declare is listed."""
        what = f"constraint {con.name} on {_qualified(self.schema, table.name)}"
        problem = _constraint_problem(con)
        if problem is None and (table.oid, con.name) in self.cycle_breaks:
            problem = "foreign keys form a cycle, which the model cannot order: this one is left out"
        if problem:
            self.omit(what, f"{problem} ({con.definition})", into)
            return False
        if con.index_include or con.index_options or con.index_tablespace:
            self.omit(what, "INCLUDE, WITH (...) and USING INDEX TABLESPACE on its index are not supported: "
                            "the file declares the constraint without them", into)
        if con.comment is not None:
            self.omit(what, "comments on constraints are not supported", into)
        if con.kind == "f":
            self._reference(table, con)
        return True

    def _reference(self, table: RelationRow, con: ConstraintRow) -> None:
        target = (con.ref_schema or self.schema, con.ref_table or "")
        if target[0] == self.schema and target[1] in {t.name for t in self.tables}:
            return
        self.references.add(target)
        self.notes.append(
            f"{_qualified(self.schema, table.name)} references {_qualified(*target)} (constraint {con.name}), "
            f"which is not scaffolded: declare it in a module listed before this one, or list it under the "
            f"module's external_tables")

    def _indexes(self, table: RelationRow, into: list[Omission]) -> list[str]:
        indexes = []
        for row in (i for i in self.catalog.indexes if i.table_oid == table.oid):
            what = f"index {_qualified(self.schema, row.name)}"
            if not row.valid:
                self.omit(what, f"INVALID (a failed CREATE INDEX CONCURRENTLY): drop or rebuild it ({row.definition})",
                          into)
                continue
            statement, problems = statements.index(row.definition, self.schema)
            if problems:
                self.omit(what, f"{'; '.join(problems)} ({row.definition})", into)
                continue
            if row.tablespace:
                self.omit(what, f"TABLESPACE {row.tablespace} is not supported", into)
            if row.comment is not None:
                self.omit(what, "comments on indexes are not supported", into)
            indexes.append(statement)
        return indexes

    def _policies(self, table: RelationRow, into: list[Omission]) -> list[PolicyRow]:
        policies = [p for p in self.catalog.policies if p.table_oid == table.oid]
        for policy in policies:
            self.roles.update(policy.roles)
            for role in policy.roles:
                if role not in BUILTIN_ROLES:
                    self.notes.append(f"policy {policy.name} on {_qualified(self.schema, table.name)} names role "
                                      f"{role}: declare it under pgstack:roles")
            if policy.comment is not None:
                self.omit(f"policy {policy.name} on {_qualified(self.schema, table.name)}",
                          "comments on policies are not supported", into)
        return policies

    def _triggers(self, relation: RelationRow, into: list[Omission]
                  ) -> tuple[list[DeclaredFunction], list[str]]:
        functions, triggers = [], []
        for row in (t for t in self.catalog.triggers if t.table_oid == relation.oid):
            what = f"trigger {row.name} on {_qualified(self.schema, relation.name)}"
            problem = self._trigger_problem(relation, row)
            if problem:
                self.omit(what, f"{problem} ({row.definition})", into)
                continue
            if row.comment is not None:
                self.omit(what, "comments on triggers are not supported", into)
            if row.function_schema == self.schema and row.function_oid not in self.placed_functions:
                function = self._function(self.functions[row.function_oid], into)
                if function is None:
                    continue
                functions.append(function)
            triggers.append(statements.trigger(row.definition, self.schema))
        return functions, triggers

    def _trigger_problem(self, relation: RelationRow, row: TriggerRow) -> str | None:
        if relation.kind not in TABLE_KINDS:
            return "triggers on views are not supported"
        if row.is_constraint:
            return "constraint triggers are not supported"
        if row.enabled != "O":
            state = {"D": "disabled", "R": "ENABLE REPLICA", "A": "ENABLE ALWAYS"}.get(row.enabled, row.enabled)
            return f"the trigger is {state}; the model declares triggers that fire normally"
        return None

    def _rules_and_statistics(self, relation: RelationRow, into: list[Omission]) -> None:
        for row in self.catalog.rules:
            if row.table_oid == relation.oid:
                self.omit(f"{row.kind} {row.name} on {_qualified(self.schema, relation.name)}",
                          f"{row.kind} are not supported" if row.kind.endswith("statistics")
                          else "rules are not supported (use a trigger)", into)

    def _partitions(self, table: RelationRow, into: list[Omission]) -> None:
        parent = _qualified(self.schema, table.name)
        partitions = sorted(r.name for r in self.catalog.relations if r.is_partition and r.parents
                            and r.parents[0] in (table.name, parent))
        if not partitions:
            return
        months = sorted(m.group(1) + "-" + m.group(2) for name in partitions
                        if (m := re.fullmatch(rf"{re.escape(table.name)}_(\d{{4}})_(\d{{2}})", name)))
        hint = (f": for these monthly ones, modules[i].partitions: {{{table.name}: {{interval: month, "
                f"start: \"{months[0]}\"}}}}" if len(months) == len(partitions) else "")
        for name in partitions:
            self.omit(f"partition {_qualified(self.schema, name)}",
                      f"partitions come from stack config (modules[i].partitions), not from files{hint}", into)

    # --- enum types ---------------------------------------------------------------------------

    def _types_file(self) -> TypesFile | None:
        """The schema's enums the scaffolded tables and views use (all of them for a whole
        schema), in name order."""
        relations = {t.oid for t in self.tables} | {v.oid for v in self.views}
        used = {c.user_type_oid for c in self.catalog.columns if c.table_oid in relations}
        result = TypesFile(enums=[e for e in self.catalog.enums if self.whole_schema or e.oid in used])
        for enum in result.enums:
            if enum.comment is not None:
                self.omit(f"enum type {_qualified(self.schema, enum.name)}", "comments on types are not supported",
                          result.omissions)
        return result if result.enums else None

    # --- functions ----------------------------------------------------------------------------

    def _function(self, row: FunctionRow, into: list[Omission]) -> DeclaredFunction | None:
        """A function of the schema, declared once, in the first file that needs it."""
        self.placed_functions.add(row.oid)
        what = f"{FUNCTION_KINDS.get(row.kind, 'function')} {_qualified(self.schema, row.name)}({row.arguments})"
        if row.kind != "f" or row.definition is None:
            self.omit(what, f"{FUNCTION_KINDS.get(row.kind, 'this kind of function')}s are not supported", into)
            return None
        if row.comment is not None:
            self.omit(what, "comments on functions are not supported", into)
        return DeclaredFunction(row.oid, statements.function(row.definition, self.schema))

    def _used_functions(self, relations: Iterable[int]) -> list[int]:
        oids = set(relations)
        return sorted({d.used_function for d in self.catalog.dependencies
                       if d.used_function is not None and d.relation_oid in oids})

    def _other_functions(self) -> FunctionsFile | None:
        """Functions the tables' defaults, checks, indexes and policies use, and, when the whole
        schema is scaffolded, every other function of the schema."""
        selected = [t.oid for t in self.tables] + [v.oid for v in self.views]
        wanted = set(self._used_functions(selected))
        if self.whole_schema:
            wanted |= set(self.functions)
        result = FunctionsFile(functions=[])
        for row in self.catalog.functions:
            if row.oid in wanted and row.oid not in self.placed_functions:
                function = self._function(row, result.omissions)
                if function is not None:
                    result.functions.append(function)
        return result if result.functions or result.omissions else None

    def _function_order_notes(self) -> None:
        by_oid = {t.oid: t for t in self.tables}
        trigger_functions = {t.function_oid for t in self.catalog.triggers}
        for dep in self.catalog.dependencies:
            if dep.used_function is not None and dep.relation_oid in by_oid:
                if dep.used_function in trigger_functions:
                    continue
                function = self.functions[dep.used_function]
                self.notes.append(
                    f"{_qualified(self.schema, by_oid[dep.relation_oid].name)} uses function {function.name}"
                    f"({function.arguments}) of the schema (in a default, check, index or policy): the program "
                    f"creates a module's functions after its tables, so only a database that has it already "
                    f"(adoption) can take these files as they are")

    # --- views --------------------------------------------------------------------------------

    def _views(self) -> list[RelationRow]:
        """The views of the schema that read a scaffolded table (all views for a whole schema),
        each after the views it reads. A view that also reads a table of the schema that is
        not scaffolded is left out."""
        tables = {t.oid for t in self.tables}
        views = {r.oid: r for r in self.catalog.relations if r.kind == "v"}
        reads: dict[int, set[int]] = {oid: set() for oid in views}
        for row in self.catalog.view_reads:
            if row.view_oid in views:
                reads[row.view_oid].add(row.relation_oid)
        chosen = {oid for oid in views if self.whole_schema or reads[oid] & tables}
        changed = True
        while changed:  # a view is only as complete as the relations it reads
            changed = False
            for oid in sorted(chosen):
                missing = [self.by_oid[r].name for r in reads[oid]
                           if r in self.by_oid and r not in tables and r not in chosen]
                if missing:
                    chosen.discard(oid)
                    changed = True
                    self.omit(f"view {_qualified(self.schema, views[oid].name)}",
                              f"it reads {', '.join(sorted(missing))} of schema {self.schema}, which is not "
                              f"scaffolded (name it in --tables)")
        graph = {oid: reads[oid] & chosen for oid in chosen}
        return [views[oid] for oid in TopologicalSorter(graph).static_order()]

    def _view_files(self) -> list[ViewFile]:
        files = []
        for view in self.views:
            what = f"view {_qualified(self.schema, view.name)}"
            options = [o for o in view.options or [] if not o.startswith(f"{SECURITY_INVOKER}=")]
            runs_as_owner = f"{SECURITY_INVOKER}=true" not in (view.options or [])
            result = ViewFile(relation=replace(view, options=options or None))
            if runs_as_owner:  # the parser gives every view security_invoker unless a reason says otherwise
                self.omit(f"{what}: it runs with its owner's rights (no security_invoker)",
                          "the file creates it with the caller's rights, as every view; if it must keep its "
                          "owner's, write `WITH (security_invoker = false)` with `-- pgstack: accept "
                          "security_definer_view: <reason>` above it", result.omissions)
            if view.comment is not None:
                self.omit(what, "comments on views are not supported", result.omissions)
            for column in self.catalog.columns:
                if column.table_oid == view.oid and column.comment is not None:
                    self.omit(f"{what} column {column.name}", "comments on view columns are not supported",
                              result.omissions)
            self._triggers(view, result.omissions)
            self._rules_and_statistics(view, result.omissions)
            files.append(result)
        return files

    # --- extensions and the rest of the schema --------------------------------------------------

    def _place_extensions(self, files: list[ScaffoldFile]) -> None:
        """CREATE EXTENSION for each extension a scaffolded object uses, in the first file that
        needs it."""
        placed: set[str] = set()
        for file in files:
            relations = {file.relation.oid} if isinstance(file, (TableFile, ViewFile)) else set()
            functions = {f.oid for f in file.functions} if isinstance(file, (TableFile, FunctionsFile)) else set()
            needed = sorted({d.extension for d in self.catalog.dependencies if d.extension is not None
                             and (d.relation_oid in relations or d.function_oid in functions)} - placed)
            file.extensions = needed
            placed.update(needed)

    def _schema_leftovers(self) -> None:
        """Everything else in the schema, listed when the whole schema is scaffolded."""
        for relation in self.catalog.relations:
            what = f"{RELATION_KINDS.get(relation.kind, 'relation')} {_qualified(self.schema, relation.name)}"
            if relation.kind == "m":
                self.omit(what, "materialized views are not supported")
            elif relation.kind == "f":
                self.omit(what, "foreign tables are not supported")
            elif relation.kind == "S" and relation.owned_by is None:
                self.omit(what, "sequences are not supported (use identity columns)")
            elif relation.kind in TABLE_KINDS and relation.is_partition and not any(
                    relation.parents[0] in (t.name, _qualified(self.schema, t.name)) for t in self.tables):
                self.omit(f"partition {_qualified(self.schema, relation.name)}",
                          f"a partition of {relation.parents[0]}, which is not scaffolded")
        for row in self.catalog.types:
            self.omit(f"{row.kind} {_qualified(self.schema, row.name)}",
                      f"{row.kind}s are not supported (use text with a CHECK, or a table)")


def select(catalog: Catalog, requested: list[str] | None) -> Scaffold:
    return Selector(catalog, requested).select()

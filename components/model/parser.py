"""Parse a module's SQL files (sql/<module>/NNN_name.sql) into model objects.

Pure: no I/O beyond reading the files, no database. pglast is PostgreSQL's own parser, so a
file that parses here parses in the server. Every problem is reported with its file and line
before any resource is declared.
"""

from collections.abc import Callable
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any, NamedTuple, cast

from pglast import ast, parse_sql
from pglast import parser as pg_parser
from pglast.enums import AlterTableType, ConstrType, ObjectType, RoleSpecType, SortByDir, SortByNulls
from pglast.stream import RawStream

from . import rights
from .annotations import Acceptance, accept, acceptances, approve
from .declared import DeclaredTables
from .errors import SourceText, SqlModelError, read_source
from .names import constraint_name
from .nodes import filled, strings
from .objects import (
    Column,
    Constraint,
    Enum,
    Extension,
    Function,
    Index,
    IndexElement,
    Module,
    Ownership,
    Policy,
    Reference,
    Schema,
    Table,
    Trigger,
    View,
)
from .types import canonical_type, quoted_name

FK_ACTIONS = {"a": None, "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}

# Roles that exist on every target: PostgreSQL's PUBLIC pseudo-role and Supabase's API roles,
# which the program creates on plain PostgreSQL.
BUILTIN_ROLES = {"public", "anon", "authenticated", "service_role"}

STATEMENT_NAMES = {ast.CreateStmt: "CREATE TABLE", ast.AlterTableStmt: "ALTER TABLE", ast.CommentStmt: "COMMENT",
                   ast.IndexStmt: "CREATE INDEX", ast.CreatePolicyStmt: "CREATE POLICY",
                   ast.CreateFunctionStmt: "CREATE FUNCTION", ast.CreateTrigStmt: "CREATE TRIGGER",
                   ast.ViewStmt: "CREATE VIEW", ast.CreateSchemaStmt: "CREATE SCHEMA",
                   ast.CreateExtensionStmt: "CREATE EXTENSION", ast.CreateEnumStmt: "CREATE TYPE … AS ENUM"}

# Where the provider's sessions look for unqualified names after the module's own schema
# (provider/base.py `search_path`): a column type resolves, and format_type() spells it, that way.
SEARCH_PATH_AFTER_MODULE = ("public", "extensions")
# PostgreSQL's limit on an enum label (NAMEDATALEN - 1 bytes).
ENUM_LABEL_BYTES = 63


# Statements a module file cannot hold: named as written (None: by their leading keywords),
# with the way out where there is one.
_GRANTS = "privileges come from stack config (pgstack:grants)"
UNSUPPORTED = {
    ast.CompositeTypeStmt: ("CREATE TYPE … AS (…)", "is not supported: of the user-defined types, only "
                                                    "CREATE TYPE … AS ENUM is"),
    ast.CreateRangeStmt: ("CREATE TYPE … AS RANGE", "is not supported: of the user-defined types, only "
                                                    "CREATE TYPE … AS ENUM is"),
    ast.CreateDomainStmt: (None, "is not supported: use the base type with a CHECK constraint on the column"),
    ast.CreateSeqStmt: (None, "is not supported: use an identity column (GENERATED ALWAYS AS IDENTITY)"),
    ast.GrantStmt: ("GRANT/REVOKE", f"is not supported in module files: {_GRANTS}"),
    ast.GrantRoleStmt: ("GRANT/REVOKE", f"is not supported in module files: {_GRANTS}"),
    ast.AlterDefaultPrivilegesStmt: (None, f"is not supported in module files: {_GRANTS}"),
    ast.CreateRoleStmt: (None, "is not supported in module files: roles come from stack config (pgstack:roles)"),
    ast.InsertStmt: ("INSERT", "is not supported in module files: development rows go in "
                               "sql/<module>/sample/*.sql (modules[i].sample_data)"),
    ast.DropStmt: (None, "is not supported: files declare what should exist; remove the object's CREATE statement "
                         "to drop it"),
}
SUPPORTED = ("is not supported: a module file declares schema objects (CREATE SCHEMA/EXTENSION/TYPE … AS ENUM/"
             "TABLE/INDEX/POLICY/FUNCTION/TRIGGER/VIEW, COMMENT ON, ALTER TABLE ... ADD COLUMN / ENABLE|FORCE ROW "
             "LEVEL SECURITY)")


def deparse(node) -> str:
    return RawStream()(node)


def statement_words(text: str) -> str:
    """How a statement is named: its leading keywords as written (DROP TABLE, CREATE
    MATERIALIZED VIEW, DO), at most three, without OR REPLACE."""
    words: list[str] = []
    for token in pg_parser.scan(text):
        word = text[token.start:token.end + 1].upper()
        if token.kind == "NO_KEYWORD" or len(words) == 3:
            break
        if word not in ("OR", "REPLACE"):
            words.append(word)
    return " ".join(words)


class Statement(NamedTuple):
    offset: int  # of its first token (not of the comments before it), so errors name its own line
    node: ast.Node
    end: int  # offset just past its last character


def parse_statements(src: SourceText) -> list[Statement]:
    """A file's statements, in order."""
    try:
        statements = parse_sql(src.text)
    except pg_parser.ParseError as exc:
        offset = exc.args[1] if len(exc.args) > 1 else 0
        raise src.error(offset, f"syntax error: {exc.args[0]}") from None
    tokens = [t for t in pg_parser.scan(src.text) if t.name not in ("SQL_COMMENT", "C_COMMENT")]
    result = []
    for raw in statements:
        location, length = raw.stmt_location or 0, raw.stmt_len or 0  # length 0: to the end of the text
        if raw.stmt is not None:
            result.append(Statement(next((t.start for t in tokens if t.start >= location), location), raw.stmt,
                                    location + length if length else len(src.text)))
    return result


def _table_named(stmt) -> str:
    """The table a CREATE TABLE, ALTER TABLE or COMMENT ON TABLE/COLUMN statement is about."""
    if isinstance(stmt, ast.CommentStmt):
        names = [n.sval for n in cast(tuple, stmt.object)]  # the parser allows it on tables and columns only
        return names[-1] if stmt.objtype == ObjectType.OBJECT_TABLE else names[-2]
    return stmt.relation.relname


def walk(node, skip_sublinks=False):
    """Every pglast node under `node` (inclusive)."""
    if isinstance(node, (list, tuple)):
        for item in node:
            yield from walk(item, skip_sublinks)
        return
    if not isinstance(node, ast.Node):
        return
    yield node
    if skip_sublinks and isinstance(node, ast.SubLink):
        return
    for attr in node:  # a Node iterates over its field names
        yield from walk(getattr(node, attr, None), skip_sublinks)


def _check_name_columns(expr) -> list[str]:
    """The column an unnamed CHECK is named after. Like AddRelationNewConstraints(), wherever
    the CHECK is written: tab_col_check when the expression uses exactly one column, else tab_check."""
    used = {name for node in walk(expr, skip_sublinks=True)
            if isinstance(node, ast.ColumnRef) and (name := _column_name(node))}
    return list(used) if len(used) == 1 else []


def _column_name(ref: ast.ColumnRef) -> str | None:
    """The column a reference names (its last field); None for `*`."""
    last = filled(ref.fields)[-1]
    return last.sval if isinstance(last, ast.String) else None


def _module_files(folder: Path, shown) -> list[Path]:
    def number(path: Path) -> int:
        prefix = path.name.split("_", 1)[0]
        if not prefix.isdigit():
            raise SqlModelError(shown(path), 1, "SQL files must be named NNN_name.sql (a number first)")
        return int(prefix)

    files = sorted(folder.glob("*.sql"), key=lambda p: (number(p), p.name))
    seen: dict[int, Path] = {}
    for path in files:
        if number(path) in seen:
            raise SqlModelError(shown(path), 1,
                                f"file number {number(path)} is also used by {seen[number(path)].name}")
        seen[number(path)] = path
    return files


class ModuleParser:
    """Turns one module folder into a Module, checking every reference it makes."""

    def __init__(self, name: str, schema: str, known: DeclaredTables, roles: set[str] | frozenset[str],
                 display_root: Path | None = None):
        self.module = Module(name=name, schema=schema)
        self.known = known
        self.roles = BUILTIN_ROLES | set(roles)
        self.display_root = display_root
        self.src: SourceText | None = None
        self.offset = 0  # start of the statement being read, for errors
        # CHECK expressions wait for the statement's full column list: a table-level CHECK may
        # name a column declared after it.
        self._pending_checks: list = []
        self._relations: set[str] = set()  # tables, indexes and views share one namespace
        self._types: set[str] = set()  # so do enums, tables and views (a table's row type has its name)
        # Unqualified type names columns and functions used before any enum of that name was
        # declared: where each was first used.
        self._unresolved_types: dict[str, str] = {}
        self._names: set[tuple[str, ...]] = set()  # policies, functions, triggers declared so far

    # --- entry point -------------------------------------------------------------------------

    def _shown(self, path: Path) -> str:
        """A path as errors and `source` show it: relative to the project when possible."""
        if self.display_root and path.is_relative_to(self.display_root):
            return str(path.relative_to(self.display_root))
        return str(path)

    def parse_folder(self, folder: Path) -> Module:
        if not folder.is_dir():
            raise SqlModelError(self._shown(folder), 1, "module folder does not exist")
        files = _module_files(folder, self._shown)
        if not files:
            raise SqlModelError(self._shown(folder), 1, "module folder has no .sql files")
        for path in files:
            self.parse_text(self._shown(path), read_source(path, self._shown(path)))
        self._check_foreign_keys()
        return self.module

    def parse_text(self, display_name: str, text: str) -> None:
        src = self.src = SourceText(display_name, text)
        statements = parse_statements(src)
        for statement, accepted in zip(statements, acceptances(src, [s.end for s in statements]), strict=True):
            self.offset = statement.offset
            self._statement(statement.node)
            renames = [a for a in accepted if a.rename]
            if renames:
                self._rename(statement.node, statement.offset, renames)
            if len(renames) < len(accepted):
                self._accept(src, statement.node, [a for a in accepted if not a.rename])
            self._check_opt_ins(statement.node)

    # --- helpers -----------------------------------------------------------------------------

    def error(self, message: str, node=None) -> SqlModelError:
        location = getattr(node, "location", None)
        assert self.src is not None, "parse_text() sets the source first"
        return self.src.error(location if isinstance(location, int) and location >= 0 else self.offset, message)

    def here(self) -> str:
        assert self.src is not None, "parse_text() sets the source first"
        return self.src.where(self.offset)

    def _schema_of(self, range_var: ast.RangeVar) -> str:
        return range_var.schemaname or self.module.schema

    def _own_name(self, range_var: ast.RangeVar, what: str) -> str:
        """The name of an object this module creates: it must live in the module's schema."""
        if range_var.catalogname or (range_var.schemaname and range_var.schemaname != self.module.schema):
            raise self.error(
                f"{what} {range_var.relname} is qualified with another schema; objects of module "
                f"'{self.module.name}' live in schema '{self.module.schema}' (set in stack config), "
                f"so leave the name unqualified",
                range_var,
            )
        return filled(range_var.relname)

    def _table_columns(self, schema: str, name: str, node) -> set[str] | None:
        """Columns of a table the statement refers to; error if the table is unknown."""
        own = self.module.table(name) if schema == self.module.schema else None
        if own is not None:
            if not own.owned:
                existing = self.known.tables.get((schema, name))
                return None if existing is None else existing | {c.name for c in own.columns}
            return {c.name for c in own.columns}
        if (schema, name) in self.known.tables:
            return self.known.tables[(schema, name)]
        raise self.error(
            f"table {schema}.{name} is not declared: create it in this module, in a module listed "
            f"before it, or list it under the module's external_tables in stack config",
            node,
        )

    def _check_columns(self, expr, columns: set[str] | None, table: str) -> None:
        """Every plain column reference in `expr` (outside sub-selects) names a real column."""
        if columns is None or expr is None:
            return
        for node in walk(expr, skip_sublinks=True):
            if isinstance(node, ast.ColumnRef):
                fields = [f.sval for f in filled(node.fields) if isinstance(f, ast.String)]
                if len(fields) == 1 and fields[0] not in columns:
                    raise self.error(f"column {fields[0]} does not exist in table {table}", node)

    def _owned_table(self, range_var: ast.RangeVar | None, action: str) -> Table:
        range_var = filled(range_var)
        schema, name = self._schema_of(range_var), filled(range_var.relname)
        table = self.module.table(name) if schema == self.module.schema else None
        if table is None:
            self._table_columns(schema, name, range_var)  # unknown table -> error
            raise self.error(
                f"cannot {action} table {schema}.{name}: module '{self.module.name}' "
                f"does not create it", range_var,
            )
        return table

    def _whole_table(self, range_var: ast.RangeVar | None, action: str) -> Table:
        """A table the module creates, for settings of the whole table (RLS, its comment): on a
        table it only adds columns to, they would be dropped from the inputs without a word."""
        table = self._owned_table(range_var, action)
        if not table.owned:
            raise self.error(
                f"cannot {action} table {table.schema}.{table.name}: module '{self.module.name}' "
                f"does not create it and manages only the columns it adds", range_var,
            )
        return table

    def _claim_relation_name(self, name: str, node) -> None:
        if name in self._relations:
            raise self.error(f"{self.module.schema}.{name} is declared twice "
                             f"(tables, indexes and views share one namespace)", node)
        self._relations.add(name)

    def _claim_type_name(self, name: str, node) -> None:
        if name in self._types:
            raise self.error(f"{self.module.schema}.{name} is declared twice (enum types, tables and views share "
                             f"one namespace: a table or view has a row type of its name)", node)
        self._types.add(name)

    def _claim(self, name: tuple[str, ...]) -> bool:
        """Record a declared policy, function or trigger; False when it was declared before."""
        if name in self._names:
            return False
        self._names.add(name)
        return True

    def _rename(self, stmt, offset: int, renames: list[Acceptance]) -> None:
        """`renamed from` above CREATE TABLE names the table's old name; above a column inside it,
        that column's."""
        if not isinstance(stmt, ast.CreateStmt):
            raise self.src_error(renames[0].line, "`renamed from` goes above a CREATE TABLE or above a column in it")
        table = self.module.declared_table(filled(stmt.relation).relname or "")
        columns = [e for e in stmt.tableElts or () if isinstance(e, ast.ColumnDef)]
        for rename in renames:
            if rename.offset < offset:
                table.renamed_from = rename.reason
                continue
            column = next((c for c in columns if (c.location or 0) > rename.offset), None)
            if column is None:
                raise self.src_error(rename.line, "`renamed from` inside CREATE TABLE goes above the column renamed")
            declared = table.column(filled(column.colname))
            if declared is not None:
                declared.renamed_from = rename.reason

    def src_error(self, line: int, message: str) -> SqlModelError:
        return SqlModelError(filled(self.src).name, line, message)

    def _accept(self, src: SourceText, stmt, found: list[Acceptance]) -> None:
        """Record the findings a statement's annotations accept on the object it declares."""
        target: Table | Index | Policy | Function | Trigger | View | None = None
        kind = "statement"
        if isinstance(stmt, (ast.CreateStmt, ast.AlterTableStmt, ast.CommentStmt)):
            kind, target = "table", self.module.table(_table_named(stmt))
        elif isinstance(stmt, ast.IndexStmt):
            kind, target = "index", self.module.indexes[-1]
        elif isinstance(stmt, ast.CreatePolicyStmt):
            kind, target = "policy", self.module.policies[-1]
        elif isinstance(stmt, ast.CreateFunctionStmt):
            kind, target = "function", self.module.functions[-1]
        elif isinstance(stmt, ast.CreateTrigStmt):
            kind, target = "trigger", self.module.triggers[-1]
        elif isinstance(stmt, ast.ViewStmt):
            kind, target = "view", self.module.views[-1]
        what = STATEMENT_NAMES.get(type(stmt), type(stmt).__name__.removesuffix("Stmt"))
        if any(a.approval for a in found):
            if target is None:
                raise SqlModelError(src.name, next(a.line for a in found if a.approval),
                                    f"an approval goes above the statement of the object whose change it approves, "
                                    f"not above this {what}")
            target.approved = approve(src, found, target.approved)
        accepted = accept(src, kind, what, found, getattr(target, "accepted", None))
        if target is not None and hasattr(target, "accepted"):
            target.accepted = accepted

    def _check_opt_ins(self, stmt) -> None:
        """A view that runs with its owner's rights and a SECURITY DEFINER function exist only
        where their statement accepts that with a reason (model/rights.py); an acceptance of
        what the statement does not do is stale."""
        target: View | Function
        if isinstance(stmt, ast.ViewStmt):
            target = self.module.views[-1]
            rule, what = "security_definer_view", f"view {target.schema}.{target.name}"
            as_owner = rights.security_invoker(stmt) is False
            problem = (f"{what} sets security_invoker = false: it would read its tables with the rights of its "
                       f"owner, whom row level security does not bind, so every caller would see every row. "
                       f"Leave the option out (a view runs with the caller's rights by default)")
            stale = f"{what} runs with the caller's rights (security_invoker)"
        elif isinstance(stmt, ast.CreateFunctionStmt):
            target = self.module.functions[-1]
            rule, what = "security_definer_function", f"function {target.schema}.{target.name}({target.arguments})"
            as_owner = rights.function_rights(stmt)[0]
            problem = (f"{what} is SECURITY DEFINER: it runs with the rights of its owner, whom row level "
                       f"security does not bind. Make it SECURITY INVOKER (the default)")
            stale = f"{what} is not SECURITY DEFINER"
        else:
            return
        accepted = target.accepted or {}
        if as_owner and rule not in accepted:
            raise self.error(f"{problem}; or, if it must, say why above the statement: "
                             f"`-- pgstack: accept {rule}: <reason>`")
        if rule in accepted and not as_owner:
            raise self.error(f"`-- pgstack: accept {rule}` accepts nothing here: {stale}; remove the annotation")

    # --- statements --------------------------------------------------------------------------

    def _statement(self, stmt) -> None:
        handlers: dict[type, Callable[[Any], None]] = {
            ast.CreateSchemaStmt: self._create_schema,
            ast.CreateExtensionStmt: self._create_extension,
            ast.CreateEnumStmt: self._create_enum,
            ast.CreateStmt: self._create_table,
            ast.IndexStmt: self._create_index,
            ast.AlterTableStmt: self._alter_table,
            ast.CreatePolicyStmt: self._create_policy,
            ast.CommentStmt: self._comment,
            ast.CreateFunctionStmt: self._create_function,
            ast.CreateTrigStmt: self._create_trigger,
            ast.ViewStmt: self._create_view,
        }
        handler = handlers.get(type(stmt))
        if handler is None:
            name, way_out = UNSUPPORTED.get(type(stmt), (None, SUPPORTED))
            if isinstance(stmt, ast.CreateTableAsStmt) and stmt.objtype == ObjectType.OBJECT_TABLE:
                name = "CREATE TABLE … AS"  # not the CREATE TABLE a file may use
            text = self.src.text[self.offset:] if self.src else ""
            raise self.error(f"{name or statement_words(text)} {way_out}")
        handler(stmt)

    def _reject_if_not_exists(self, stmt) -> None:
        if getattr(stmt, "if_not_exists", False):
            raise self.error("IF NOT EXISTS is not allowed: files declare the desired state, not a migration")

    def _create_schema(self, stmt: ast.CreateSchemaStmt) -> None:
        self._reject_if_not_exists(stmt)
        if stmt.schemaElts or stmt.authrole:
            raise self.error("CREATE SCHEMA with elements or AUTHORIZATION is not supported")
        if any(s.name == stmt.schemaname for s in self.module.schemas):
            raise self.error(f"schema {stmt.schemaname} is declared twice")
        self.module.schemas.append(Schema(name=filled(stmt.schemaname), source=self.here()))

    def _create_extension(self, stmt: ast.CreateExtensionStmt) -> None:
        self._reject_if_not_exists(stmt)
        schema = None
        for option in stmt.options or ():
            if option.defname == "schema":
                schema = option.arg.sval
            else:
                raise self.error(f"CREATE EXTENSION option {option.defname} is not supported", option)
        if any(e.name == stmt.extname for e in self.module.extensions):
            raise self.error(f"extension {stmt.extname} is declared twice")
        self.module.extensions.append(Extension(name=filled(stmt.extname), schema=schema, source=self.here()))

    # enum types

    def _create_enum(self, stmt: ast.CreateEnumStmt) -> None:
        names = strings(stmt.typeName)
        if len(names) > 2 or (len(names) == 2 and names[0] != self.module.schema):
            raise self.error(
                f"type {'.'.join(names)} is qualified with another schema; objects of module "
                f"'{self.module.name}' live in schema '{self.module.schema}' (set in stack config), "
                f"so leave the name unqualified")
        name = names[-1]
        self._claim_type_name(name, None)
        if name in self._unresolved_types:
            raise self.error(f"enum {name} is declared after its first use ({self._unresolved_types[name]}): "
                             f"declare the type before the tables and functions that use it")
        values = strings(stmt.vals) if stmt.vals else []
        for value in values:
            if not value or len(value.encode()) > ENUM_LABEL_BYTES:
                raise self.error(f"enum {name}: value {value!r} must be 1 to {ENUM_LABEL_BYTES} bytes long")
            if values.count(value) > 1:
                raise self.error(f"enum {name}: value {value!r} is declared twice")
        self.module.enums.append(Enum(schema=self.module.schema, name=name, source=self.here(), values=values))

    def _declares_enum(self, schema: str, name: str) -> bool:
        return (schema, name) in self.known.enums or (
            schema == self.module.schema and any(e.name == name for e in self.module.enums))

    def _enum_named(self, names: list[str]) -> tuple[str, str] | None:
        """The stack's enum type a type name refers to: a qualified name as written, an
        unqualified one the way the provider's search path finds it."""
        if len(names) == 2:
            return (names[0], names[1]) if self._declares_enum(names[0], names[1]) else None
        if len(names) == 1:
            return next(((schema, names[0]) for schema in (self.module.schema, *SEARCH_PATH_AFTER_MODULE)
                         if self._declares_enum(schema, names[0])), None)
        return None

    def _type(self, type_name: ast.TypeName) -> tuple[str, tuple[str, str] | None]:
        """A column's or an argument's type as format_type() spells it in the provider's
        session, and the stack's enum type it is (or is an array of), if it is one: unqualified
        where the search path finds it, schema-qualified otherwise, quoted where needed."""
        text = canonical_type(type_name)
        names = strings(type_name.names)
        enum = self._enum_named(names)
        if enum is None:
            if len(names) == 1 or (len(names) == 2 and names[0] == self.module.schema):
                self._unresolved_types.setdefault(names[-1], self.here())
            return text, None
        schema, name = enum
        visible = self._enum_named([name]) == enum
        spelled = quoted_name(name) if visible else f"{quoted_name(schema)}.{quoted_name(name)}"
        return spelled + ("[]" if type_name.arrayBounds else ""), enum

    # tables

    def _create_table(self, stmt: ast.CreateStmt) -> None:
        self._reject_if_not_exists(stmt)
        if stmt.inhRelations or stmt.partbound or stmt.ofTypename:
            raise self.error(
                "inheritance, PARTITION OF and typed tables are not supported: declare a partitioned "
                "table with PARTITION BY; its partitions come from stack config (modules[i].partitions)")
        relation = filled(stmt.relation)
        if relation.relpersistence != "p":
            raise self.error("only permanent tables are supported (no TEMP or UNLOGGED)")
        name = self._own_name(relation, "table")
        self._claim_relation_name(name, relation)
        self._claim_type_name(name, relation)
        table = Table(schema=self.module.schema, name=name, source=self.here())
        self.module.add_table(table)
        for element in stmt.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                self._add_column(table, element)
            elif isinstance(element, ast.Constraint):
                self._add_constraint(table, element, column=None)
            else:
                raise self.error(f"{type(element).__name__} in CREATE TABLE is not supported", element)
        self._validate_pending_checks(table)
        if stmt.partspec:
            self._partition_by(table, stmt.partspec)

    def _partition_by(self, table: Table, spec: ast.PartitionSpec) -> None:
        """PARTITION BY: kept as pg_get_partkeydef() spells it, so the catalog reads it back equal."""
        columns = {c.name for c in table.columns}
        for elem in filled(spec.partParams):
            if elem.collation or elem.opclass:
                raise self.error("COLLATE and operator classes in PARTITION BY are not supported", spec)
            if elem.name:
                if elem.name not in columns:
                    raise self.error(f"partition key column {elem.name} does not exist in table {table.name}", spec)
                table.partition_key.append(elem.name)
            else:
                self._check_columns(elem.expr, columns, table.name)
        strategy, _, rest = deparse(spec).partition(" ")  # "range (occurred_at)"
        table.partition_by = f"{strategy.upper()} {rest}"
        # PostgreSQL enforces uniqueness per partition only, so a unique key must contain the
        # partition key; say so here, with the line, rather than fail at apply.
        for con in table.constraints:
            if con.kind in ("primary_key", "unique") and not set(table.partition_key) <= set(con.columns):
                raise self.error(f"{con.name} on partitioned table {table.name} must include the partition "
                                 f"key ({', '.join(table.partition_key) or 'an expression'})", spec)

    def _validate_pending_checks(self, table: Table) -> None:
        columns = {c.name for c in table.columns} if table.owned else None
        for expr in self._pending_checks:
            self._check_columns(expr, columns, table.name)
        self._pending_checks.clear()

    def _add_column(self, table: Table, col: ast.ColumnDef) -> None:
        name = filled(col.colname)
        if table.column(name):
            raise self.error(f"column {name} is declared twice in table {table.name}", col)
        if col.collClause:
            raise self.error("COLLATE on a column is not supported", col)
        try:
            type_text, enum = self._type(filled(col.typeName))
        except ValueError as exc:
            raise self.error(f"column {name}: {exc}", col) from None
        if enum is not None and enum not in table.enum_types:
            table.enum_types.append(enum)
        column = Column(name=name, type=type_text)
        if col.identity in ("a", "d"):
            column.identity = "always" if col.identity == "a" else "by default"
        table.columns.append(column)
        for con in col.constraints or ():
            if con.contype == ConstrType.CONSTR_NOTNULL:
                column.not_null = True
            elif con.contype == ConstrType.CONSTR_NULL:
                column.not_null = False
            elif con.contype == ConstrType.CONSTR_DEFAULT:
                column.default = deparse(con.raw_expr)
            elif con.contype == ConstrType.CONSTR_IDENTITY:
                column.identity = "always" if con.generated_when == "a" else "by default"
                column.not_null = True
            else:
                self._add_constraint(table, con, column=column.name)
        if col.is_not_null:
            column.not_null = True

    def _add_constraint(self, table: Table, con: ast.Constraint, column: str | None) -> None:
        if con.deferrable or con.initdeferred or con.skip_validation or con.is_no_inherit:
            raise self.error("DEFERRABLE, NOT VALID and NO INHERIT constraints are not supported", con)
        kind, label, cols = self._constraint_kind(con, column)
        known_columns = {c.name for c in table.columns}
        for col in cols:
            if col not in known_columns and table.owned:
                raise self.error(f"column {col} does not exist in table {table.name}", con)
        if kind == "primary_key" and any(c.kind == "primary_key" for c in table.constraints):
            raise self.error(f"table {table.name} has two primary keys", con)
        names = [c.name for c in table.constraints]
        name_cols = _check_name_columns(con.raw_expr) if kind == "check" else cols
        name = con.conname or constraint_name(table.name, name_cols, label, names)
        if name in names:
            raise self.error(f"constraint {name} is declared twice on table {table.name}", con)
        constraint = Constraint(name=name, kind=kind, columns=cols)
        if kind == "check":
            constraint.expression = deparse(con.raw_expr)
            self._pending_checks.append(con.raw_expr)
        if kind == "foreign_key":
            constraint.references = self._reference(con, table, cols)
            constraint.on_delete = FK_ACTIONS[filled(con.fk_del_action)]
            constraint.on_update = FK_ACTIONS[filled(con.fk_upd_action)]
        if kind == "primary_key":
            for col in cols:
                if (key_column := table.column(col)) is not None:
                    key_column.not_null = True
        table.constraints.append(constraint)

    def _constraint_kind(self, con: ast.Constraint, column: str | None) -> tuple[str, str, list[str]]:
        """The constraint's kind, the suffix of its default name, and its columns (`column` for a
        constraint written on a column)."""
        if con.contype == ConstrType.CONSTR_PRIMARY:
            return "primary_key", "pkey", [column] if column else strings(con.keys)
        if con.contype == ConstrType.CONSTR_UNIQUE:
            if con.nulls_not_distinct:
                raise self.error("UNIQUE NULLS NOT DISTINCT is not supported", con)
            return "unique", "key", [column] if column else strings(con.keys)
        if con.contype == ConstrType.CONSTR_CHECK:
            return "check", "check", [column] if column else []
        if con.contype == ConstrType.CONSTR_FOREIGN:
            return "foreign_key", "fkey", [column] if column else strings(con.fk_attrs)
        raise self.error(f"constraint type {filled(con.contype).name.removeprefix('CONSTR_')} is not supported", con)

    def _reference(self, con: ast.Constraint, table: Table, cols: list[str]) -> Reference:
        pktable = filled(con.pktable)
        schema, target = self._schema_of(pktable), filled(pktable.relname)
        target_columns: set[str] | None
        if schema == table.schema and target == table.name:
            target_columns = {c.name for c in table.columns}  # self-reference
            pk = next((c.columns for c in table.constraints if c.kind == "primary_key"), None)
        else:
            target_columns = self._table_columns(schema, target, pktable)
            own = self.module.table(target) if schema == self.module.schema else None
            pk = next((c.columns for c in own.constraints if c.kind == "primary_key"), None) if own else \
                self.known.primary_keys.get((schema, target))
        ref_cols = [a.sval for a in con.pk_attrs or ()] or pk
        if not ref_cols:
            raise self.error(f"foreign key to {schema}.{target}: name the referenced column(s)", con)
        if len(ref_cols) != len(cols):
            raise self.error("foreign key has a different number of referencing and referenced columns", con)
        if target_columns is not None:
            for col in ref_cols:
                if col not in target_columns:
                    raise self.error(f"column {col} does not exist in table {schema}.{target}", pktable)
        return Reference(schema=schema, table=target, columns=ref_cols)

    def _check_foreign_keys(self) -> None:
        """Foreign keys to tables of this module must not form a cycle: each table resource
        waits for the tables it references."""
        graph = {
            t.name: {c.references.table for c in t.constraints if c.references is not None
                     and c.references.schema == self.module.schema and c.references.table != t.name
                     and self.module.table(c.references.table)}
            for t in self.module.tables
        }
        try:
            TopologicalSorter(graph).prepare()
        except CycleError as exc:
            nodes = list(reversed(exc.args[1]))[:-1]  # graphlib lists it against the references
            order = [t.name for t in self.module.tables]
            first = min(range(len(nodes)), key=lambda i: order.index(nodes[i]))  # start at the earliest table
            cycle = nodes[first:] + nodes[:first] + [nodes[first]]
            file, line = self.module.declared_table(cycle[0]).source.rsplit(":", 1)
            raise SqlModelError(file, int(line), "foreign keys form a cycle: " + " -> ".join(cycle)) from None

    def _alter_table(self, stmt: ast.AlterTableStmt) -> None:
        if stmt.objtype != ObjectType.OBJECT_TABLE or stmt.missing_ok:
            raise self.error("only ALTER TABLE (without IF EXISTS) is supported")
        relation = filled(stmt.relation)
        schema, name = self._schema_of(relation), filled(relation.relname)
        table = self.module.table(name) if schema == self.module.schema else None
        for cmd in filled(stmt.cmds):
            if cmd.subtype == AlterTableType.AT_AddColumn:
                if table is None:
                    # The table exists outside the module: manage only the added columns.
                    self._table_columns(schema, name, relation)
                    if schema != self.module.schema:
                        raise self.error(f"table {schema}.{name}: extend tables of the module's schema "
                                         f"'{self.module.schema}' only", relation)
                    table = Table(schema=schema, name=name, source=self.here(), managed=Ownership.EXTENDED)
                    self.module.add_table(table)
                if cmd.missing_ok:
                    raise self.error("ADD COLUMN IF NOT EXISTS is not allowed: files declare the desired state")
                self._add_column(table, cmd.def_)
                self._validate_pending_checks(table)
            elif cmd.subtype == AlterTableType.AT_AddConstraint:
                table = self._owned_table(relation, "add a constraint to")
                self._add_constraint(table, cmd.def_, column=None)
                self._validate_pending_checks(table)
            elif cmd.subtype == AlterTableType.AT_EnableRowSecurity:
                self._whole_table(relation, "enable row level security on").rls_enabled = True
            elif cmd.subtype == AlterTableType.AT_ForceRowSecurity:
                self._whole_table(relation, "force row level security on").rls_forced = True
            else:
                raise self.error(
                    f"ALTER TABLE {cmd.subtype.name.removeprefix('AT_')} is not supported: edit the "
                    f"CREATE TABLE statement instead (the files declare the state; the tool plans the ALTERs)"
                )

    # indexes

    def _create_index(self, stmt: ast.IndexStmt) -> None:
        self._reject_if_not_exists(stmt)
        if not stmt.idxname:
            raise self.error("give the index a name: resources are tracked by name")
        if stmt.concurrent:
            raise self.error("CONCURRENTLY is chosen by the stack's safety settings, not in the file")
        relation = filled(stmt.relation)
        schema, table = self._schema_of(relation), filled(relation.relname)
        columns = self._table_columns(schema, table, relation)
        if schema != self.module.schema:
            raise self.error(f"index on {schema}.{table}: indexes of module '{self.module.name}' must be on "
                             f"tables in schema '{self.module.schema}'", relation)
        self._claim_relation_name(stmt.idxname, stmt)
        elements = [self._index_element(param, columns, table, stmt) for param in filled(stmt.indexParams)]
        include = [p.name for p in stmt.indexIncludingParams or ()]
        for col in include:
            if columns is not None and col not in columns:
                raise self.error(f"column {col} does not exist in table {table}", stmt)
        self._check_columns(stmt.whereClause, columns, table)
        params = []
        for option in stmt.options or ():
            params.append(f"{option.defname}={deparse(option.arg)}")
        own = self.module.table(table)
        partitioned = bool(own and own.partition_by)
        indexed = {e.column for e in elements}
        if own is not None and partitioned and stmt.unique and not set(own.partition_key) <= indexed:
            raise self.error(f"unique index {stmt.idxname} on partitioned table {table} must include the "
                             f"partition key ({', '.join(own.partition_key) or 'an expression'})", stmt)
        self.module.indexes.append(Index(
            schema=schema, name=stmt.idxname, table=table, source=self.here(), elements=elements,
            unique=bool(stmt.unique), method=stmt.accessMethod or "btree", include=include,
            where=deparse(stmt.whereClause) if stmt.whereClause else None, with_params=params,
            partitioned=partitioned or None,
        ))

    def _index_element(self, param: ast.IndexElem, columns: set[str] | None, table: str,
                       stmt: ast.IndexStmt) -> IndexElement:
        """One column or expression of an index, with its operator class and ordering."""
        element = IndexElement()
        if param.name:
            if columns is not None and param.name not in columns:
                raise self.error(f"column {param.name} does not exist in table {table}", stmt)
            element.column = param.name
        else:
            self._check_columns(param.expr, columns, table)
            element.expression = deparse(param.expr)
        if param.opclass:
            element.opclass = ".".join(strings(param.opclass))
        if param.opclassopts or param.collation:
            raise self.error("operator class options and COLLATE in indexes are not supported", stmt)
        if param.ordering == SortByDir.SORTBY_DESC:
            element.order = "DESC"
        elif param.ordering == SortByDir.SORTBY_ASC:
            element.order = "ASC"
        if param.nulls_ordering == SortByNulls.SORTBY_NULLS_FIRST:
            element.nulls = "FIRST"
        elif param.nulls_ordering == SortByNulls.SORTBY_NULLS_LAST:
            element.nulls = "LAST"
        return element

    # policies

    def _create_policy(self, stmt: ast.CreatePolicyStmt) -> None:
        table = self._owned_table(stmt.table, "create a policy on")
        name = filled(stmt.policy_name)
        if not self._claim(("policy", table.name, name)):
            raise self.error(f"policy {name} is declared twice on table {table.name}")
        roles = []
        for spec in stmt.roles or ():
            if spec.roletype == RoleSpecType.ROLESPEC_PUBLIC:
                role = "public"
            elif spec.roletype == RoleSpecType.ROLESPEC_CSTRING:
                role = spec.rolename
            else:
                raise self.error("policies must name roles (CURRENT_USER and SESSION_USER are not supported)", spec)
            if role not in self.roles:
                raise self.error(f"role {role} is not declared in stack config (roles) nor built in", spec)
            roles.append(role)
        columns = self._table_columns(table.schema, table.name, stmt.table)
        self._check_columns(stmt.qual, columns, table.name)
        self._check_columns(stmt.with_check, columns, table.name)
        self.module.policies.append(Policy(
            schema=table.schema, table=table.name, name=name, source=self.here(),
            command=filled(stmt.cmd_name), permissive=bool(stmt.permissive), roles=roles or ["public"],
            using=deparse(stmt.qual) if stmt.qual else None,
            with_check=deparse(stmt.with_check) if stmt.with_check else None,
        ))

    # comments

    def _comment(self, stmt: ast.CommentStmt) -> None:
        names: list[str] = strings(stmt.object) if isinstance(stmt.object, (list, tuple)) else []
        if stmt.objtype == ObjectType.OBJECT_TABLE and names:
            relation = ast.RangeVar(relname=names[-1], schemaname=names[-2] if len(names) > 1 else None)
            self._whole_table(relation, "comment on").comment = stmt.comment
        elif stmt.objtype == ObjectType.OBJECT_COLUMN and len(names) >= 2:
            relation = ast.RangeVar(relname=names[-2], schemaname=names[-3] if len(names) > 2 else None)
            schema, name = self._schema_of(relation), names[-2]
            table = self.module.table(name) if schema == self.module.schema else None
            if table is None:
                self._table_columns(schema, name, None)
                raise self.error(f"cannot comment on {schema}.{name}.{names[-1]}: "
                                 f"module '{self.module.name}' does not create it")
            column = table.column(names[-1])
            if column is None:
                raise self.error(f"column {names[-1]} does not exist in table {table.name}" +
                                 (" (the module manages only the columns it adds)" if not table.owned else ""))
            column.comment = stmt.comment
        else:
            raise self.error("only COMMENT ON TABLE and COMMENT ON COLUMN are supported")

    # functions, triggers, views

    def _create_function(self, stmt: ast.CreateFunctionStmt) -> None:
        if stmt.is_procedure:
            raise self.error("procedures are not supported")
        names = strings(stmt.funcname)
        if len(names) > 1 and names[0] != self.module.schema:
            raise self.error(f"function {'.'.join(names)} is qualified with another schema; leave it unqualified")
        name = names[-1]
        stmt.funcname = (ast.String(sval=self.module.schema), ast.String(sval=name))
        stmt.replace = True
        arg_types = []
        for param in stmt.parameters or ():
            if param.mode.value in ("o", "t"):  # OUT and TABLE columns are not part of the identity
                continue
            arg_types.append(self._type(filled(param.argType))[0])
        arguments = ", ".join(arg_types)
        if not self._claim(("function", name, arguments)):
            raise self.error(f"function {name}({arguments}) is declared twice")
        returns = self._type(stmt.returnType)[0] if stmt.returnType else "void"
        definer, fixed_path = rights.function_rights(stmt)
        if definer and not fixed_path:
            raise self.error(f"function {name}({arguments}) is SECURITY DEFINER and does not fix its search_path: "
                             f"any caller could put their own functions or operators first in the path and have "
                             f"them run with its owner's rights. Add `SET search_path = ''` and schema-qualify what "
                             f"it uses (or `SET search_path = pg_catalog, <schema>`)")
        self.module.functions.append(Function(
            schema=self.module.schema, name=name, source=self.here(), arguments=arguments,
            returns=returns, definition=deparse(stmt),
        ))

    def _create_trigger(self, stmt: ast.CreateTrigStmt) -> None:
        if stmt.isconstraint:
            raise self.error("constraint triggers are not supported")
        table = self._owned_table(stmt.relation, "create a trigger on")
        name = filled(stmt.trigname)
        if not self._claim(("trigger", table.name, name)):
            raise self.error(f"trigger {name} is declared twice on table {table.name}")
        func = strings(stmt.funcname)
        if len(func) == 1:
            if not any(f.name == func[0] for f in self.module.functions):
                raise self.error(f"trigger function {func[0]} is not declared in this module "
                                 f"(declare it before the trigger, or qualify its schema)")
            func = [self.module.schema, func[0]]
        stmt.funcname = tuple(ast.String(sval=n) for n in func)
        filled(stmt.relation).schemaname = table.schema
        stmt.replace = True
        self.module.triggers.append(Trigger(
            schema=table.schema, table=table.name, name=name, source=self.here(),
            function=".".join(func), definition=deparse(stmt),
        ))

    def _create_view(self, stmt: ast.ViewStmt) -> None:
        view = filled(stmt.view)
        name = self._own_name(view, "view")
        self._claim_relation_name(name, view)
        self._claim_type_name(name, view)
        try:
            rights.run_as_invoker(stmt)
        except ValueError as exc:
            raise self.error(f"view {name}: {exc}") from None
        reads = []
        ctes = {c.ctename for c in walk(stmt.query) if isinstance(c, ast.CommonTableExpr)}
        for node in walk(stmt.query):
            if not isinstance(node, ast.RangeVar) or node.catalogname or (not node.schemaname and node.relname in ctes):
                continue
            found = self._relation_read(node)
            if found is not None:
                reads.append(found)
        view.schemaname = self.module.schema
        stmt.replace = True
        self.module.views.append(View(
            schema=self.module.schema, name=name, source=self.here(), definition=deparse(stmt),
            reads=sorted(set(reads)),
        ))

    def _relation_read(self, node: ast.RangeVar) -> tuple[str, str] | None:
        """The stack's table or view a view's FROM names, this module's or an earlier module's;
        a name of this module's is qualified with its schema, whatever the search path says.
        Other names (a CTE, a table outside the stack) are left as written: validation at
        preview finds a missing one."""
        name = filled(node.relname)
        if node.schemaname:
            return (node.schemaname, name) if self.known.relation(node.schemaname, name) else None
        own = self.module.table(name) is not None or any(v.name == name for v in self.module.views)
        if own or self.known.relation(self.module.schema, name):
            node.schemaname = self.module.schema  # the first schema of the provider's search path
            return self.module.schema, name
        if self.known.relation("public", name):  # the next one
            return "public", name
        return None


def parse_module(name: str, schema: str, folder: Path, known: DeclaredTables,
                 roles: set[str] | frozenset[str] = frozenset(),
                 display_root: Path | None = None) -> Module:
    return ModuleParser(name, schema, known, roles, display_root).parse_folder(folder)

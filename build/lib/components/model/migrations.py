"""Versioned data migrations: sql/<module>/migrations/NNNN_name.sql.

The module's other files declare what the schema is; a migration is a change to the rows
(a backfill, reference data) that runs once, in number order, after the schema it uses. Each is
one resource (pgstack:Migration) whose inputs are its statements as pglast renders them and a
checksum of them; the provider runs it the first time and records it (journal and state), never
again. Editing an applied migration is refused at preview, naming the file, unless the stack
allows running it again (safety.rerun_migrations, for dev).

What a migration may hold: INSERT, UPDATE and DELETE (WITH allowed) that write only the
module's own tables (an UPDATE may also set the module's own columns of a table it only
extends) and read only the module's tables. Names are resolved in the module's schema and
written qualified. Anything else stops the run with `file:line`.

A file whose first line says `-- pgstack: batched` is a large backfill done in batches: each of
its statements runs again and again, each run in its own transaction, until it changes no row,
so each must change a bounded batch of the rows still to do (it must hold a LIMIT) and leave
them no longer matching (README, "Data migrations").

Pure: no database. Errors name the file and line.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pglast import ast
from pglast import parser as pg_parser
from pglast.enums import OnConflictAction

from .errors import SourceText, SqlModelError, read_source
from .nodes import filled
from .objects import Module
from .parser import STATEMENT_NAMES, deparse, parse_statements, statement_words, walk

MIGRATIONS_FOLDER = "migrations"
BATCHED = "batched"
ANNOTATION = "pgstack:"
RULE = ("a migration changes rows of the module's own tables: INSERT, UPDATE or DELETE (schema changes "
        "go in the module's files)")
ACTIONS = {ast.InsertStmt: "insert into", ast.UpdateStmt: "update", ast.DeleteStmt: "delete from"}


@dataclass(frozen=True)
class MigrationStatement:
    source: str  # file:line
    table: str  # the table it writes
    action: str  # insert into | update | delete from
    sql: str


@dataclass(frozen=True)
class Migration:
    module: str
    number: str  # "0001": with the module, what identifies the migration
    name: str  # the file's name without .sql
    source: str  # the file, as errors show it
    statements: list[MigrationStatement]
    batched: bool
    checksum: str  # of what runs: the rendered statements and how (batched or not)

    def inputs(self) -> dict:
        data = asdict(self)
        if not self.batched:
            data.pop("batched")
        return data

    @property
    def tables(self) -> list[str]:
        return sorted({s.table for s in self.statements})


def checksum(statements: list[MigrationStatement], batched: bool) -> str:
    text = json.dumps({"batched": batched, "statements": [s.sql for s in statements]})
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def migration_files(folder: Path) -> list[Path]:
    migrations = folder / MIGRATIONS_FOLDER
    return sorted(migrations.glob("*.sql")) if migrations.is_dir() else []


def _shown(path: Path, display_root: Path | None) -> str:
    return str(path.relative_to(display_root) if display_root and path.is_relative_to(display_root) else path)


def load_migrations(folder: Path, module: Module, display_root: Path | None = None) -> list[Migration]:
    """The module's migrations in number order ([] without a migrations/ folder)."""
    seen: dict[str, str] = {}
    migrations = []
    for path in migration_files(folder):
        shown = _shown(path, display_root)
        number, _, rest = path.stem.partition("_")
        if len(number) != 4 or not number.isdigit() or not rest:
            raise SqlModelError(shown, 1, "migration files must be named NNNN_name.sql (four digits, then a name)")
        if number in seen:
            raise SqlModelError(shown, 1, f"migration number {number} is also used by {seen[number]}")
        seen[number] = path.name
        migrations.append(parse_migration(shown, read_source(path, shown), module, number, path.stem))
    return sorted(migrations, key=lambda m: m.number)


def parse_migration(display_name: str, text: str, module: Module, number: str, name: str) -> Migration:
    src = SourceText(display_name, text)
    found = parse_statements(src)
    if not found:
        raise src.error(0, f"the migration has no statement: {RULE}")
    batched = _batched(src, found[0].offset)
    statements = [_statement(src, s.offset, s.node, module, batched) for s in found]
    return Migration(module=module.name, number=number, name=name, source=display_name, statements=statements,
                     batched=batched, checksum=checksum(statements, batched))


def _batched(src: SourceText, first_statement: int) -> bool:
    """Whether the file is marked `-- pgstack: batched` (above its first statement)."""
    batched = False
    for token in pg_parser.scan(src.text):
        if token.name not in ("SQL_COMMENT", "C_COMMENT"):
            continue
        text = src.text[token.start:token.end + 1]
        body = (text[2:-2] if text.startswith("/*") else text[2:]).strip()
        if not body.startswith(ANNOTATION):
            continue
        if body[len(ANNOTATION):].strip() != BATCHED:
            raise src.error(token.start, f"unknown pgstack annotation in a migration: {body!r} (the one there is: "
                                         f"-- pgstack: {BATCHED})")
        if token.start > first_statement:
            raise src.error(token.start, f"-- pgstack: {BATCHED} is about the whole file: put it above the first "
                                         "statement")
        batched = True
    return batched


def _statement(src: SourceText, offset: int, stmt: Any, module: Module, batched: bool) -> MigrationStatement:
    def error(message: str) -> SqlModelError:
        return src.error(offset, message)

    if type(stmt) not in ACTIONS:
        named = STATEMENT_NAMES.get(type(stmt)) or statement_words(src.text[offset:])
        raise error(f"{named} is not allowed in a migration: {RULE}")
    ctes = {filled(cte.ctename) for node in walk(stmt) if isinstance(node, ast.WithClause)
            for cte in filled(node.ctes)}
    for node in walk(stmt):
        if isinstance(node, ast.RangeVar):
            name = filled(node.relname)
            if not node.schemaname and name in ctes:
                continue
            if node.catalogname or node.schemaname not in (None, module.schema) or module.table(name) is None:
                raise error(f"table {node.schemaname or module.schema}.{name} is not declared by module "
                            f"'{module.name}': a migration reads and writes only the module's own tables")
            node.schemaname = module.schema
    for node in walk(stmt):
        if type(node) in ACTIONS:
            _check_write(node, module, error)
    if batched:
        _check_batch(stmt, error)
    target = filled(filled(stmt.relation).relname)
    return MigrationStatement(source=src.where(offset), table=target, action=ACTIONS[type(stmt)], sql=deparse(stmt))


def _check_write(stmt: Any, module: Module, error) -> None:
    """What an INSERT, UPDATE or DELETE (the statement or one in its WITH) writes."""
    table = module.declared_table(filled(filled(stmt.relation).relname))  # checked as a RangeVar above
    columns = [t.name for t in stmt.targetList or ()] if isinstance(stmt, ast.UpdateStmt) else \
        [c.name for c in stmt.cols or ()] if isinstance(stmt, ast.InsertStmt) else []
    if not table.owned and not isinstance(stmt, ast.UpdateStmt):
        raise error(f"cannot {ACTIONS[type(stmt)]} {module.schema}.{table.name}: module '{module.name}' does not "
                    f"create it (it only adds columns to it, which an UPDATE may set)")
    for column in columns:
        if table.column(column) is None:
            whose = "" if table.owned else f" (module '{module.name}' only adds columns to {table.name})"
            raise error(f"column {column} of table {table.name} is not declared by module '{module.name}'{whose}")


def _check_batch(stmt: Any, error) -> None:
    """A batched statement runs until it changes no row: it must change a bounded batch."""
    example = ("UPDATE t SET c = ... WHERE id IN (SELECT id FROM t WHERE c IS NULL ORDER BY id LIMIT 5000)")
    if isinstance(stmt, ast.InsertStmt):
        conflict = stmt.onConflictClause
        if conflict is None or conflict.action != OnConflictAction.ONCONFLICT_NOTHING:
            raise error("a batched INSERT runs again until it inserts no row, so it needs ON CONFLICT DO NOTHING")
    elif stmt.whereClause is None:
        raise error(f"a batched {ACTIONS[type(stmt)].split()[0].upper()} needs a WHERE that picks a batch of the "
                    f"rows still to do, e.g. {example}")
    if not any(isinstance(n, ast.SelectStmt) and n.limitCount is not None for n in walk(stmt)):
        raise error(f"a batched statement runs again until it changes no row, so each run must change a bounded "
                    f"batch: pick the rows with a LIMIT, e.g. {example}")

"""Sample data: development rows a module loads from sql/<module>/sample/*.sql.

Stack config turns it on per module (modules[i].sample_data), and only where the stack's data is
disposable. The provider runs every statement again whenever one of them changes, so each must
be idempotent: an INSERT ... ON CONFLICT DO NOTHING of rows with fixed keys (fixed uuids,
md5('...')::uuid, or a parent looked up by a unique natural key such as tenant.slug). A statement
writes and reads only tables the module declares, so the resource can wait for exactly those;
their names are qualified with the module's schema here, and the text executed is the one pglast
renders from the parsed tree.

Pure: no I/O beyond reading the files, no database. Errors name the file and the statement's line.
"""

from dataclasses import asdict, dataclass
from pathlib import Path

from pglast import ast
from pglast.enums import OnConflictAction, OverridingKind

from .errors import SourceText, read_source
from .nodes import filled
from .objects import Module
from .parser import deparse, parse_statements, walk

SAMPLE_FOLDER = "sample"
RULE = "each sample statement is an INSERT ... ON CONFLICT DO NOTHING into a table of the module"


@dataclass(frozen=True)
class SampleStatement:
    source: str  # file:line
    table: str  # the table it inserts into
    sql: str


@dataclass(frozen=True)
class SampleData:
    source: str  # the sample folder, as errors show it
    statements: list[SampleStatement]

    def inputs(self) -> dict:
        return asdict(self)


def sample_files(folder: Path) -> list[Path]:
    """The module folder's sample/*.sql files in name order ([] when there are none)."""
    sample = folder / SAMPLE_FOLDER
    return sorted(sample.glob("*.sql")) if sample.is_dir() else []


def _shown(path: Path, display_root: Path | None) -> str:
    return str(path.relative_to(display_root) if display_root and path.is_relative_to(display_root) else path)


def load_sample_data(files: list[Path], module: Module, display_root: Path | None = None) -> SampleData:
    statements = []
    for path in files:
        shown = _shown(path, display_root)
        statements += parse_sample_file(shown, read_source(path, shown), module)
    return SampleData(source=_shown(files[0].parent, display_root), statements=statements)


def parse_sample_file(display_name: str, text: str, module: Module) -> list[SampleStatement]:
    src = SourceText(display_name, text)
    return [_statement(src, s.offset, s.node, module) for s in parse_statements(src)]


def _statement(src: SourceText, offset: int, stmt, module: Module) -> SampleStatement:
    def error(message: str):
        return src.error(offset, message)

    if not isinstance(stmt, ast.InsertStmt):
        raise error(f"{type(stmt).__name__.removesuffix('Stmt')} statements are not allowed: {RULE}")
    target = filled(filled(stmt.relation).relname)
    if stmt.onConflictClause is None or stmt.onConflictClause.action != OnConflictAction.ONCONFLICT_NOTHING:
        found = "ON CONFLICT DO UPDATE" if stmt.onConflictClause else "no ON CONFLICT clause"
        raise error(f"INSERT INTO {target} has {found}: {RULE}. The statements run again on every "
                    f"change, so a row that is already there must be left alone")
    if any(isinstance(node, ast.WithClause) for node in walk(stmt)):
        raise error("WITH is not allowed in sample data (a WITH may change other rows): write the query inline")
    if stmt.override == OverridingKind.OVERRIDING_SYSTEM_VALUE:
        raise error("OVERRIDING SYSTEM VALUE is not allowed: ids written here would collide with the ones "
                    "the database generates later; look the row up by a unique column instead")
    for node in walk(stmt):
        if isinstance(node, ast.RangeVar):
            table = module.table(filled(node.relname))
            if node.catalogname or node.schemaname not in (None, module.schema) or table is None:
                raise error(f"table {node.schemaname or module.schema}.{node.relname} is not declared by module "
                            f"'{module.name}': sample data reads and writes only the module's own tables")
            node.schemaname = module.schema  # whatever the search path says
    table = module.declared_table(target)  # a RangeVar of the walk above, so checked there
    if not table.owned:
        raise error(f"cannot insert into {module.schema}.{target}: module '{module.name}' does not create it")
    for col in stmt.cols or ():
        if table.column(col.name) is None:
            raise error(f"column {col.name} does not exist in table {target}")
    return SampleStatement(source=src.where(offset), table=target, sql=deparse(stmt))

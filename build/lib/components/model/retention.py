"""Retention declarations: how long a module keeps the rows of its tables.

A module may put a `retention.yaml` next to its SQL files:

    seo_rankings:
      column: tracked_at      # a date or timestamp column of the table
      keep: 365 days          # <n> days|months|years; rows older than that are due for deletion
    knowledge_base:
      keep: indefinite        # decided: never deleted (no column)

Tables not listed have no retention decided. This module only reads and validates the
declarations against the parsed module (the table is one the module creates, the column exists
and holds a date or timestamp, `keep` is a period PostgreSQL reads as an interval); acting on
them is left to a deletion job. Pure: no database. Errors name the file, the line and the key.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import SqlModelError, read_source
from .objects import Module, Table

RETENTION_FILE = "retention.yaml"
INDEFINITE = "indefinite"
UNITS = {"day": "days", "days": "days", "month": "months", "months": "months", "year": "years", "years": "years"}


@dataclass(frozen=True)
class Retention:
    table: str
    keep: str | None  # canonical "<n> days|months|years"; None = kept indefinitely
    column: str | None  # the date/timestamp column the age is measured on; None when indefinite
    source: str  # file:line of the table's key


def _keep_interval(text) -> str | None:
    """'365 days' -> '365 days' (units normalized to plural); None if not of that form."""
    if not isinstance(text, str):
        return None
    parts = text.split()
    if len(parts) != 2 or not parts[0].isascii() or not parts[0].isdigit() or int(parts[0]) < 1:
        return None
    unit = UNITS.get(parts[1].lower())
    return f"{int(parts[0])} {unit}" if unit else None


def parse_retention(display_name: str, text: str, module: Module) -> list[Retention]:
    def error(node, message: str) -> SqlModelError:
        return SqlModelError(display_name, node.start_mark.line + 1 if node is not None else 1, message)

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SqlModelError(display_name, mark.line + 1 if mark else 1, f"invalid YAML: {exc}") from None
    if root is None:
        return []
    if not isinstance(root, yaml.MappingNode):
        raise error(root, "expected a mapping of table name -> {column, keep}")
    found: list[Retention] = []
    for key_node, value_node in root.value:
        if any(r.table == key_node.value for r in found):
            raise error(key_node, f"{key_node.value}: declared twice")
        found.append(_retention(error, module, key_node, value_node, f"{display_name}:{key_node.start_mark.line + 1}"))
    return found


_Error = Callable[[Any, str], SqlModelError]  # (YAML node or None, message) -> error at its line
_Entry = dict[str, tuple[yaml.Node, yaml.Node]]  # key -> (key node, value node)


def _retention(error: _Error, module: Module, key_node: yaml.Node, value_node: yaml.Node, where: str) -> Retention:
    """One table's entry: {keep: indefinite} or {column, keep: <n> days|months|years}."""
    table_name = key_node.value
    table = module.table(table_name)
    if table is None or not table.owned:
        raise error(key_node, f"{table_name}: not a table module '{module.name}' creates")
    if not isinstance(value_node, yaml.MappingNode):
        raise error(value_node, f"{table_name}: expected a mapping with keys column and keep")
    entry: _Entry = {k.value: (k, v) for k, v in value_node.value}
    unknown = sorted(set(entry) - {"column", "keep"})
    if unknown:
        raise error(entry[unknown[0]][0], f"{table_name}.{unknown[0]}: unknown key (expected column and keep)")
    if "keep" not in entry:
        raise error(key_node, f"{table_name}.keep: missing")
    keep_node = entry["keep"][1]
    keep_value = keep_node.value if isinstance(keep_node, yaml.ScalarNode) else None
    if keep_value == INDEFINITE:
        if "column" in entry:
            raise error(entry["column"][0], f"{table_name}.column: not used when keep is {INDEFINITE}")
        return Retention(table=table_name, keep=None, column=None, source=where)
    keep = _keep_interval(keep_value)
    if keep is None:
        raise error(keep_node, f"{table_name}.keep: {keep_value!r} is not '<n> days|months|years' "
                               f"(n >= 1) nor {INDEFINITE}")
    column = _age_column(error, table, key_node, entry)
    return Retention(table=table_name, keep=keep, column=column, source=where)


def _age_column(error: _Error, table: Table, key_node: yaml.Node, entry: _Entry) -> str:
    """The entry's `column`: a date or timestamp column of the table."""
    table_name = key_node.value
    if "column" not in entry:
        raise error(key_node, f"{table_name}.column: missing (the date or timestamp column age is measured on)")
    column_node = entry["column"][1]
    column = table.column(column_node.value) if isinstance(column_node, yaml.ScalarNode) else None
    if column is None:
        raise error(column_node, f"{table_name}.column: no column {column_node.value!r} in table {table_name}")
    if not (column.type == "date" or column.type.startswith("timestamp")) or column.type.endswith("[]"):
        raise error(column_node, f"{table_name}.column: {column.name} is {column.type}, "
                                 f"not a date or timestamp")
    return column.name


def load_retention(folder: Path, module: Module, display_root: Path | None = None) -> list[Retention]:
    """The module folder's retention.yaml, validated against `module`; [] when there is none."""
    path = folder / RETENTION_FILE
    if not path.is_file():
        return []
    shown = path.relative_to(display_root) if display_root and path.is_relative_to(display_root) else path
    return parse_retention(str(shown), read_source(path, str(shown)), module)

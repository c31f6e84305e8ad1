"""Adoption: taking over an object that exists in the database and that this tool did not make,
as it is, without any DDL (`modules[i].adopt: true`).

The live object is compared with the declared one after the same normalization `read` uses: the
declared object is created, with the DDL the provider would run, in a scratch schema inside a
savepoint that is rolled back, and read back with the same catalog query (catalog.py) as the
live one. The two readings are then compared element by element (each column, constraint,
comment, RLS flag, index definition, policy clause, function, trigger or view definition).
Equal: the object is adopted, nothing runs. Different: AdoptionRefused lists every difference
and nothing is changed.

Catalog renderings mention schemas. They are made to agree in two ways:
- names PostgreSQL qualifies only when the search path does not find them (a foreign key's
  table, a function in a default, a policy or a view): the shadow is read with the scratch
  schema first in the search path and the module's schema after it, and every table of the
  module it refers to is an empty copy in the scratch schema (CREATE TABLE ... LIKE, which
  takes no lock that blocks writers), so it is found exactly as the live one finds the real
  table. A foreign key to a table of another schema refers to the real table (its lock is
  held only until the savepoint is rolled back);
- definitions PostgreSQL always qualifies (pg_get_indexdef's table, pg_get_triggerdef's table,
  pg_get_functiondef's name) are parsed with pglast and compared without that schema.

The owner is not compared: an adopted object keeps the owner it has (see base.py and the
README): handing it to the stack's owner is DDL, which adoption never runs.
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pglast import ast, parse_sql
from pglast.stream import RawStream
from psycopg import Cursor, sql

from ..model import plan
from ..model.objects import extends_only
from . import catalog
from .errors import AdoptionRefused

SCRATCH = "pgstack_adoption"  # created and dropped inside one rolled-back savepoint

# The indexes (not those of a constraint), policies and triggers a live table carries.
ON_TABLE = {
    "indexes": """SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                  WHERE i.indrelid = %s AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid
                  AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')) ORDER BY 1""",
    "policies": "SELECT polname FROM pg_policy WHERE polrelid = %s ORDER BY 1",
    "triggers": "SELECT tgname FROM pg_trigger WHERE tgrelid = %s AND NOT tgisinternal ORDER BY 1",
}
ON_TABLE_KIND = {"indexes": "index", "policies": "policy", "triggers": "trigger"}
# Not what the files declare: the owner (kept, see README), and code a table's read reports that
# the stack did not declare (trigger_guard.py): undeclared triggers refuse adoption anyway
# (_undeclared_on_table), and TRIGGER privileges are grants, which stack config decides.
NOT_COMPARED = {"owner", "foreign_triggers", "trigger_privileges"}


@dataclass(frozen=True)
class Difference:
    element: str  # "column confidence_score", "index idx_x on t", "definition"
    property: str | None  # "type", "default", ... (None: the element as a whole)
    live: str | None  # None: not in the database
    declared: str | None  # None: not in the files

    def __str__(self) -> str:
        if self.declared is None:
            return f"{self.element}: exists live, not declared"
        if self.live is None:
            return f"{self.element}: declared, missing live"
        what = f"{self.element}, {self.property}" if self.property else self.element
        return f"{what}: live {self.live}; declared {self.declared}"


def verify(provider, cur: Cursor, new: dict, live: dict) -> None:
    """Raise AdoptionRefused unless the live object is what `new` declares."""
    live = provider.existing(new, live)
    if live is None:
        return  # nothing of it exists (a table the module only extends, without its columns)
    with cur.connection.transaction(force_rollback=True):
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCRATCH)))
        path = [SCRATCH, *provider.search_path(new)]
        cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.SQL(", ").join(map(sql.Identifier, path))))
        shadow = {**copy.deepcopy(new), "schema": SCRATCH}
        BUILD[provider.kind](cur, new, shadow)
        declared = provider.existing(shadow, type(provider).introspect(cur, shadow)) or {}
        on_table = _undeclared_on_table(cur, new) if provider.kind == "table" else []
    differences = _compare(provider.kind, live, declared) + on_table
    if differences:
        raise AdoptionRefused(provider.kind, provider.object_id(new), new.get("source", "unknown source"),
                              [str(d) for d in differences])


# --- the declared object, built in the scratch schema ----------------------------------------------

def _copy(cur: Any, schema: str, table: str, indexes: bool = False) -> None:
    """An empty copy of a live table in the scratch schema: its columns (and, for a table a
    foreign key references, its unique indexes), partitioned the same way."""
    key = cur.execute("SELECT pg_get_partkeydef(%s::regclass)",
                      (sql.Identifier(schema, table).as_string(cur),)).fetchone()
    query = sql.SQL("CREATE TABLE IF NOT EXISTS {} (LIKE {}{})").format(
        sql.Identifier(SCRATCH, table), sql.Identifier(schema, table),
        sql.SQL(" INCLUDING INDEXES" if indexes else ""))
    if key and key[0]:
        query = sql.SQL("{} PARTITION BY {}").format(query, sql.SQL(key[0]))  # the catalog's own rendering
    cur.execute(query)


def _run(cur: Any, steps: list[plan.Step]) -> None:
    for step in steps:
        cur.execute(step.statement)


def _table(cur: Any, new: dict, shadow: dict) -> None:
    schema = new["schema"]
    for constraint in shadow.get("constraints", []):
        ref = constraint.get("references")
        if ref and ref["schema"] == schema:
            if ref["table"] != new["name"]:
                _copy(cur, schema, ref["table"], indexes=True)
            constraint["references"] = {**ref, "schema": SCRATCH}
    if extends_only(new):
        # The rest of the table as it is, then the module's columns added the way create adds them.
        _copy(cur, schema, new["name"])
        for column in new.get("columns", []):
            cur.execute(sql.SQL("ALTER TABLE {} DROP COLUMN IF EXISTS {}").format(
                sql.Identifier(SCRATCH, new["name"]), sql.Identifier(column["name"])))
    _run(cur, plan.create_table(shadow))


def _index(cur: Any, new: dict, shadow: dict) -> None:
    _copy(cur, new["schema"], new["table"])
    _run(cur, plan.create_index(shadow, online=False))


def _policy(cur: Any, new: dict, shadow: dict) -> None:
    _copy(cur, new["schema"], new["table"])
    _run(cur, plan.create_policy(shadow))


def _partition(cur: Any, new: dict, shadow: dict) -> None:
    _copy(cur, new["schema"], new["table"])
    _run(cur, plan.create_partition(shadow))


def _retargeted(definition: str, schema: str, relation: bool, function: bool) -> sql.SQL:
    """A declared CREATE FUNCTION/TRIGGER/VIEW moved to the scratch schema: its own relation
    (a trigger's table, a view) and/or its own function name."""
    stmt: Any = parse_sql(definition)[0].stmt
    if relation:
        target: Any = stmt.view if isinstance(stmt, ast.ViewStmt) else stmt.relation
        if target.schemaname in (None, schema):
            target.schemaname = SCRATCH
    if function:
        stmt.funcname = (ast.String(sval=SCRATCH), stmt.funcname[-1])
    return sql.SQL(RawStream()(stmt))


def _function(cur: Any, new: dict, shadow: dict) -> None:
    cur.execute(_retargeted(new["definition"], new["schema"], relation=False, function=True))


def _trigger(cur: Any, new: dict, shadow: dict) -> None:
    _copy(cur, new["schema"], new["table"])
    # Its function stays the live one: the trigger resource waits for it.
    cur.execute(_retargeted(new["definition"], new["schema"], relation=True, function=False))


def _view(cur: Any, new: dict, shadow: dict) -> None:
    # The tables it reads stay the live ones: only the view itself moves.
    cur.execute(_retargeted(new["definition"], new["schema"], relation=True, function=False))


BUILD: dict[str, Callable[[Any, dict, dict], None]] = {
    "table": _table, "index": _index, "policy": _policy, "partition": _partition,
    "function": _function, "trigger": _trigger, "view": _view,
}


# --- comparison ---------------------------------------------------------------------------------

def _unqualified(kind: str, text: str) -> str:
    """A definition PostgreSQL always qualifies with the schema, without it: the object's table
    (index, trigger) or its own name (function), re-rendered by pglast."""
    stmt: Any = parse_sql(text)[0].stmt
    if kind in ("index", "trigger"):
        stmt.relation.schemaname = None
    elif kind == "function":
        stmt.funcname = (stmt.funcname[-1],)
    return RawStream()(stmt)


def _shown(value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return repr(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _element(key: str) -> str:
    kind, _, name = key.partition(":")
    return f"{kind} {name}" if name else key


def _compare(kind: str, live: dict, declared: dict) -> list[Difference]:
    differences = []
    for key in sorted(set(live) | set(declared)):
        if key in NOT_COMPARED:
            continue
        element = _element(key)
        if key not in declared:
            differences.append(Difference(element, None, "exists", None))
            continue
        if key not in live:
            differences.append(Difference(element, None, None, "declared"))
            continue
        (live_print, live_form), (declared_print, declared_form) = live[key], declared[key]
        if kind in ("index", "trigger", "function") and key == "definition":
            if live_print.endswith(catalog.INVALID_INDEX):
                differences.append(Difference("index", "validity", "INVALID (a failed concurrent build)", "valid"))
                continue
            live_print, declared_print = _unqualified(kind, live_print), _unqualified(kind, declared_print)
            live_form, declared_form = live_print, declared_print
        if live_print == declared_print:
            continue
        if isinstance(live_form, dict) and isinstance(declared_form, dict):
            for prop in sorted(set(live_form) | set(declared_form)):
                if prop != "name" and live_form.get(prop) != declared_form.get(prop):
                    differences.append(Difference(element, prop, _shown(live_form.get(prop)),
                                                  _shown(declared_form.get(prop))))
        else:
            differences.append(Difference(element, None, _shown(live_form), _shown(declared_form)))
    return differences


def _undeclared_on_table(cur: Cursor, new: dict) -> list[Difference]:
    """Indexes, policies and triggers on the live table that the module does not declare: with
    them left out, the files would not say what the table is. (`adopt` carries the names the
    module declares on the table; a table the module only extends is someone else's.)"""
    declared = new.get("adopt")
    if extends_only(new) or not isinstance(declared, dict):
        return []
    row = cur.execute("SELECT %s::regclass::oid", (sql.Identifier(new["schema"], new["name"]).as_string(cur),)
                      ).fetchone()
    assert row is not None
    differences = []
    for collection, query in ON_TABLE.items():
        for (name,) in cur.execute(query, (row[0],)).fetchall():
            if name not in declared.get(collection, []):
                differences.append(Difference(f"{ON_TABLE_KIND[collection]} {name} on {new['name']}", None,
                                              "exists", None))
    return differences


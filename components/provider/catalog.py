"""Catalog introspection: one readable query per object kind.

Each kind is read the same way for one object (when a change plans from the live object and
reads it back) and for every object of a schema at once (a snapshot, which `read` serves a
refresh from: see snapshot.py): its query takes the schema and either the object's name or
NULL for all of them.

A kind called with (cursor, inputs) returns the live object as `{element key: (fingerprint,
live form)}`, or None when the object does not exist. A fingerprint is the catalog's own
rendering of an element; it is recorded when the provider applies the object, and compared on
`read` to tell what changed by hand. The live form is how a drifted element is reported in
state.
"""

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from psycopg import Cursor

from ..model.objects import extends_only
from . import trigger_guard

# The name filters below: %(name)s NULL means every object of the schema.
TABLES = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, obj_description(c.oid, 'pg_class'),
       pg_get_userbyid(c.relowner), CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND (%(name)s::name IS NULL OR c.relname = %(name)s::name) AND c.relkind IN ('r', 'p')
"""

COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), pg_get_expr(d.adbin, d.adrelid),
       a.attnotnull, a.attidentity, col_description(a.attrelid, a.attnum)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = %(schema)s AND (%(name)s::name IS NULL OR c.relname = %(name)s::name) AND c.relkind IN ('r', 'p')
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""

# contype 'n' (NOT NULL, catalogued since PostgreSQL 18) is a column property here.
CONSTRAINTS = """
SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_constraint k ON k.conrelid = c.oid
WHERE n.nspname = %(schema)s AND (%(name)s::name IS NULL OR c.relname = %(name)s::name) AND c.relkind IN ('r', 'p')
  AND k.contype IN ('p', 'u', 'c', 'f', 'x')
ORDER BY c.relname, k.conname
"""

# The parent is NULL for a table that was detached (or never was a partition).
PARTITIONS = """
SELECT c.relname, parent.relname, pg_get_expr(c.relpartbound, c.oid), c.relrowsecurity, pg_get_userbyid(c.relowner)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
LEFT JOIN pg_class parent ON parent.oid = i.inhparent
WHERE n.nspname = %(schema)s AND (%(name)s::name IS NULL OR c.relname = %(name)s::name) AND c.relkind IN ('r', 'p')
"""

INDEXES = """
SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisvalid
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND (%(name)s::name IS NULL OR c.relname = %(name)s::name)
"""

POLICIES = """
SELECT tablename, policyname, cmd, permissive, roles::text[], qual, with_check
FROM pg_policies
WHERE schemaname = %(schema)s
  AND (%(name)s::name IS NULL OR (tablename = %(table)s::name AND policyname = %(name)s::name))
"""

FUNCTIONS = """
SELECT p.proname, oidvectortypes(p.proargtypes), pg_get_functiondef(p.oid), pg_get_userbyid(p.proowner)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = %(schema)s AND p.prokind <> 'a'  -- pg_get_functiondef refuses aggregates
  AND (%(name)s::name IS NULL OR (p.proname = %(name)s::name AND oidvectortypes(p.proargtypes) = %(arguments)s::text))
"""

TRIGGERS = """
SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), NULL
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND NOT t.tgisinternal
  AND (%(name)s::name IS NULL OR (c.relname = %(table)s::name AND t.tgname = %(name)s::name))
"""

VIEWS = """
SELECT c.relname, pg_get_viewdef(c.oid), pg_get_userbyid(c.relowner), c.reloptions
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND (%(name)s::name IS NULL OR c.relname = %(name)s::name) AND c.relkind = 'v'
"""

# Enum types' values in their order (a value added BEFORE another sorts before it).
ENUMS = """
SELECT t.typname, ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder),
       pg_get_userbyid(t.typowner)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = %(schema)s AND (%(name)s::name IS NULL OR t.typname = %(name)s::name) AND t.typtype = 'e'
"""

# The partitions of one partitioned table.
PARTITION_NAMES = """
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace
WHERE n.nspname = %s AND p.relname = %s ORDER BY c.relname
"""

# The tables of a schema (those named, or all of them).
TABLE_NAMES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p')
  AND (%(names)s::name[] IS NULL OR c.relname = ANY(%(names)s::name[]))
"""

INVALID_INDEX = " -- INVALID (a failed concurrent build)"
CONSTRAINT_KINDS = {"p": "primary_key", "u": "unique", "c": "check", "f": "foreign_key", "x": "exclusion"}
IDENTITY = {"a": "always", "d": "by default"}

Rows = dict[Hashable, Any]  # an object's key -> its catalog rows


@dataclass(frozen=True)
class Kind:
    """How one kind of object is read from the catalog."""

    # (cursor, schema, inputs or None for every object of the schema) -> rows by object key
    rows: Callable[[Cursor, str, dict | None], Rows]
    key: Callable[[dict], Hashable]  # the object's key among the rows, from its inputs
    live: Callable[[Any, dict], dict | None]  # its rows (None: not found), inputs -> live form

    def __call__(self, cur: Cursor, inputs: dict) -> dict | None:
        """The one object `inputs` names."""
        return self.from_rows(self.rows(cur, inputs["schema"], inputs), inputs)

    def snapshot(self, cur: Cursor, schema: str) -> Rows:
        """Every object of this kind in `schema`, for `from_rows` to look up."""
        return self.rows(cur, schema, None)

    def from_rows(self, rows: Rows, inputs: dict) -> dict | None:
        """The live form of the object `inputs` names, from its schema's rows (or its own)."""
        return self.live(rows.get(self.key(inputs)), inputs)


def _params(schema: str, inputs: dict | None, **more: str) -> dict:
    """Query parameters: the object's name (and what else identifies it), or NULLs for all."""
    names = {"name": inputs["name"], **{k: inputs.get(k, default) for k, default in more.items()}} if inputs \
        else {"name": None, **dict.fromkeys(more)}
    return {"schema": schema, **names}


def _rows(query: str, key_columns: int = 1, **more: str) -> Callable[[Cursor, str, dict | None], Rows]:
    """A kind's rows: each row of `query` under its first `key_columns` columns (the object's
    key), for the object `inputs` names or (None) every object of the schema."""
    def rows(cur: Cursor, schema: str, inputs: dict | None) -> Rows:
        found = cur.execute(query, _params(schema, inputs, **more))
        if key_columns == 1:
            return {row[0]: row[1:] for row in found}
        return {tuple(row[:key_columns]): row[key_columns:] for row in found}
    return rows


# --- tables --------------------------------------------------------------------------------------

def _table_rows(cur: Cursor, schema: str, inputs: dict | None) -> Rows:
    params = _params(schema, inputs)
    tables: Rows = {row[0]: {"table": row[1:], "columns": [], "constraints": []}
                    for row in cur.execute(TABLES, params).fetchall()}
    if tables:
        for name, *column in cur.execute(COLUMNS, params).fetchall():
            tables[name]["columns"].append(column)
        for name, *constraint in cur.execute(CONSTRAINTS, params).fetchall():
            tables[name]["constraints"].append(constraint)
        for name, code in trigger_guard.code_rows(cur, schema, [inputs["name"]] if inputs else None).items():
            if name in tables:
                tables[name]["code"] = code
    return tables


def _table_live(rows: dict | None, inputs: dict) -> dict | None:
    if rows is None:
        return None
    rls_enabled, rls_forced, comment, owner, partition_by = rows["table"]
    live = {}
    for name, type_, default, not_null, identity, col_comment in rows["columns"]:
        form = {"name": name, "type": type_, "not_null": not_null, "default": default,
                "identity": IDENTITY.get(identity), "comment": col_comment}
        form = {k: v for k, v in form.items() if v is not None}
        live[f"column:{name}"] = (f"{type_}|{default}|{not_null}|{identity}|{col_comment}", form)
    for name, contype, definition in rows["constraints"]:
        form = {"name": name, "kind": CONSTRAINT_KINDS[contype], "definition": definition}
        live[f"constraint:{name}"] = (f"{contype}|{definition}", form)
    if not extends_only(inputs):
        live["comment"] = (str(comment), comment)
        live["rls_enabled"] = (str(rls_enabled), rls_enabled)
        live["rls_forced"] = (str(rls_forced), rls_forced)
        live["partition_by"] = (str(partition_by), partition_by)
        if "owner" in inputs:
            live["owner"] = (owner, owner)
            live.update(_foreign_code(rows.get("code", {}), inputs))
    return live


def _foreign_code(code: dict, inputs: dict) -> dict:
    """Triggers and TRIGGER privileges on a table the stack creates (and its partitions) that
    the stack did not declare: drift, which the next `up` removes (trigger_guard.py)."""
    schema, name = inputs["schema"], inputs["name"]
    declared = [dict(t, table=name) for t in inputs.get("triggers", [])]
    triggers = trigger_guard.foreign_triggers(schema, code.get("triggers", []), declared)
    grantees = trigger_guard.foreign_grantees(schema, code.get("grantees", []), inputs.get("trigger_grantees", []))
    return {"foreign_triggers": (str(triggers), triggers or None),
            "trigger_privileges": (str(grantees), grantees or None)}


table = Kind(_table_rows, lambda inputs: inputs["name"], _table_live)


# --- partitions, indexes, policies ---------------------------------------------------------------

def _partition_live(row: tuple | None, inputs: dict) -> dict | None:
    if row is None:
        return None
    parent, bound, rls_enabled, owner = row
    bound = bound or "DETACHED"
    live = {"table": (str(parent), parent), "bound": (bound, bound), "rls_enabled": (str(rls_enabled), rls_enabled)}
    if "owner" in inputs:
        live["owner"] = (owner, owner)
    return live


partition = Kind(_rows(PARTITIONS), lambda inputs: inputs["name"], _partition_live)


def _index_live(row: tuple | None, inputs: dict) -> dict | None:
    if row is None:
        return None
    definition, valid = row
    text = definition if valid else f"{definition}{INVALID_INDEX}"
    return {"definition": (text, text)}


index = Kind(_rows(INDEXES), lambda inputs: inputs["name"], _index_live)


def _policy_live(row: tuple | None, inputs: dict) -> dict | None:
    if row is None:
        return None
    cmd, permissive, roles, qual, with_check = row
    fields = {"command": cmd.lower(), "permissive": permissive == "PERMISSIVE", "roles": sorted(roles),
              "using": qual, "with_check": with_check}
    return {key: (str(value), value) for key, value in fields.items()}


policy = Kind(_rows(POLICIES, 2, table=""), lambda inputs: (inputs["table"], inputs["name"]), _policy_live)


def partitions(cur: Cursor, schema: str, table: str) -> list[str]:
    """The partitions of a partitioned table, by name."""
    return [row[0] for row in cur.execute(PARTITION_NAMES, (schema, table)).fetchall()]


# --- enum types ----------------------------------------------------------------------------------

def _enum_live(row: tuple | None, inputs: dict) -> dict | None:
    if row is None:
        return None
    values, owner = row
    live = {"values": (json.dumps(values), values)}
    if "owner" in inputs:
        live["owner"] = (owner, owner)
    return live


enum = Kind(_rows(ENUMS), lambda inputs: inputs["name"], _enum_live)


# --- functions, triggers, views: a definition and an owner ---------------------------------------

def _definition_live(row: tuple | None, inputs: dict) -> dict | None:
    if row is None:
        return None
    definition, owner = row
    live = {"definition": (definition, definition)}
    if owner is not None and "owner" in inputs:  # triggers have no owner of their own
        live["owner"] = (owner, owner)
    return live


function = Kind(_rows(FUNCTIONS, 2, arguments=""), lambda inputs: (inputs["name"], inputs.get("arguments", "")),
                _definition_live)
trigger = Kind(_rows(TRIGGERS, 2, table=""), lambda inputs: (inputs.get("table"), inputs["name"]), _definition_live)


def _view_live(row: tuple | None, inputs: dict) -> dict | None:
    """pg_get_viewdef() is the query alone: the options (security_invoker) are read beside it, so
    a view turned to its owner's rights by hand shows as drift."""
    if row is None:
        return None
    definition, owner, options = row
    live = _definition_live((definition, owner), inputs) or {}
    options = sorted(options or []) or None
    live["options"] = (str(options), options)
    return live


view = Kind(_rows(VIEWS), lambda inputs: inputs["name"], _view_live)


# --- sample data ---------------------------------------------------------------------------------

def _sample_tables(inputs: dict) -> list[str]:
    return sorted({s["table"] for s in inputs["statements"]})


def _sample_rows(cur: Cursor, schema: str, inputs: dict | None) -> Rows:
    """Sample rows leave no catalog trace of their own: what is read is which tables exist."""
    names = _sample_tables(inputs) if inputs else None
    return {row[0]: True for row in cur.execute(TABLE_NAMES, {"schema": schema, "names": names})}


class _SampleData(Kind):
    """Sample rows exist while the tables they were inserted into do ({}), and are gone (None)
    once one of those tables is."""

    def from_rows(self, rows: Rows, inputs: dict) -> dict | None:
        return self.live(rows, inputs)


sample_data = _SampleData(
    _sample_rows, lambda inputs: None,
    lambda tables, inputs: {} if all(t in tables for t in _sample_tables(inputs)) else None)

"""Catalog introspection: one readable query per object kind.

Each function returns the live object as `{element key: (fingerprint, live form)}`, or None
when the object does not exist. A fingerprint is the catalog's own rendering of an element;
it is recorded when the provider applies the object, and compared on `read` to tell what
changed by hand. The live form is how a drifted element is reported in state.
"""

import json

from psycopg import Cursor

from ..model.objects import extends_only

TABLE_OID = """
SELECT c.oid, c.relrowsecurity, c.relforcerowsecurity, obj_description(c.oid, 'pg_class'),
       pg_get_userbyid(c.relowner), CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')
"""

# The parent is NULL for a table that was detached (or never was a partition).
PARTITION = """
SELECT parent.relname, pg_get_expr(c.relpartbound, c.oid), c.relrowsecurity, pg_get_userbyid(c.relowner)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
LEFT JOIN pg_class parent ON parent.oid = i.inhparent
WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')
"""

COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), pg_get_expr(d.adbin, d.adrelid),
       a.attnotnull, a.attidentity, col_description(a.attrelid, a.attnum)
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

# contype 'n' (NOT NULL, catalogued since PostgreSQL 18) is a column property here.
CONSTRAINTS = """
SELECT conname, contype, pg_get_constraintdef(oid)
FROM pg_constraint WHERE conrelid = %s AND contype IN ('p', 'u', 'c', 'f', 'x')
ORDER BY conname
"""

INDEX = """
SELECT pg_get_indexdef(i.indexrelid), i.indisvalid
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s
"""

POLICY = """
SELECT cmd, permissive, roles::text[], qual, with_check
FROM pg_policies WHERE schemaname = %s AND tablename = %s AND policyname = %s
"""

FUNCTION = """
SELECT pg_get_functiondef(p.oid), pg_get_userbyid(p.proowner)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = %s AND p.proname = %s AND oidvectortypes(p.proargtypes) = %s
"""

TRIGGER = """
SELECT pg_get_triggerdef(t.oid), NULL
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s AND t.tgname = %s AND NOT t.tgisinternal
"""

VIEW = """
SELECT pg_get_viewdef(c.oid), pg_get_userbyid(c.relowner)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s AND c.relkind = 'v'
"""

# An enum type's values in their order (a value added BEFORE another sorts before it).
ENUM = """
SELECT ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder),
       pg_get_userbyid(t.typowner)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = %s AND t.typname = %s AND t.typtype = 'e'
"""

# How many of the named tables exist in a schema.
TABLES = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = ANY(%s) AND c.relkind IN ('r', 'p')
"""

INVALID_INDEX = " -- INVALID (a failed concurrent build)"
CONSTRAINT_KINDS = {"p": "primary_key", "u": "unique", "c": "check", "f": "foreign_key", "x": "exclusion"}
IDENTITY = {"a": "always", "d": "by default"}


def table(cur: Cursor, inputs: dict) -> dict | None:
    row = cur.execute(TABLE_OID, (inputs["schema"], inputs["name"])).fetchone()
    if row is None:
        return None
    oid, rls_enabled, rls_forced, comment, owner, partition_by = row
    live = {}
    for name, type_, default, not_null, identity, col_comment in cur.execute(COLUMNS, (oid,)).fetchall():
        form = {"name": name, "type": type_, "not_null": not_null, "default": default,
                "identity": IDENTITY.get(identity), "comment": col_comment}
        form = {k: v for k, v in form.items() if v is not None}
        live[f"column:{name}"] = (f"{type_}|{default}|{not_null}|{identity}|{col_comment}", form)
    for name, contype, definition in cur.execute(CONSTRAINTS, (oid,)).fetchall():
        form = {"name": name, "kind": CONSTRAINT_KINDS[contype], "definition": definition}
        live[f"constraint:{name}"] = (f"{contype}|{definition}", form)
    if not extends_only(inputs):
        live["comment"] = (str(comment), comment)
        live["rls_enabled"] = (str(rls_enabled), rls_enabled)
        live["rls_forced"] = (str(rls_forced), rls_forced)
        live["partition_by"] = (str(partition_by), partition_by)
        if "owner" in inputs:
            live["owner"] = (owner, owner)
    return live


def partition(cur: Cursor, inputs: dict) -> dict | None:
    row = cur.execute(PARTITION, (inputs["schema"], inputs["name"])).fetchone()
    if row is None:
        return None
    parent, bound, rls_enabled, owner = row
    bound = bound or "DETACHED"
    live = {"table": (str(parent), parent), "bound": (bound, bound), "rls_enabled": (str(rls_enabled), rls_enabled)}
    if "owner" in inputs:
        live["owner"] = (owner, owner)
    return live


def index(cur: Cursor, inputs: dict) -> dict | None:
    row = cur.execute(INDEX, (inputs["schema"], inputs["name"])).fetchone()
    if row is None:
        return None
    definition, valid = row
    text = definition if valid else f"{definition}{INVALID_INDEX}"
    return {"definition": (text, text)}


def policy(cur: Cursor, inputs: dict) -> dict | None:
    row = cur.execute(POLICY, (inputs["schema"], inputs["table"], inputs["name"])).fetchone()
    if row is None:
        return None
    cmd, permissive, roles, qual, with_check = row
    fields = {"command": cmd.lower(), "permissive": permissive == "PERMISSIVE", "roles": sorted(roles),
              "using": qual, "with_check": with_check}
    return {key: (str(value), value) for key, value in fields.items()}


def enum(cur: Cursor, inputs: dict) -> dict | None:
    row = cur.execute(ENUM, (inputs["schema"], inputs["name"])).fetchone()
    if row is None:
        return None
    values, owner = row
    live = {"values": (json.dumps(values), values)}
    if "owner" in inputs:
        live["owner"] = (owner, owner)
    return live


def _single(query: str, key: str):
    def introspect(cur: Cursor, inputs: dict) -> dict | None:
        params = {
            "function": (inputs["schema"], inputs["name"], inputs.get("arguments", "")),
            "trigger": (inputs["schema"], inputs.get("table"), inputs["name"]),
            "view": (inputs["schema"], inputs["name"]),
        }[key]
        row = cur.execute(query, params).fetchone()
        if row is None:
            return None
        definition, owner = row
        live = {"definition": (definition, definition)}
        if owner is not None and "owner" in inputs:  # triggers have no owner of their own
            live["owner"] = (owner, owner)
        return live
    return introspect


function = _single(FUNCTION, "function")
trigger = _single(TRIGGER, "trigger")
view = _single(VIEW, "view")


def sample_data(cur: Cursor, inputs: dict) -> dict | None:
    """Sample rows leave no catalog trace of their own: they exist while the tables they were
    inserted into do ({}), and are gone (None) once one of those tables is."""
    tables = sorted({s["table"] for s in inputs["statements"]})
    row = cur.execute(TABLES, (inputs["schema"], tables)).fetchone()
    assert row is not None, "count(*) returns one row"
    found = row[0]
    return {} if found == len(tables) else None


PARTITIONS = """
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace
WHERE n.nspname = %s AND p.relname = %s ORDER BY c.relname
"""


def partitions(cur: Cursor, schema: str, table: str) -> list[str]:
    """The partitions of a partitioned table, by name."""
    return [row[0] for row in cur.execute(PARTITIONS, (schema, table)).fetchall()]

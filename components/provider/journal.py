"""The provider's own record, in the database, of what it last applied to each object.

Pulumi's state is written after an operation returns; if the connection dies at COMMIT, the
change is in the database and not in the state. The journal row is written in the same
transaction as the change, so the database always knows what the provider last applied, and
the next operation plans from that instead of from a state that missed it. An object that
exists but has no journal row was not made by this tool: taking it over is adoption.

It lives in schema `pgstack`, which only the deploying user can read, and is created on the
first change the provider makes (adopting objects without changing them creates nothing).
"""

import json

from psycopg import Cursor, sql

SCHEMA = "pgstack"
TABLE = sql.Identifier(SCHEMA, "journal")


def ensure(cur: Cursor) -> None:
    """Create the journal if it does not exist (callers hold the deployment lock), in one
    round trip: it runs before every change."""
    cur.execute(sql.SQL("; ").join(ensure_statements()))


def ensure_statements() -> list[sql.Composed]:
    return [sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)),
            sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(SCHEMA)),
            sql.SQL("""CREATE TABLE IF NOT EXISTS {} (
        resource text PRIMARY KEY,
        definition jsonb NOT NULL,
        applied jsonb NOT NULL,
        kept jsonb NOT NULL DEFAULT '[]',  -- statements to run when the object is created again
        updated_at timestamptz NOT NULL DEFAULT now())""").format(TABLE)]


def read(cur: Cursor, resource: str) -> dict | None:
    """What was last applied to `resource`: its definition and applied fingerprints."""
    if not _exists(cur):
        return None
    row = cur.execute(sql.SQL("SELECT definition, applied FROM {} WHERE resource = %s").format(TABLE),
                      (resource,)).fetchone()
    return None if row is None else {**row[0], "applied": row[1]}


def write(cur: Cursor, resource: str, definition: dict, applied: dict) -> None:
    ensure(cur)
    cur.execute(sql.SQL("""INSERT INTO {} (resource, definition, applied) VALUES (%s, %s, %s)
        ON CONFLICT (resource) DO UPDATE SET definition = excluded.definition, applied = excluded.applied,
        kept = '[]', updated_at = now()""").format(TABLE), (resource, json.dumps(definition), json.dumps(applied)))


def keep_statements(resource: str, statements: list[str]) -> list[sql.Composed]:
    """The statements that remember, for an object another change drops (a view that reads a
    dropped column), what to give it back when its own resource creates it again: its grants,
    comment and owner, which would otherwise be lost without a trace in any state."""
    return ensure_statements() + [sql.SQL("""INSERT INTO {} (resource, definition, applied, kept)
        VALUES ({}, '{{}}', '{{}}', {}) ON CONFLICT (resource) DO UPDATE SET kept = excluded.kept""").format(
        TABLE, sql.Literal(resource), sql.Literal(json.dumps(statements)))]


def kept(cur: Cursor, resource: str) -> list[str]:
    if not _exists(cur):
        return []
    row = cur.execute(sql.SQL("SELECT kept FROM {} WHERE resource = %s").format(TABLE), (resource,)).fetchone()
    return list(row[0]) if row else []


def forget(cur: Cursor, resource: str) -> None:
    if _exists(cur):
        cur.execute(sql.SQL("DELETE FROM {} WHERE resource = %s").format(TABLE), (resource,))


def _exists(cur: Cursor) -> bool:
    row = cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.journal",)).fetchone()
    return bool(row and row[0])


def entries(cur: Cursor) -> dict[str, dict]:
    """Every resource the journal knows, with what was last applied to it (as `read` gives it)."""
    if not _exists(cur):
        return {}
    rows = cur.execute(sql.SQL("SELECT resource, definition, applied FROM {}").format(TABLE)).fetchall()
    return {resource: {**definition, "applied": applied} for resource, definition, applied in rows}

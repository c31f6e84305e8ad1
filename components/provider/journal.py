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
    """Create the journal if it does not exist (callers hold the deployment lock)."""
    cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
    cur.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(SCHEMA)))
    cur.execute(sql.SQL("""CREATE TABLE IF NOT EXISTS {} (
        resource text PRIMARY KEY,
        definition jsonb NOT NULL,
        applied jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now())""").format(TABLE))


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
        updated_at = now()""").format(TABLE), (resource, json.dumps(definition), json.dumps(applied)))


def forget(cur: Cursor, resource: str) -> None:
    if _exists(cur):
        cur.execute(sql.SQL("DELETE FROM {} WHERE resource = %s").format(TABLE), (resource,))


def _exists(cur: Cursor) -> bool:
    row = cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.journal",)).fetchone()
    return bool(row and row[0])

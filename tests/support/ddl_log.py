"""Test code: a record of every DDL command run in a database, kept by event triggers (which
PostgreSQL fires for every role, in the transaction of the command: a command that is rolled
back, like the scratch objects adoption builds inside a savepoint, leaves no row).

Kept in schema `ddl_audit`, outside every schema a test adopts or scaffolds. Each row is one
object a command created, changed or dropped (pg_event_trigger_ddl_commands() and
pg_event_trigger_dropped_objects()): its command tag, object type, schema and identity. A
GRANT or REVOKE has an object type but no schema or identity.
"""

from dataclasses import dataclass

import psycopg

INSTALL = """
CREATE SCHEMA ddl_audit;
CREATE TABLE ddl_audit.log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tag text NOT NULL, object_type text, schema_name text, identity text, query text);
CREATE FUNCTION ddl_audit.record() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO ddl_audit.log (tag, object_type, schema_name, identity, query)
    SELECT command_tag, object_type, schema_name, object_identity, current_query()
    FROM pg_event_trigger_ddl_commands();
END $$;
CREATE FUNCTION ddl_audit.record_drop() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO ddl_audit.log (tag, object_type, schema_name, identity, query)
    SELECT tg_tag, object_type, schema_name, object_identity, current_query()
    FROM pg_event_trigger_dropped_objects();
END $$;
CREATE EVENT TRIGGER ddl_audit_end ON ddl_command_end EXECUTE FUNCTION ddl_audit.record();
CREATE EVENT TRIGGER ddl_audit_drop ON sql_drop EXECUTE FUNCTION ddl_audit.record_drop();
"""


@dataclass(frozen=True)
class Command:
    tag: str
    object_type: str | None
    schema: str | None
    identity: str | None
    query: str


def install(conn: psycopg.Connection) -> None:
    conn.execute(INSTALL)


def since(conn: psycopg.Connection, mark: int = 0) -> list[Command]:
    """The commands recorded after row `mark` (see `mark`)."""
    rows = conn.execute("SELECT tag, object_type, schema_name, identity, query FROM ddl_audit.log WHERE id > %s "
                        "ORDER BY id", (mark,)).fetchall()
    return [Command(*row) for row in rows]


def mark(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT coalesce(max(id), 0) FROM ddl_audit.log").fetchone()
    assert row is not None
    return row[0]


def in_schema(commands: list[Command], schema: str) -> list[Command]:
    """The commands on objects of `schema`, and on policies and triggers of its tables (which
    have no schema of their own: their identity is `name on schema.table`)."""
    return [c for c in commands
            if c.schema == schema or (c.identity or "").rpartition(" on ")[2].startswith(f"{schema}.")]

"""Test code: databases on the session's PostgreSQL server, new or copied from a template."""

import uuid

import psycopg
from psycopg import sql

from components import devdb


def new_database(server: dict, template: str | None = None, name: str | None = None) -> dict:
    """Connection settings of a new database (named `name`, by default a new name): empty, or a
    copy of the database `template` (which nobody may be connected to)."""
    name = name or f"test_{uuid.uuid4().hex[:12]}"
    if template is None:
        devdb.create_database(server, name)
    else:
        with psycopg.connect(**server, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                          sql.Identifier(template)))
    return dict(server, dbname=name)


def drop_database(server: dict, database: dict) -> None:
    with psycopg.connect(**server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database["dbname"])))


def rename_database(server: dict, database: dict, name: str) -> dict:
    with psycopg.connect(**server, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(database["dbname"]),
                                                                     sql.Identifier(name)))
    return dict(database, dbname=name)

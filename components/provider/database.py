"""The provider's one connection to the stack's database, and the rules every change runs under.

- One connection per provider process, opened on first use and opened again if it broke; the
  SDK's gRPC server calls the provider from 4 threads, so operations take turns on it.
- Every operation holds the database's deployment lock (an advisory lock), so two deployments
  against one database (two `pulumi up`s, or parallel steps of one) never interleave their
  DDL. Pulumi's own stack lock covers one stack's state, not the database.
- Statements run with a short lock_timeout; a step that cannot get its lock is rolled back and
  retried with backoff until the stack's lock budget is spent, then fails naming the sessions
  in the way (pg_blocking_pids) and saying that nothing was changed.
"""

import random
import select
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from psycopg import errors, sql
from psycopg.rows import dict_row

from ..settings import ProviderSettings
from .errors import LockBudgetSpent
from .snapshot import Snapshots

# pg_advisory_lock key of the deployment lock: the same for every pgstack process.
DEPLOYMENT_LOCK = 0x7067737461636B  # "pgstack"
T = TypeVar("T")

# The catalog snapshots `read` serves from, shared by every Database of the process: any change
# the process makes, to whichever database, clears them all.
SNAPSHOTS = Snapshots()

BLOCKERS = """
SELECT a.pid, a.application_name, a.state, a.query_start, left(a.query, 120) AS query
FROM unnest(pg_blocking_pids(%s)) AS b(pid) JOIN pg_stat_activity a ON a.pid = b.pid
"""


def _hung_up(conn: psycopg.Connection) -> bool:
    """Whether the server closed an idle connection (a restart, an idle timeout, a terminated
    backend): the socket is then readable. Checked before each operation, so an operation
    starts on a working connection instead of failing on its first statement."""
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if not readable:
        return False
    try:
        conn.execute("SELECT 1")
        return False
    except psycopg.OperationalError:
        return True


class Database:
    def __init__(self, settings: ProviderSettings):
        self._settings = settings
        self._conn: psycopg.Connection | None = None
        self._turn = threading.Lock()

    def _connection(self) -> psycopg.Connection:
        if self._conn is not None and not self._conn.closed and _hung_up(self._conn):
            self._conn.close()
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(**self._settings.connection.kwargs(self._settings.password),
                                         autocommit=True)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    @contextmanager
    def session(self, changes: bool = True) -> Iterator[psycopg.Connection]:
        """The connection, this thread's alone while the block runs, in autocommit. A session
        that may change the database first clears the catalog snapshots: no read after it is
        served from one taken before it."""
        with self._turn:
            if changes:
                SNAPSHOTS.clear()
            conn = self._connection()
            yield conn  # a connection that broke is replaced on the next use

    def snapshot(self, key: Hashable, resource: str, take: Callable[[], T], burst: int = 0) -> T | None:
        """The rows of catalog snapshot `key` of this database, for one read of `resource`
        (snapshot.py: None, with `burst`, to read alone); `take` reads them, in a session taken
        with session(changes=False)."""
        conn = self._settings.connection
        return SNAPSHOTS.rows((conn.host, conn.port, conn.dbname, key), resource, take, burst)

    @contextmanager
    def transaction(self, conn: psycopg.Connection, search_path: list[str],
                    statement_timeout: int | None = None) -> Iterator[psycopg.Cursor]:
        """A transaction holding the deployment lock, with the stack's timeouts and a search path
        that resolves names the same way when applying and when reading back."""
        with conn.transaction(), conn.cursor() as cur:
            # Timeouts first: waiting for another deployment is a lock wait like any other,
            # retried within the lock budget and then reported with who holds it.
            self.configure_session(cur, search_path, statement_timeout, local=True)
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (DEPLOYMENT_LOCK,))
            yield cur

    @contextmanager
    def deployment_lock(self, conn: psycopg.Connection) -> Iterator[None]:
        """The deployment lock held by the session, for steps that cannot run in a transaction
        (CREATE INDEX CONCURRENTLY)."""
        conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{self._settings.safety.lock_timeout}ms",))
        conn.execute("SELECT pg_advisory_lock(%s)", (DEPLOYMENT_LOCK,))
        try:
            yield
        finally:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (DEPLOYMENT_LOCK,))

    def configure_session(self, cur: psycopg.Cursor, search_path: list[str], statement_timeout: int | None = None,
                          local: bool = False) -> None:
        """The search path and the stack's timeouts, for the session (statements outside a
        transaction) or, `local`, for the current transaction."""
        safety = self._settings.safety
        set_config(cur, {"search_path": search_path_value(cur, search_path), "lock_timeout": f"{safety.lock_timeout}ms",
                         "statement_timeout": f"{statement_timeout or safety.statement_timeout}ms"}, local)

    def with_lock_retries(self, conn: psycopg.Connection, what: str, attempt: Callable[[], T]) -> T:
        """Run `attempt` (which rolls itself back when it fails), again after a lock timeout,
        with exponential backoff and jitter, until the stack's lock budget is spent."""
        safety = self._settings.safety
        deadline = time.monotonic() + safety.lock_budget / 1000
        delay = 0.05
        blockers: list[dict] = []  # who was seen in the way, on the last attempt that saw anyone
        while True:
            # Who is in the way can only be seen while this session waits: look just before
            # its lock_timeout ends, from a second connection.
            seen: list[dict] = []
            watch = threading.Timer(safety.lock_timeout * 0.8 / 1000, self._watch, (conn.info.backend_pid, seen))
            watch.start()
            try:
                return attempt()
            except errors.LockNotAvailable:
                watch.cancel()
                watch.join()
                blockers = seen or blockers  # a loaded machine may look too late on one attempt
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LockBudgetSpent(what, safety.lock_budget, blockers) from None
                # The last wait ends at the deadline: the whole budget is tried, no more.
                time.sleep(min(delay * (0.5 + random.random()), remaining))
                delay = min(delay * 2, 5.0)
            finally:
                watch.cancel()
                watch.join()

    def _watch(self, pid: int, seen: list[dict]) -> None:
        try:
            with psycopg.connect(**self._settings.connection.kwargs(self._settings.password),
                                 row_factory=dict_row) as monitor:
                seen.extend(monitor.execute(BLOCKERS, (pid,)).fetchall())
        except psycopg.Error:
            pass  # only ever a better error message


def search_path_value(cur: psycopg.Cursor, schemas: list[str]) -> str:
    """A search_path setting naming `schemas`, each quoted as an identifier."""
    return sql.SQL(", ").join(map(sql.Identifier, schemas)).as_string(cur)


def set_config(cur: psycopg.Cursor, settings: dict[str, str], local: bool = True) -> None:
    """Set several settings for the transaction (or the session) in one round trip."""
    if settings:
        cur.execute(sql.SQL("SELECT {}").format(sql.SQL(", ").join(
            sql.SQL("set_config({}, {}, {})").format(sql.Literal(name), sql.Placeholder(), sql.Literal(local))
            for name in settings)), list(settings.values()))

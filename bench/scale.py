"""P5: synthetic modules of N tables (each with a primary key, 5 columns, an index, row level
security and a tenant policy, in a file of its own), through every step a user runs: parse,
the program under mocks, a full up, a no-op preview and a refresh (the engine stand-in and the
real provider process). Target: the time per table flat (within 20%) from the smallest module
to the largest.

The program's preview-time validation runs on this run's server (mode `server`, as the tests
run it), so no step pays for starting a server.
"""

import json
import shutil
import tempfile
import time
from pathlib import Path

from components.model.declared import DeclaredTables
from components.model.parser import parse_module

from .harness import Target, drop_database, figure, load, new_database
from .timing import TimedEngine

FLAT = Target(1.2, "per table within 20% from the smallest to the largest module")
STEPS = ("parse", "program under mocks", "up", "no-op preview", "refresh")

TABLE = """CREATE TABLE t{n:05d} (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    name        text NOT NULL,
    amount      numeric(12, 2) NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_t{n:05d}_tenant ON t{n:05d} (tenant_id, created_at);
ALTER TABLE t{n:05d} ENABLE ROW LEVEL SECURITY;
CREATE POLICY t{n:05d}_tenant ON t{n:05d} FOR ALL TO authenticated
    USING (tenant_id = (SELECT auth.uid())) WITH CHECK (tenant_id = (SELECT auth.uid()));
"""


def synthetic_module(tables: int) -> Path:
    """A project folder's sql/ with the module `synth` of `tables` tables."""
    root = Path(tempfile.mkdtemp(prefix="pgstack-bench-synth-")) / "sql"
    folder = root / "synth"
    folder.mkdir(parents=True)
    for n in range(1, tables + 1):
        (folder / f"{n:05d}_t{n:05d}.sql").write_text(TABLE.format(n=n))
    return root


def config() -> dict[str, str]:
    """The dev stack's settings, with the synthetic module as its only module."""
    return {
        "pgstack:modules": json.dumps([{"name": "synth", "schema": "synth"}]),
        "pgstack:roles": "[]",
        "pgstack:grants": json.dumps([{"module": "synth", "role": "authenticated", "schema": ["usage"],
                                       "tables": ["select", "insert", "update", "delete"]}]),
    }


def one_size(conninfo: dict, tables: int) -> dict[str, float]:
    root = synthetic_module(tables)
    database = new_database(conninfo, f"bench_synth_{tables}")
    times: dict[str, float] = {}
    try:
        start = time.perf_counter()
        parse_module("synth", "synth", root / "synth", DeclaredTables(), display_root=root.parent)
        times["parse"] = time.perf_counter() - start
        with TimedEngine(database, stack="dev", sql_root=root, config=config()) as engine:
            start = time.perf_counter()
            changes = engine.up().changed()
            times["up"] = time.perf_counter() - start
            assert len(changes["create"]) >= 3 * tables, changes.keys()
            start = time.perf_counter()
            assert engine.preview().changed() == {}
            times["no-op preview"] = time.perf_counter() - start
            times["program under mocks"] = engine.phases["program"]
            start = time.perf_counter()
            assert engine.refresh() == []
            times["refresh"] = time.perf_counter() - start
    finally:
        drop_database(conninfo, database)
        shutil.rmtree(root.parent, ignore_errors=True)
    return times


def p5(conninfo: dict, sizes: list[int]) -> None:
    print(f"P5  synthetic modules of {', '.join(map(str, sizes))} tables ({load()})", flush=True)
    per_table: dict[int, dict[str, float]] = {}
    one_size(conninfo, 10)  # warm up: imports, the parser, the first validation
    for tables in sizes:
        times = one_size(conninfo, tables)
        per_table[tables] = {step: seconds / tables for step, seconds in times.items()}
        detail = ", ".join(f"{step} {times[step]:.1f} s" for step in STEPS)
        figure("P5", f"{tables} tables", f"{detail} ({load()})")
    for step in STEPS:
        values = [per_table[n][step] for n in sizes]
        ratio = max(values) / min(values)
        shown = ", ".join(f"{n}: {v * 1000:.2f}" for n, v in zip(sizes, values, strict=True))
        figure("P5", f"{step}, ms per table", f"{shown}; highest/lowest {ratio:.2f}×", FLAT, ratio)

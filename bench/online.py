"""P3: how long schema changes block writes on a big table that is being written to.

A table of 1,000,000 rows (`orders`, with a 1,000-row `tenants` it may reference) takes
single-row INSERTs from a writer process the whole time; for each change the longest time one
INSERT took while the change ran is its stall. Each change is made twice: as the naive DDL a
person would type, then as the provider plans it for prod, driven through the provider process
exactly as `pulumi up` drives it (Pulumi.prod.yaml's `safety`, plus every online option the
installed settings know: `concurrent_indexes`, `online`). So whatever online strategies the
provider gains show here without a change to this script. Target: ≤ 50 ms per change.

The statements each plan ran are read from the server's log (log_statement = ddl).
"""

import contextlib
import copy
import json
import multiprocessing
import random
import time
from dataclasses import dataclass

import psycopg
from psycopg import sql

from components.provider import IndexProvider, TableProvider
from components.settings.connection import Safety
from tests.support.engine import connection_config, stack_file_config
from tests.support.provider_process import ProviderProcess, pickled

from .harness import SERVER_LOG, Target, drop_database, figure, load, new_database

TARGET = Target(0.050, "≤ 50 ms")
TENANTS = 1_000

ORDERS = {
    "schema": "public", "name": "orders", "managed": "table", "source": "bench/online.py",
    "columns": [
        {"name": "id", "type": "bigint", "not_null": True, "identity": "by default"},
        {"name": "tenant_id", "type": "bigint", "not_null": True},
        {"name": "amount", "type": "integer", "not_null": True},
        {"name": "code", "type": "text", "not_null": True},
        {"name": "note", "type": "text"},
        {"name": "created_at", "type": "timestamp with time zone", "not_null": True, "default": "now()"},
    ],
    "constraints": [{"name": "orders_pkey", "kind": "primary_key", "columns": ["id"]}],
    "rls_enabled": False, "rls_forced": False,
}
TENANTS_TABLE = {
    "schema": "public", "name": "tenants", "managed": "table", "source": "bench/online.py",
    "columns": [{"name": "id", "type": "bigint", "not_null": True}, {"name": "name", "type": "text"}],
    "constraints": [{"name": "tenants_pkey", "kind": "primary_key", "columns": ["id"]}],
    "rls_enabled": False, "rls_forced": False,
}
INDEX = {"schema": "public", "name": "idx_orders_tenant", "table": "orders", "source": "bench/online.py",
         "elements": [{"column": "tenant_id"}], "unique": False, "method": "btree"}


@dataclass
class Change:
    what: str
    naive: str  # the DDL a person would type
    undo_naive: str
    edit: object  # table inputs -> the changed table inputs (None: the index resource)
    undo: str  # how the provider's change is undone by hand, for the next change


def _add_column(t):
    t["columns"].append({"name": "status", "type": "text", "not_null": True, "default": "'new'::text"})


def _add_constraint(constraint):
    return lambda t: t["constraints"].append(constraint)


def _note_not_null(t):
    next(c for c in t["columns"] if c["name"] == "note")["not_null"] = True


CHANGES = [
    Change("add an index", "CREATE INDEX idx_naive ON orders (tenant_id)", "DROP INDEX idx_naive", None, ""),
    Change("add a NOT NULL column with a default", "ALTER TABLE orders ADD COLUMN naive text NOT NULL DEFAULT 'new'",
           "ALTER TABLE orders DROP COLUMN naive", _add_column, "ALTER TABLE orders DROP COLUMN status"),
    Change("add a foreign key", "ALTER TABLE orders ADD CONSTRAINT naive_fkey FOREIGN KEY (tenant_id) "
           "REFERENCES tenants (id)", "ALTER TABLE orders DROP CONSTRAINT naive_fkey",
           _add_constraint({"name": "orders_tenant_id_fkey", "kind": "foreign_key", "columns": ["tenant_id"],
                            "references": {"schema": "public", "table": "tenants", "columns": ["id"]}}),
           "ALTER TABLE orders DROP CONSTRAINT orders_tenant_id_fkey"),
    Change("add a CHECK", "ALTER TABLE orders ADD CONSTRAINT naive_check CHECK (amount >= 0)",
           "ALTER TABLE orders DROP CONSTRAINT naive_check",
           _add_constraint({"name": "orders_amount_check", "kind": "check", "columns": ["amount"],
                            "expression": "amount >= 0"}),
           "ALTER TABLE orders DROP CONSTRAINT orders_amount_check"),
    Change("SET NOT NULL", "ALTER TABLE orders ALTER COLUMN note SET NOT NULL",
           "ALTER TABLE orders ALTER COLUMN note DROP NOT NULL", _note_not_null,
           "ALTER TABLE orders ALTER COLUMN note DROP NOT NULL"),
    Change("add a UNIQUE constraint", "ALTER TABLE orders ADD CONSTRAINT naive_key UNIQUE (code)",
           "ALTER TABLE orders DROP CONSTRAINT naive_key",
           _add_constraint({"name": "orders_code_key", "kind": "unique", "columns": ["code"]}),
           "ALTER TABLE orders DROP CONSTRAINT orders_code_key"),
]


def prod_safety() -> dict:
    """Prod's safety settings, with every online option these settings know switched on, and
    every hazard accepted: each change here stands for one a reviewer approved in its file."""
    safety = json.loads(stack_file_config("prod")["pgstack:safety"])
    safety.update({option: True for option in ("concurrent_indexes", "online") if option in Safety.model_fields})
    safety["allow_hazards"] = ["all"]
    return safety


def writer(database: dict, stop, results, seed: int) -> None:
    """Insert one row at a time until `stop` is set; the (start, end) of each INSERT."""
    rng = random.Random(seed)
    latencies = []
    with psycopg.connect(**database, autocommit=True) as conn:
        n = 0
        while not stop.is_set():
            n += 1
            start = time.monotonic()
            with contextlib.suppress(psycopg.Error):  # a failed insert took its time too
                conn.execute("INSERT INTO orders (tenant_id, amount, code, note) VALUES (%s, %s, %s, 'w')",
                             (rng.randint(1, TENANTS), rng.randint(0, 1000), f"w{seed}-{n}"))
            latencies.append((start, time.monotonic()))
            time.sleep(0.002)
    results.put(latencies)


class Resource:
    """One resource through the provider process, as the engine moves it."""

    def __init__(self, process: ProviderProcess, provider, inputs: dict):
        self.process, self.pickle = process, pickled(provider)
        self.urn = f"urn:pulumi:bench::pgstack::{type(provider).__name__}::{inputs['name']}"
        self.id, self.outputs = process.create(self.urn, self.props(inputs))

    def props(self, inputs: dict) -> dict:
        return dict(copy.deepcopy(inputs), __provider=self.pickle)

    def update(self, inputs: dict) -> None:
        diff = self.process.diff(self.urn, self.id, self.outputs, self.props(inputs))
        assert diff["changes"] and not diff["replaces"], diff
        self.process.update(self.urn, self.id, self.outputs, self.props(inputs))  # outputs stay as before


def longest(latencies: list[tuple[float, float]], start: float, end: float) -> float:
    return max((b - a for a, b in latencies if a < end and b > start), default=0.0)


def ddl_logged(offset: int) -> tuple[int, list[str]]:
    """The DDL the server logged since `offset`, but the provider's journal upkeep."""
    log = SERVER_LOG[0]
    with open(log, errors="replace") as f:
        f.seek(offset)
        text = f.read()
        end = f.tell()
    statements = []
    for line in text.splitlines():
        if "statement: " in line:
            statement = line.split("statement: ", 1)[1].strip()
            if "pgstack" not in statement and "naive" not in statement:
                statements.append(statement[:110])
    return end, statements


def p3(conninfo: dict, rows: int) -> None:
    print(f"P3  the longest INSERT stall on a {rows:,}-row table under a writer ({load()})", flush=True)
    database = new_database(conninfo, "bench_online")
    with psycopg.connect(**conninfo, autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} SET log_statement = 'ddl'").format(sql.Identifier(database["dbname"])))
    safety = prod_safety()
    process = ProviderProcess({**connection_config(database), "pgstack:safety": json.dumps(safety)})
    stop, results = multiprocessing.Event(), multiprocessing.Queue()
    try:
        Resource(process, TableProvider(), TENANTS_TABLE)
        orders = Resource(process, TableProvider(), ORDERS)
        with psycopg.connect(**database, autocommit=True) as conn:
            conn.execute("INSERT INTO tenants SELECT g, 'tenant ' || g FROM generate_series(1, %s) g", (TENANTS,))
            conn.execute("INSERT INTO orders (tenant_id, amount, code, note) SELECT 1 + g %% %s, g %% 1000, "
                         "'c' || g, 'n' FROM generate_series(1, %s) g", (TENANTS, rows))
            conn.execute("VACUUM ANALYZE orders")
            conn.execute("VACUUM ANALYZE tenants")
        print(f"P3  prod plan settings: safety {json.dumps(safety)}", flush=True)
        runner = multiprocessing.Process(target=writer, args=(database, stop, results, 1))
        runner.start()
        time.sleep(1.0)
        windows = []
        offset = SERVER_LOG[0].stat().st_size
        with psycopg.connect(**database, autocommit=True) as conn:
            for change in CHANGES:
                quiet = time.monotonic()
                time.sleep(1.0)
                naive_start = time.monotonic()
                conn.execute(change.naive)
                naive_end = time.monotonic()
                conn.execute(change.undo_naive)
                time.sleep(0.5)
                offset, _ = ddl_logged(offset)
                prod_start = time.monotonic()
                if change.edit is None:
                    index = Resource(process, IndexProvider(), INDEX)
                else:
                    changed = copy.deepcopy(ORDERS)
                    change.edit(changed)
                    orders.update(changed)
                prod_end = time.monotonic()
                offset, statements = ddl_logged(offset)
                if change.edit is None:
                    process.delete(index.urn, index.id, index.outputs)
                else:
                    conn.execute(change.undo)
                windows.append((change, (quiet, naive_start), (naive_start, naive_end), (prod_start, prod_end),
                                statements))
        stop.set()
        latencies = results.get(timeout=60)
        runner.join(timeout=60)
        for change, quiet, naive, prod, statements in windows:
            baseline, naive_stall, prod_stall = (longest(latencies, *w) for w in (quiet, naive, prod))
            figure("P3", change.what,
                   f"prod plan stalled inserts {prod_stall * 1000:.0f} ms (took {prod[1] - prod[0]:.2f} s); naive DDL "
                   f"{naive_stall * 1000:.0f} ms (took {naive[1] - naive[0]:.2f} s); longest insert in the second "
                   f"before, with no DDL: {baseline * 1000:.0f} ms", TARGET, prod_stall)
            print(f"P3      prod plan ran: {' | '.join(statements) or '(no DDL logged)'}", flush=True)
        print(f"P3  {len(latencies):,} inserts by the writer; {load()}", flush=True)
    finally:
        stop.set()
        process.close()
        drop_database(conninfo, database)

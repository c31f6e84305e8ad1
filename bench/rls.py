"""P4: what row level security costs on a read: each tenant-scoped module's main policy shape
(its most common USING for authenticated reads, taken from the module's own files) on a table of
1,000,000 rows over 1,000 tenants, queried as `authenticated` through the policy, beside the
same query with the tenant in an explicit WHERE as the table's owner (whom RLS does not bind);
prepared and unprepared. Target: ≤ 1.1×, and EXPLAIN shows the tenant index and the policy's
sub-select evaluated once (an InitPlan), not per row.

Runs on the deployed dev stack of P1 (its roles, auth.uid()/auth.jwt() and settings), in a
schema of its own.
"""

import json
import random
import statistics
import time
from collections import Counter

import psycopg
from pglast import ast, parse_sql
from pglast.enums import A_Expr_Kind
from pglast.stream import RawStream
from psycopg import sql

from components.model.parser import walk
from components.settings import read_settings
from components.stack.loading import load_stack
from tests.support.engine import PROJECT_DIR, connection_config, stack_file_config

from .harness import Target, figure, load

TARGET = Target(1.1, "≤ 1.1× the explicit WHERE")
SCHEMA = "bench_rls"
TENANTS = 1_000
QUERIES = {
    "latest 50 rows": "SELECT id, amount, created_at FROM {table}{where} ORDER BY created_at DESC LIMIT 50",
    "count and sum of its rows": "SELECT count(*), sum(amount) FROM {table}{where}",
}


def main_shapes(database: dict) -> dict[str, tuple[str, str, str, str]]:
    """Per module: (policy USING, tenant column, its type, the expression of the request's value)."""
    config = {k.split(":", 1)[1]: v for k, v in {**stack_file_config("dev"), **connection_config(database)}.items()}
    settings = read_settings(config.get)
    shapes = {}
    for loaded in load_stack(settings, PROJECT_DIR / "sql", PROJECT_DIR).modules:
        module = loaded.module
        reads = [p for p in module.policies
                 if p.command in ("all", "select") and "authenticated" in p.roles and p.using]
        if not reads:
            continue
        using, _ = Counter(p.using for p in reads).most_common(1)[0]
        expr = parse_sql(f"SELECT {using}")[0].stmt.targetList[0].val
        if not (isinstance(expr, ast.A_Expr) and expr.kind == A_Expr_Kind.AEXPR_OP
                and [n.sval for n in expr.name] == ["="]):
            continue
        sides = [expr.lexpr, expr.rexpr]
        columns = [s for s in sides if isinstance(s, ast.ColumnRef)]
        if len(columns) != 1:
            continue
        column = columns[0].fields[-1].sval
        value = RawStream()(next(s for s in sides if s is not columns[0]))
        policy = next(p for p in reads if p.using == using)
        table = module.declared_table(policy.table)
        declared = table.column(column)
        assert declared is not None
        assert not [n for n in walk(value) if isinstance(n, ast.ColumnRef)], "the value side names no column"
        shapes[module.name] = (using, column, declared.type, value)
    return shapes


def claims(tenant: int) -> dict[str, str]:
    """Every request value the modules' policies read, for tenant number `tenant`."""
    uid = f"00000000-0000-4000-8000-{tenant:012d}"
    return {
        "request.jwt.claims": json.dumps({"sub": uid, "role": "authenticated", "tenant_id": str(tenant)}),
        "app.current_shop": f"shop-{tenant}.example",
        "app.current_client_id": f"10000000-0000-4000-8000-{tenant:012d}",
    }


def set_request(conn: psycopg.Connection, tenant: int) -> None:
    for name, value in claims(tenant).items():
        conn.execute("SELECT set_config(%s, %s, false)", (name, value))


def build(admin: psycopg.Connection, owner: str, module: str, shape: tuple[str, str, str, str], rows: int) -> list:
    """The module's table: `rows` rows over TENANTS tenants, the tenant index, RLS and the policy.
    Returns each tenant's column value, as the policy's request value computes it."""
    using, column, type_, value = shape
    table = sql.Identifier(SCHEMA, f"{module}_rows")
    values = []
    for tenant in range(1, TENANTS + 1):
        set_request(admin, tenant)
        values.append(admin.execute(sql.SQL("SELECT ({})::text").format(sql.SQL(value))).fetchone()[0])
    admin.execute(sql.SQL("CREATE TABLE {} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, {} {} NOT NULL, "
                          "amount integer NOT NULL, created_at timestamptz NOT NULL)").format(
        table, sql.Identifier(column), sql.SQL(type_)))
    admin.execute(sql.SQL("INSERT INTO {} ({}, amount, created_at) SELECT (%s::text[])[1 + g %% {}]::{}, g %% 1000, "
                          "'2026-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, %s) g").format(
        table, sql.Identifier(column), sql.Literal(TENANTS), sql.SQL(type_)), (values, rows))
    admin.execute(sql.SQL("CREATE INDEX {} ON {} ({}, created_at)").format(
        sql.Identifier(f"{module}_rows_tenant"), table, sql.Identifier(column)))
    admin.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(table))
    admin.execute(sql.SQL("CREATE POLICY tenant_read ON {} FOR SELECT TO authenticated USING ({})").format(
        table, sql.SQL(using)))
    admin.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(table, sql.Identifier(owner)))
    admin.execute(sql.SQL("GRANT SELECT ON {} TO authenticated").format(table))
    admin.execute(sql.SQL("VACUUM ANALYZE {}").format(table))
    return values


def p4(database: dict, rows: int, runs: int = 300) -> None:
    print(f"P4  RLS vs an explicit WHERE, {rows:,} rows over {TENANTS:,} tenants ({load()})", flush=True)
    shapes = main_shapes(database)
    owner = read_settings({k.split(":", 1)[1]: v for k, v in stack_file_config("dev").items()}.get).owner_role
    rng = random.Random(4)
    with psycopg.connect(**database, autocommit=True) as admin, \
            psycopg.connect(**database, autocommit=True) as api, \
            psycopg.connect(**database, autocommit=True) as own:
        admin.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
        admin.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO authenticated, {}").format(
            sql.Identifier(SCHEMA), sql.Identifier(owner)))
        api.execute("SET ROLE authenticated")
        own.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(owner)))
        for module, shape in shapes.items():
            using, column = shape[0], shape[1]
            values = build(admin, owner, module, shape, rows)
            table = sql.Identifier(SCHEMA, f"{module}_rows")
            figure("P4", f"{module}: main policy shape", f"USING ({using})")
            for name, text in QUERIES.items():
                rls_query = sql.SQL(text).format(table=table, where=sql.SQL(""))
                explicit = sql.SQL(text).format(table=table, where=sql.SQL(" WHERE {} = %s").format(
                    sql.Identifier(column)))
                set_request(api, 1)
                plan = "\n".join(r[0] for r in api.execute(sql.SQL("EXPLAIN (COSTS OFF) {}").format(rls_query)))
                index = f"{module}_rows_tenant" in plan
                initplan = "InitPlan" in plan
                scan = next((line.strip().removeprefix("->  ") for line in plan.splitlines()
                             if f"{module}_rows_tenant" in line), "no index scan")
                figure("P4", f"{module}, {name}: EXPLAIN through RLS",
                       f"{scan}; the tenant index {'used' if index else 'NOT used'}; policy sub-select "
                       f"{'once (InitPlan)' if initplan else 'NOT an InitPlan'}",
                       Target(0, "the index and an InitPlan"), 0 if index and initplan else 1)
                for prepared in (False, True):
                    rls_times, where_times = [], []
                    for _ in range(runs):  # side by side, one of each in turn, a random tenant each
                        tenant = rng.randint(1, TENANTS)
                        set_request(own, tenant)  # the same work just before, on each connection
                        start = time.perf_counter()
                        own.execute(explicit, (values[tenant - 1],), prepare=prepared).fetchall()
                        where_times.append(time.perf_counter() - start)
                        set_request(api, tenant)
                        start = time.perf_counter()
                        api.execute(rls_query, prepare=prepared).fetchall()
                        rls_times.append(time.perf_counter() - start)
                    rls, where = statistics.median(rls_times), statistics.median(where_times)
                    figure("P4", f"{module}, {name}, {'prepared' if prepared else 'unprepared'}",
                           f"through RLS {rls * 1000:.3f} ms, explicit WHERE as owner {where * 1000:.3f} ms (medians "
                           f"of {runs}): {rls / where:.2f}×", TARGET, rls / where)
    print(f"P4  {load()}", flush=True)

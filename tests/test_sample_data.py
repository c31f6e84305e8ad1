"""Dev-only sample data (modules[i].sample_data, sql/<module>/sample/*.sql).

- model: the analytics sample parses into canonical INSERT ... ON CONFLICT DO NOTHING statements
  qualified with the module's schema; every kind of bad statement fails with file and line;
- program under mocks: dev declares one SampleData under the analytics module, after all its
  tables and partitions; prod declares none; a strict stack or a missing folder is refused
  before any resource;
- live, through the engine stand-in and the real dynamic-provider process: the dev stack loads
  the rows, each tenant sees only its own, re-runs add only what is new, and a failing
  statement leaves nothing behind.
"""

import hashlib
import json
import re
import shutil
from datetime import date

import psycopg
import pytest
from pglast import parse_sql
from psycopg import sql

from components.model.errors import SqlModelError
from components.model.declared import DeclaredTables
from components.model.parser import deparse, parse_module
from components.model.sample_data import load_sample_data, parse_sample_file, sample_files
from components.settings import ConfigError
from tests.support.engine import PROJECT_DIR, EngineDouble, stack_file_config
from tests.support.program import EchoMocks, RecordingMonitor, of_type, run_program
from tests.support.provider_process import ProviderError
from tests.support.tenants import ANALYTICS_TABLES as TABLES, as_analytics_tenant, has_pgcrypto

SAMPLE_DIR = PROJECT_DIR / "sql" / "analytics" / "sample"
# The sample API keys documented in 001_tenants.sql: only their SHA-256 may reach the database.
SAMPLE_KEYS = {"ak_test_AcmeWeb1_DevOnlySampleKeyNotASecret01", "ak_test_AcmeRpt1_DevOnlySampleKeyNotASecret02",
               "ak_test_GlobxApp_DevOnlySampleKeyNotASecret03"}
# Rows per table and sample tenant (see the table at the top of 001_tenants.sql).
COUNTS = {
    "acme": {"tenant": 1, "workspace": 1, "api_key": 2, "visitor": 4, "lead": 2, "identity_link": 3, "session": 15,
             "event": 25, "funnel": 1, "funnel_version": 2, "funnel_publication": 1, "funnel_step": 7,
             "funnel_step_match": 9},
    "globex": {"tenant": 1, "workspace": 1, "api_key": 1, "visitor": 4, "lead": 2, "identity_link": 3, "session": 15,
               "event": 25, "funnel": 1, "funnel_version": 2, "funnel_publication": 1, "funnel_step": 7,
               "funnel_step_match": 9},
}


@pytest.fixture(scope="module")
def analytics():
    return parse_module("analytics", "analytics", PROJECT_DIR / "sql" / "analytics", DeclaredTables(),
                        display_root=PROJECT_DIR)


# --- model ----------------------------------------------------------------------------------------

def test_the_analytics_sample_parses(analytics):
    data = load_sample_data(sample_files(PROJECT_DIR / "sql" / "analytics"), analytics, PROJECT_DIR)
    assert data.source == "sql/analytics/sample"
    assert [p.name for p in sample_files(PROJECT_DIR / "sql" / "analytics")] == sorted(p.name for p in SAMPLE_DIR.glob("*.sql"))
    assert {s.table for s in data.statements} == set(TABLES)
    first = (SAMPLE_DIR / "001_tenants.sql").read_text().split("\n").index(
        "INSERT INTO tenant (name, slug, status, created_at, updated_at) VALUES") + 1
    assert data.statements[0].source == f"sql/analytics/sample/001_tenants.sql:{first}"
    for statement in data.statements:
        assert re.fullmatch(r"sql/analytics/sample/\d{3}_\w+\.sql:\d+", statement.source)
        assert statement.sql.startswith(f"INSERT INTO analytics.{statement.table} ")
        assert statement.sql.endswith("ON CONFLICT DO NOTHING")
        assert deparse(parse_sql(statement.sql)[0].stmt) == statement.sql  # canonical: pglast's own text
        assert not any(key in statement.sql for key in SAMPLE_KEYS)  # documented in comments only
    assert "JOIN analytics.tenant AS t" in data.statements[1].sql  # reads are qualified too


BAD = [
    ("UPDATE tenant SET name = 'x';", "Update statements are not allowed"),
    ("CREATE TABLE extra (a integer);", "Create statements are not allowed"),
    ("INSERT INTO tenant (name, slug) VALUES ('B', 'b');", "INSERT INTO tenant has no ON CONFLICT clause"),
    ("INSERT INTO tenant (name, slug) VALUES ('B', 'b') ON CONFLICT (slug) DO UPDATE SET name = excluded.name;",
     "INSERT INTO tenant has ON CONFLICT DO UPDATE"),
    ("INSERT INTO leads (email) VALUES ('b') ON CONFLICT DO NOTHING;",
     "table analytics.leads is not declared by module 'analytics'"),
    ("INSERT INTO public.tenant (name, slug) VALUES ('B', 'b') ON CONFLICT DO NOTHING;",
     "table public.tenant is not declared by module 'analytics'"),
    ("INSERT INTO visitor (tenant_id, anonymous_id) SELECT 1, visitor_id FROM public.visitors ON CONFLICT DO NOTHING;",
     "table public.visitors is not declared by module 'analytics'"),
    ("INSERT INTO tenant (nam, slug) VALUES ('B', 'b') ON CONFLICT DO NOTHING;",
     "column nam does not exist in table tenant"),
    ("WITH gone AS (DELETE FROM event RETURNING tenant_id)\nINSERT INTO tenant (name, slug) VALUES ('B', 'b') "
     "ON CONFLICT DO NOTHING;", "WITH is not allowed"),
    ("INSERT INTO tenant (tenant_id, name, slug) OVERRIDING SYSTEM VALUE VALUES (7, 'B', 'b') ON CONFLICT DO NOTHING;",
     "OVERRIDING SYSTEM VALUE is not allowed"),
    ("INSERT INTO tenant (name, slug) VALUES ('B', 'b') ON CONFLICT DO NOTHIN;", "syntax error"),
]


@pytest.mark.parametrize("statement, message", BAD)
def test_bad_sample_statements_name_file_and_line(analytics, statement, message):
    text = "-- a valid statement first\nINSERT INTO tenant (name, slug) VALUES ('A', 'a') ON CONFLICT DO NOTHING;\n\n" \
           + statement + "\n"
    with pytest.raises(SqlModelError) as info:
        parse_sample_file("sql/analytics/sample/009_bad.sql", text, analytics)
    assert (info.value.file, info.value.line) == ("sql/analytics/sample/009_bad.sql", 4)
    assert message in info.value.message


def test_sample_data_may_not_insert_into_a_table_the_module_only_extends():
    known = DeclaredTables(tables={("public", "leads"): None})
    tracking = parse_module("tracking", "public", PROJECT_DIR / "sql" / "tracking", known)
    with pytest.raises(SqlModelError, match=r"x\.sql:1: cannot insert into public\.leads: module 'tracking' does not create it"):
        parse_sample_file("x.sql", "INSERT INTO leads (visitor_id) VALUES (NULL) ON CONFLICT DO NOTHING;", tracking)


# --- program under mocks --------------------------------------------------------------------------

def dev_modules(**changes) -> list[dict]:
    """Pulumi.dev.yaml's modules, with `changes` ({module name: {key: value}}) applied."""
    modules = json.loads(stack_file_config("dev")["pgstack:modules"])
    for module in modules:
        module.update(changes.get(module["name"], {}))
    return modules


def test_dev_loads_the_analytics_sample_after_the_whole_module(declared):
    monitor = declared("dev")
    (sample,) = of_type(monitor, ":SampleData")
    module = next(r for r in monitor.registrations if r["type"] == "pgstack:index:SchemaModule" and r["name"] == "analytics")
    assert sample["name"] == "analytics/analytics.sample_data"
    assert sample["parent"] == module["urn"]
    tables = [r for r in of_type(monitor, ":Table") if r["name"].startswith("analytics/")]
    partitions = of_type(monitor, ":Partition")
    assert {r["inputs"]["name"] for r in tables} == set(TABLES) and partitions
    assert {r["urn"] for r in tables + partitions} <= sample["dependencies"]
    inputs = sample["inputs"]
    assert (inputs["schema"], inputs["module"], inputs["owner"], inputs["source"]) == (
        "analytics", "analytics", "pgstack_owner", "sql/analytics/sample")
    assert {s["table"] for s in inputs["statements"]} == set(TABLES)
    assert all(set(s) == {"source", "table", "sql"} for s in inputs["statements"])


def test_prod_loads_no_sample_data(declared):
    assert of_type(declared("prod"), ":SampleData") == []


@pytest.mark.parametrize("stack, config, message", [
    # Copying the dev module block to a strict stack: refused, whatever the stack is called.
    ("dev", {"pgstack:safety": json.dumps({"allow_data_loss": False})},
     r"pgstack:modules\[4\]\.sample_data: sample data is only for stacks whose data is disposable "
     r"\(safety\.allow_data_loss: true\)"),
    ("prod", {"pgstack:modules": json.dumps([dict(m, sample_data=True) if m["name"] == "analytics" else m for m in
                                             json.loads(stack_file_config("prod")["pgstack:modules"])])},
     r"pgstack:modules\[3\]\.sample_data: sample data is only for stacks"),
    ("dev", {"pgstack:modules": json.dumps(dev_modules(tracking={"sample_data": True}))},
     r"pgstack:modules\[1\]\.sample_data: module tracking has no sample data: no \.sql file in sql/tracking/sample/"),
    ("dev", {"pgstack:modules": json.dumps(dev_modules(analytics={"sample_data": "yes"}))},
     r"pgstack:modules\[4\]\.sample_data: must be true or false"),
])
def test_refused_sample_data_names_the_key_before_any_resource(stack, config, message):
    monitor = RecordingMonitor(EchoMocks())
    with pytest.raises(ConfigError, match=message):
        run_program(stack, config, monitor)
    assert monitor.registrations == []


# --- live -----------------------------------------------------------------------------------------

@pytest.fixture
def sql_root(tmp_path):
    root = tmp_path / "project" / "sql"
    shutil.copytree(PROJECT_DIR / "sql", root)
    return root


def counts(conn, tenant_ids: dict) -> dict:
    """Rows per sample tenant and table, as the connection sees them."""
    result = {slug: {} for slug in tenant_ids}
    for table in TABLES:
        rows = dict(conn.execute(sql.SQL("SELECT tenant_id, count(*) FROM {} GROUP BY tenant_id").format(
            sql.Identifier("analytics", table))).fetchall())
        for slug, tenant_id in tenant_ids.items():
            result[slug][table] = rows.get(tenant_id, 0)
    return result


def tenant_ids(conn) -> dict:
    return dict(conn.execute("SELECT slug, tenant_id FROM analytics.tenant").fetchall())


def test_live_dev_stack_loads_the_sample_data(dev_stack_after_up, sql_root):
    """On a copy of the dev stack as its first `up` left it (conftest's `dev_stack_deployed`)."""
    database = dev_stack_after_up.database
    with psycopg.connect(**database, autocommit=True) as db, dev_stack_after_up.engine(sql_root) as engine:
        assert "analytics/analytics.sample_data" in dev_stack_after_up.first_up.operations["create"]
        tenants = tenant_ids(db)
        assert set(tenants) == {"acme", "globex"}
        assert counts(db, tenants) == COUNTS
        # Events land in their months; keys are stored hashed only.
        assert db.execute("SELECT tableoid::regclass::text, count(*) FROM analytics.event GROUP BY 1 ORDER BY 1"
                          ).fetchall() == [("analytics.event_2026_01", 21), ("analytics.event_2026_02", 16),
                                           ("analytics.event_2026_03", 13)]
        hashes = {r[0] for r in db.execute("SELECT key_hash FROM analytics.api_key")}
        assert hashes == {hashlib.sha256(key.encode()).hexdigest() for key in SAMPLE_KEYS}
        snapshot = db.execute("SELECT snapshot FROM analytics.funnel_publication p JOIN analytics.tenant t "
                              "USING (tenant_id) WHERE t.slug = 'acme'").fetchone()[0]
        assert [s["name"] for s in snapshot["steps"]] == ["Viewed pricing", "Started signup", "Signed up"]
        assert [m["event"] for m in snapshot["steps"][2]["matches"]] == ["Signed Up", "Trial Started"]

        # As the API's signed-in user of acme: only acme's rows, all of them.
        with psycopg.connect(**database) as conn:
            as_analytics_tenant(conn, tenants["acme"])
            assert counts(conn, tenants) == {"acme": COUNTS["acme"], "globex": dict.fromkeys(TABLES, 0)}
            conn.rollback()

        # A second run changes nothing.
        assert engine.preview().changed() == {}

        # A row added to a sample file: only the sample data is updated, and only that row is new.
        identity = sql_root / "analytics" / "sample" / "002_identity.sql"
        text = identity.read_text()
        row = "    ('acme',   'acme-visitor-04',"
        assert row in text
        identity.write_text(text.replace(row, "    ('acme',   'acme-visitor-05',   '2026-03-20 10:00:00+00', "
                                              "'2026-03-20 10:00:00+00', NULL, 'https://acme.example/'),\n" + row))
        assert engine.preview().changed() == {"update": ["analytics/analytics.sample_data"]}
        assert engine.up().changed() == {"update": ["analytics/analytics.sample_data"]}
        expected = {slug: dict(rows) for slug, rows in COUNTS.items()}
        expected["acme"]["visitor"] += 1
        assert counts(db, tenants) == expected

        # read: the rows exist while their tables do; a table dropped by hand takes them along.
        entry = engine.entry("pulumi-python:dynamic/pgstack:SampleData", "analytics/analytics.sample_data")
        urn = entry.urn
        assert engine.provider.read(urn, entry.id, entry.outputs)[0] == "analytics.sample_data"
        db.execute("DROP TABLE analytics.funnel_step_match")
        assert engine.provider.read(urn, entry.id, entry.outputs)[0] == ""


def test_live_a_failing_statement_leaves_no_sample_row(database, db, sql_root):
    funnels = sql_root / "analytics" / "sample" / "004_funnels.sql"
    text = funnels.read_text()
    line = text.count("\n") + 2
    funnels.write_text(text + "\nINSERT INTO tenant (name, slug) VALUES ('Initech', 'Not A Slug') ON CONFLICT DO NOTHING;\n")
    config = {
        "pgstack:modules": json.dumps([{"name": "analytics", "schema": "analytics", "sample_data": True,
                                        "partitions": {"event": {"interval": "month", "start": "2026-01", "ahead": 3}},
                                        "skip_extensions": [] if has_pgcrypto(database) else ["pgcrypto"]}]),
        "pgstack:grants": "[]",
        # The provider's rollback is tested here: validation at preview would stop the run first
        # (tests/test_validation.py).
        "pgstack:validation": json.dumps({"mode": "off"}),
    }
    engine = EngineDouble(database, stack="dev", sql_root=sql_root, config=config, today=date(2026, 3, 15))
    try:
        with pytest.raises(ProviderError) as info:
            engine.up()
        assert (f"sample data analytics.sample_data (sql/analytics/sample): insert into tenant at "
                f"sql/analytics/sample/004_funnels.sql:{line} failed: ") in str(info.value)
        assert "tenant_slug_format" in str(info.value)
        for table in TABLES:  # the tables are there, and empty: the earlier statements were rolled back too
            assert db.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("analytics", table))
                              ).fetchone()[0] == 0, table
    finally:
        engine.close()

"""The analytics module (seed 004) and the table partitioning it needs.

- model: the tables, the event partition spec, tenant isolation on every table (tenant_id,
  RLS, one policy TO authenticated), the index rule for foreign keys and policy columns checked
  generically, the hashed API keys and encrypted PII, the partitions config and its errors, and
  the monthly partitions for an injected date;
- program under mocks: one Partition resource per month, depending on its table;
- live, through the engine stand-in and the real dynamic-provider process on a fresh database:
  partitions created and filled, rows landing in their month, partition deletion refused,
  funnel_publication immutable, and tenant isolation as `authenticated` with JWT claims.
"""

import json
from datetime import date
from pathlib import Path

import psycopg
import pytest
from pglast import ast, parse_sql
from psycopg import sql

from components.model.objects import Module
from components.model.declared import DeclaredTables
from components.model.parser import parse_module, walk
from components.model.partitions import monthly_partitions, months
from components.stack.loading import check_partitions
from components.settings import ConfigError, ModuleConfig, read_settings
from tests.support.engine import EngineDouble
from tests.support.program import of_type, run_program
from tests.support.provider_process import ProviderError
from tests.support.tenants import as_analytics_tenant, has_pgcrypto, seed_analytics_tenant, sha256

ROOT = Path(__file__).resolve().parent.parent
TABLES = ["tenant", "workspace", "api_key", "visitor", "lead", "identity_link", "session", "event",
          "funnel", "funnel_version", "funnel_publication", "funnel_step", "funnel_step_match"]
TENANT_CLAUSE = "tenant_id = (SELECT nullif(auth.jwt() ->> 'tenant_id', '')::bigint)"
PARTITIONS = {"event": {"interval": "month", "start": "2026-01", "ahead": 2}}


def module_config(partitions=None, index=0) -> ModuleConfig:
    item = {"name": "analytics", "schema": "analytics", "partitions": PARTITIONS if partitions is None else partitions}
    modules = [{"name": f"other{i}", "schema": f"other{i}"} for i in range(index)] + [item]
    return read_settings(lambda key: json.dumps(modules) if key == "modules" else None).modules[index]


@pytest.fixture(scope="module")
def analytics() -> Module:
    module = parse_module("analytics", "analytics", ROOT / "sql" / "analytics", DeclaredTables(), display_root=ROOT)
    check_partitions(module_config(), module)
    return module


def normalized(expression: str) -> str:
    """An expression as pglast prints it, so spacing and case do not matter."""
    from components.model.parser import deparse
    return deparse(parse_sql(f"SELECT 1 WHERE {expression}")[0].stmt.whereClause)


def column_refs(expression: str) -> set[str]:
    """Columns an expression filters on (outside sub-selects)."""
    where = parse_sql(f"SELECT 1 WHERE {expression}")[0].stmt.whereClause
    return {n.fields[-1].sval for n in walk(where, skip_sublinks=True) if isinstance(n, ast.ColumnRef)}


def leading_column_lists(module: Module, table: str) -> list[list[str]]:
    """Column lists of every index of `table` (PRIMARY KEY and UNIQUE included), in order,
    cut at the first expression."""
    lists = [c.columns for c in module.table(table).constraints if c.kind in ("primary_key", "unique")]
    for index in module.indexes:
        if index.table == table:
            cols = []
            for element in index.elements:
                if not element.column:
                    break
                cols.append(element.column)
            lists.append(cols)
    return lists


# --- model: tables and isolation ------------------------------------------------------------------

def test_table_set_and_sources(analytics):
    assert [t.name for t in analytics.tables] == TABLES
    assert all(t.managed == "table" and t.schema == "analytics" for t in analytics.tables)
    assert [e.name for e in analytics.extensions] == ["pgcrypto"]
    for table in analytics.tables:
        assert table.source.startswith("sql/analytics/0"), table.source
        assert table.comment, f"{table.name} has no COMMENT"


def test_event_is_the_only_partitioned_table(analytics):
    event = analytics.table("event")
    assert event.inputs()["partition_by"] == "RANGE (occurred_at)"
    assert event.partition_key == ["occurred_at"]
    pk = next(c for c in event.constraints if c.kind == "primary_key")
    assert pk.columns == ["tenant_id", "id", "occurred_at"]
    assert [t.name for t in analytics.tables if t.partition_by] == ["event"]
    assert {i.name for i in analytics.indexes if i.partitioned} == {
        i.name for i in analytics.indexes if i.table == "event"}


def test_every_table_has_tenant_id_rls_and_one_isolation_policy(analytics):
    for table in analytics.tables:
        tenant_id = table.column("tenant_id")
        assert tenant_id is not None and tenant_id.type == "bigint" and tenant_id.not_null, table.name
        assert table.rls_enabled, table.name
        policies = [p for p in analytics.policies if p.table == table.name]
        assert len(policies) == 1, table.name
        policy = policies[0].inputs()
        assert policy["name"] == f"{table.name}_tenant_isolation"
        assert (policy["command"], policy["permissive"], policy["roles"]) == ("all", True, ["authenticated"])
        assert normalized(policy["using"]) == normalized(TENANT_CLAUSE), table.name
        assert normalized(policy["with_check"]) == normalized(TENANT_CLAUSE), table.name


def test_every_foreign_key_and_policy_column_has_a_leading_index(analytics):
    """The rule, checked generically: a foreign key's columns are the leading columns of an
    index (any order); a column a policy filters on leads an index."""
    for table in analytics.tables:
        lists = leading_column_lists(analytics, table.name)
        for fk in (c for c in table.constraints if c.kind == "foreign_key"):
            assert any(set(cols[:len(fk.columns)]) == set(fk.columns) for cols in lists), (table.name, fk.name)
        for policy in (p for p in analytics.policies if p.table == table.name):
            for col in column_refs(policy.using) | column_refs(policy.with_check):
                assert any(cols and cols[0] == col for cols in lists), (table.name, policy.name, col)


def test_every_foreign_key_carries_the_tenant(analytics):
    """A child cannot point at another tenant's parent: each foreign key maps tenant_id to the
    parent's tenant_id."""
    for table in analytics.tables:
        for fk in (c for c in table.constraints if c.kind == "foreign_key"):
            pairs = dict(zip(fk.columns, fk.references.columns))
            assert pairs.get("tenant_id") == "tenant_id", (table.name, fk.name)
            assert fk.references.schema == "analytics"


def test_api_keys_are_stored_hashed_only(analytics):
    api_key = analytics.table("api_key")
    names = {c.name for c in api_key.columns}
    assert {"key_prefix", "key_hash"} <= names
    assert not names & {"key", "api_key", "secret", "token", "plain_key", "key_plain"}
    checks = {c.name: c.expression for c in api_key.constraints if c.kind == "check"}
    assert checks["api_key_key_hash_format"] == "key_hash ~ '^[0-9a-f]{64}$'"
    assert "key_prefix" in checks["api_key_key_prefix_format"]
    assert "strpos(name, key_prefix)" in checks["api_key_name_no_key"]
    unique = [c.columns for c in api_key.constraints if c.kind == "unique"]
    assert ["key_prefix"] in unique  # looked up without a tenant


def test_lead_pii_is_encrypted_with_indexed_fingerprints(analytics):
    lead = analytics.table("lead")
    encrypted = [c for c in lead.columns if c.name.endswith("_encrypted")]
    assert {c.name for c in encrypted} == {"email_encrypted", "phone_encrypted", "full_name_encrypted"}
    assert all(c.type == "bytea" for c in encrypted)
    assert not {c.name for c in lead.columns} & {"email", "phone", "full_name", "name"}
    lists = leading_column_lists(analytics, "lead")
    for fingerprint in ("email_fingerprint", "phone_fingerprint"):
        assert any(cols[:2] == ["tenant_id", fingerprint] for cols in lists), fingerprint
        check = next(c for c in lead.constraints if c.name == f"lead_{fingerprint}_format")
        assert check.expression == f"{fingerprint} ~ '^[0-9a-f]{{64}}$'"


def test_funnel_publication_is_immutable_by_trigger(analytics):
    function = next(f for f in analytics.functions if f.name == "funnel_publication_immutable")
    assert function.returns == "trigger" and "RAISE EXCEPTION" in function.definition
    triggers = {t.name: t.definition for t in analytics.triggers if t.table == "funnel_publication"}
    assert "BEFORE DELETE OR UPDATE" in triggers["funnel_publication_no_update_delete"]  # pglast order
    assert "FOR EACH ROW" in triggers["funnel_publication_no_update_delete"]
    assert "BEFORE TRUNCATE" in triggers["funnel_publication_no_truncate"]


def test_json_rules_and_statuses(analytics):
    match = analytics.table("funnel_step_match")
    assert match.column("rule").type == "jsonb"
    rule_check = next(c for c in match.constraints if c.name == "funnel_step_match_rule_shape")
    assert "jsonb_typeof(rule) = 'object'" in rule_check.expression
    version = analytics.table("funnel_version")
    status = next(c for c in version.constraints if c.name == "funnel_version_status_check")
    assert "'draft'" in status.expression and "'published'" in status.expression


# --- settings and partitions ----------------------------------------------------------------------

@pytest.mark.parametrize("partitions, key, words", [
    ({"event": {"interval": "week", "start": "2026-01"}}, "modules[1].partitions.event.interval", "month"),
    ({"event": {"start": "2026-13"}}, "modules[1].partitions.event.start", "YYYY-MM"),
    ({"event": {"start": "January"}}, "modules[1].partitions.event.start", "YYYY-MM"),
    ({"event": {"ahead": 3}}, "modules[1].partitions.event.start", "YYYY-MM"),
    ({"event": {"start": "2026-01", "ahead": -1}}, "modules[1].partitions.event.ahead", "whole number"),
    ({"event": {"start": "2026-01", "ahead": 99}}, "modules[1].partitions.event.ahead", "0 to 24"),
    ({"event": {"start": "2026-01", "ahead": True}}, "modules[1].partitions.event.ahead", "whole number"),
    ({"event": {"start": "2026-01", "retain": 12}}, "modules[1].partitions.event.retain", "unknown key"),
    ({"Event": {"start": "2026-01"}}, "modules[1].partitions.Event", "identifier"),
    ({"event": "monthly"}, "modules[1].partitions.event", "must be an object"),
    (["event"], "modules[1].partitions", "must map table names"),
])
def test_partition_settings_errors_name_the_key(partitions, key, words):
    with pytest.raises(ConfigError) as info:
        module_config(partitions, index=1)
    assert info.value.key == f"pgstack:{key}"
    assert words in str(info.value)


def test_partition_settings_defaults():
    config = module_config({"event": {"start": "2026-01"}})
    (spec,) = config.partitions
    assert (spec.table, spec.start, spec.ahead, spec.interval, spec.key) == (
        "event", date(2026, 1, 1), 3, "month", "modules[0].partitions.event")
    assert module_config({}).partitions == ()


@pytest.mark.parametrize("table, words", [
    ("tenant", "not partitioned"),
    ("nope", "does not create it"),
])
def test_partitions_must_name_a_partitioned_table_of_the_module(analytics, table, words):
    with pytest.raises(ConfigError) as info:
        check_partitions(module_config({table: {"start": "2026-01"}}, index=2), analytics)
    assert info.value.key == f"pgstack:modules[2].partitions.{table}"
    assert words in str(info.value)


def test_partition_names_must_be_free(tmp_path):
    folder = tmp_path / "analytics"
    folder.mkdir()
    (folder / "001_e.sql").write_text(
        "CREATE TABLE e (at date NOT NULL) PARTITION BY RANGE (at);\nCREATE TABLE e_2026_05 (a int);\n")
    module = parse_module("analytics", "analytics", folder, DeclaredTables())
    with pytest.raises(ConfigError, match=r"modules\[0\]\.partitions\.e: .*e_2026_05"):
        check_partitions(module_config({"e": {"start": "2026-01"}}), module)


def test_partitions_need_range_on_one_date_or_timestamp_column(tmp_path):
    for body, words in [("(region text) PARTITION BY LIST (region)", "RANGE on one column"),
                        ("(n integer) PARTITION BY RANGE (n)", "date or timestamp")]:
        folder = tmp_path / body.split()[0].strip("(")
        folder.mkdir()
        (folder / "001_x.sql").write_text(f"CREATE TABLE x {body};\n")
        module = parse_module("analytics", "analytics", folder, DeclaredTables())
        with pytest.raises(ConfigError, match=words):
            check_partitions(module_config({"x": {"start": "2026-01"}}), module)


def test_months_from_start_through_today_plus_ahead():
    assert months(date(2026, 1, 1), date(2026, 3, 31), 2) == [date(2026, m, 1) for m in range(1, 6)]
    # across the year end
    assert months(date(2026, 11, 1), date(2026, 12, 5), 2)[-1] == date(2027, 2, 1)
    # before start: at least the start month
    assert months(date(2026, 6, 1), date(2025, 1, 1), 1) == [date(2026, 6, 1)]


def test_partitions_for_an_injected_date(analytics):
    event = analytics.table("event")
    parts = monthly_partitions(event, date(2026, 1, 1), 3, date(2026, 11, 15), "pgstack:modules[0].partitions.event")
    assert [p.name for p in parts] == [f"event_2026_{m:02d}" for m in range(1, 13)] + ["event_2027_01", "event_2027_02"]
    assert parts[0].inputs() == {
        "schema": "analytics", "table": "event", "name": "event_2026_01",
        "source": "pgstack:modules[0].partitions.event",
        "from": "2026-01-01 00:00:00+00", "to": "2026-02-01 00:00:00+00", "rls_enabled": True}
    assert (parts[11].lower, parts[11].upper) == ("2026-12-01 00:00:00+00", "2027-01-01 00:00:00+00")
    # later runs only add months: the earlier set is a prefix of the later one
    later = monthly_partitions(event, date(2026, 1, 1), 3, date(2027, 6, 1), "x")
    assert [p.name for p in later][:len(parts)] == [p.name for p in parts]


# --- the program under mocks ----------------------------------------------------------------------

ANALYTICS_ONLY = {"pgstack:grants": "[]", "pgstack:modules": json.dumps([
    {"name": "analytics", "schema": "analytics", "partitions": PARTITIONS}])}


def test_program_declares_one_partition_per_month():
    monitor = run_program("dev", ANALYTICS_ONLY, today=date(2026, 3, 15))
    urn = {r["name"]: r["urn"] for r in monitor.registrations}
    module = next(r for r in monitor.registrations if r["type"] == "pgstack:index:SchemaModule" and r["name"] == "analytics")
    partitions = of_type(monitor, ":Partition")
    assert sorted(p["inputs"]["name"] for p in partitions) == [f"event_2026_{m:02d}" for m in range(1, 6)]
    for partition in partitions:
        assert partition["parent"] == module["urn"]
        assert urn["analytics/analytics.event"] in partition["dependencies"]  # its table's name output
        assert partition["inputs"]["table"] == "event" and partition["inputs"]["schema"] == "analytics"
        assert partition["inputs"]["source"] == "pgstack:modules[0].partitions.event"
    event = next(r for r in of_type(monitor, ":Table") if r["inputs"]["name"] == "event")
    assert event["inputs"]["partition_by"] == "RANGE (occurred_at)"
    assert {r["inputs"]["name"] for r in of_type(monitor, ":Table")} == set(TABLES)
    assert len(of_type(monitor, ":Policy")) == len(TABLES)


def test_program_rejects_partitions_of_a_plain_table():
    config = {"pgstack:grants": "[]", "pgstack:modules": json.dumps([
        {"name": "analytics", "schema": "analytics", "partitions": {"session": {"start": "2026-01"}}}])}
    with pytest.raises(ConfigError, match=r"pgstack:modules\[0\]\.partitions\.session: .*not partitioned"):
        run_program("dev", config, today=date(2026, 3, 15))


# --- live: through the engine stand-in and the dynamic-provider process ---------------------------

STRICT = {"allow_data_loss": False, "concurrent_indexes": True, "lock_timeout": "5s", "statement_timeout": "5min"}


def grant_app_roles(conn) -> None:
    # Deliberately broad, like Supabase's defaults: ALL TABLES includes the partitions, so the
    # partitions' own RLS is what keeps a direct query of one from bypassing the policies.
    conn.execute("GRANT USAGE ON SCHEMA analytics TO authenticated, service_role")
    conn.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA analytics TO authenticated, service_role")


def engine_for(database: dict, today: date, tmp: Path, partitions=None, safety=None) -> EngineDouble:
    config = {
        # The embedded PostgreSQL is built without OpenSSL: no pgcrypto (Supabase has it).
        # Nothing in the schema calls it (the API does), so everything else is still tested.
        "pgstack:modules": json.dumps([{"name": "analytics", "schema": "analytics",
                                        "partitions": partitions or PARTITIONS,
                                        "skip_extensions": [] if has_pgcrypto(database) else ["pgcrypto"]}]),
        "pgstack:safety": json.dumps(safety or STRICT),
        "pgstack:grants": "[]",  # this module alone; the grants are set by the test
    }
    return EngineDouble(database, stack="dev", config=config, today=today)


@pytest.fixture(scope="module")
def deployed(pg_server, tmp_path_factory):
    """The analytics module applied once (strict safety, concurrent index builds on) to a fresh
    database on 2026-03-15, with two seeded tenants."""
    from components import devdb
    name = "test_analytics_module"
    devdb.create_database(pg_server, name)
    conninfo = dict(pg_server, dbname=name)
    engine = engine_for(conninfo, today=date(2026, 3, 15), tmp=tmp_path_factory.mktemp("analytics"))
    try:
        engine.up()
        crypto = has_pgcrypto(conninfo)
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            grant_app_roles(conn)
            conn.execute("SET search_path TO analytics, public")
            tenants = {"a": seed_analytics_tenant(conn, "alpha", crypto),
                       "b": seed_analytics_tenant(conn, "bravo", crypto)}
        yield engine, conninfo, tenants
    finally:
        engine.close()
        with psycopg.connect(**pg_server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def conn(deployed):
    _, conninfo, _ = deployed
    with psycopg.connect(**conninfo) as conn:  # one transaction, rolled back at the end
        conn.execute("SET search_path TO analytics, public")
        yield conn
        conn.rollback()


def test_live_partitioned_table_and_partitions(deployed, conn):
    assert conn.execute("SELECT c.relkind, pg_get_partkeydef(c.oid) FROM pg_class c "
                        "WHERE c.oid = 'analytics.event'::regclass").fetchone() == ("p", "RANGE (occurred_at)")
    parts = conn.execute("SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.relrowsecurity "
                         "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                         "WHERE i.inhparent = 'analytics.event'::regclass ORDER BY 1").fetchall()
    assert [p[0] for p in parts] == [f"event_2026_{m:02d}" for m in range(1, 6)]  # Jan .. Mar + 2 ahead
    assert all(p[2] for p in parts)  # RLS on every partition
    conn.execute("SET TIME ZONE 'UTC'")
    assert conn.execute("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'event_2026_01'"
                        ).fetchone()[0] == "FOR VALUES FROM ('2026-01-01 00:00:00+00') TO ('2026-02-01 00:00:00+00')"
    # the parent's indexes exist on each partition (built without CONCURRENTLY, although the
    # stack's concurrent_indexes is on)
    assert conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'event_2026_04'").fetchone()[0] == 4
    assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 'analytics.idx_event_session'::regclass"
                        ).fetchone()[0] is True


def test_live_each_row_lands_in_its_month(deployed, conn):
    rows = conn.execute("SELECT tableoid::regclass::text, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY_MM') "
                        "FROM event").fetchall()
    assert len(rows) == 10
    for partition, month in rows:
        assert partition in (f"event_{month}", f"analytics.event_{month}")
    _, _, tenants = deployed
    a = tenants["a"]
    # Midnight UTC of the first day is the new month, whatever the session's time zone says.
    conn.execute("SET TIME ZONE 'America/New_York'")
    partition = conn.execute(
        "INSERT INTO event (tenant_id, occurred_at, workspace_id, anonymous_id, event_type, name) "
        "VALUES (%s, '2026-03-01 00:00:00+00', %s, 'anon-alpha-0001', 'track', 'x') RETURNING tableoid::regclass::text",
        (a["tenant"], a["workspace"])).fetchone()[0]
    assert partition.endswith("event_2026_03")
    with pytest.raises(psycopg.errors.CheckViolation, match="no partition"):  # outside the declared months
        conn.execute("INSERT INTO event (tenant_id, occurred_at, workspace_id, anonymous_id, event_type, name) "
                     "VALUES (%s, '2025-12-31 23:59:59+00', %s, 'anon-alpha-0001', 'track', 'x')",
                     (a["tenant"], a["workspace"]))


def test_live_catalog_reads_partition_by_and_partitions(deployed):
    engine, _, _ = deployed
    table = next(e for e in engine.state.values() if e.name == "analytics/analytics.event")
    id_, outputs = engine.provider.read(table.urn, table.id, table.outputs)
    assert id_ == "analytics.event" and outputs["partition_by"] == "RANGE (occurred_at)"
    assert outputs["applied"]["partition_by"] == "RANGE (occurred_at)"
    part = next(e for e in engine.state.values() if e.name == "analytics/analytics.event_2026_02")
    id_, outputs = engine.provider.read(part.urn, part.id, part.outputs)
    assert id_ == "analytics.event_2026_02"
    assert outputs["applied"] == {
        "table": "event", "rls_enabled": "True", "owner": "pgstack_owner",
        "bound": "FOR VALUES FROM ('2026-02-01 00:00:00+00') TO ('2026-03-01 00:00:00+00')"}
    assert "bound" not in outputs  # no drift
    assert engine.preview().changed() == {}  # a second run on the same day changes nothing


def test_live_pii_is_encrypted_and_matchable(deployed, conn):
    _, conninfo, tenants = deployed
    email, fingerprint = conn.execute("SELECT email_encrypted, email_fingerprint FROM lead WHERE tenant_id = %s "
                                      "AND email_fingerprint = %s",
                                      (tenants["a"]["tenant"], sha256("alpha@example.com"))).fetchone()
    assert b"alpha@example.com" not in bytes(email) and len(fingerprint) == 64
    if has_pgcrypto(conninfo):
        assert conn.execute("SELECT pgp_sym_decrypt(%s, 'app-key')", (email,)).fetchone()[0] == "alpha@example.com"
    with pytest.raises(psycopg.errors.CheckViolation, match="lead_email_fingerprint_pair"):
        conn.execute("INSERT INTO lead (tenant_id, email_fingerprint) VALUES (%s, repeat('a', 64))",
                     (tenants["a"]["tenant"],))


def test_live_api_key_cannot_hold_a_plain_key(deployed, conn):
    _, _, tenants = deployed
    a = tenants["a"]
    with pytest.raises(psycopg.errors.CheckViolation, match="api_key_key_hash_format"):
        conn.execute("INSERT INTO api_key (tenant_id, workspace_id, name, key_prefix, key_hash) VALUES "
                     "(%s, %s, 'k', 'ak_live_abcdefgh', 'ak_live_abcdefgh_plainsecret')", (a["tenant"], a["workspace"]))


@pytest.mark.parametrize("statement", [
    "UPDATE funnel_publication SET snapshot = '{\"steps\": []}'",
    "DELETE FROM funnel_publication",
    "TRUNCATE funnel_publication",
])
def test_live_funnel_publication_is_immutable(deployed, conn, statement):
    with pytest.raises(psycopg.errors.RestrictViolation, match="funnel_publication is immutable"):
        conn.execute(statement)  # as the superuser: no role can change a publication


def test_live_cross_tenant_reference_is_refused(deployed, conn):
    _, _, tenants = deployed
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="api_key_workspace_fkey"):
        conn.execute("INSERT INTO api_key (tenant_id, workspace_id, name, key_prefix, key_hash) "
                     "VALUES (%s, %s, 'x', 'ak_live_crosstnt', repeat('0', 64))",
                     (tenants["a"]["tenant"], tenants["b"]["workspace"]))


def test_live_tenant_isolation_reads(deployed, conn):
    _, _, tenants = deployed
    a, b = tenants["a"]["tenant"], tenants["b"]["tenant"]
    as_analytics_tenant(conn, a)
    for table in TABLES:
        seen = {r[0] for r in conn.execute(sql.SQL("SELECT DISTINCT tenant_id FROM {}").format(sql.Identifier(table)))}
        assert seen == {a}, table
    assert conn.execute("SELECT count(*) FROM event").fetchone()[0] == 5
    # A partition named directly: RLS on, no policy -> nothing, although the role has a grant.
    assert conn.execute("SELECT count(*) FROM event_2026_01").fetchone()[0] == 0
    conn.execute("RESET ROLE")
    as_analytics_tenant(conn, b)
    assert conn.execute("SELECT count(*) FROM event").fetchone()[0] == 5
    assert {r[0] for r in conn.execute("SELECT tenant_id FROM lead")} == {b}


def test_live_no_claims_sees_nothing(deployed, conn):
    as_analytics_tenant(conn, None)
    for table in TABLES:
        assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0] == 0, table


def test_live_writes_into_another_tenant_are_refused(deployed, conn):
    _, _, tenants = deployed
    a, b = tenants["a"], tenants["b"]
    as_analytics_tenant(conn, a["tenant"])
    conn.execute("SAVEPOINT s")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        conn.execute("INSERT INTO visitor (tenant_id, anonymous_id) VALUES (%s, 'anon-intruder-01')", (b["tenant"],))
    conn.execute("ROLLBACK TO SAVEPOINT s")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        conn.execute("INSERT INTO event (tenant_id, occurred_at, workspace_id, anonymous_id, event_type, name) "
                     "VALUES (%s, '2026-02-02', %s, 'anon-bravo-0001', 'track', 'x')", (b["tenant"], b["workspace"]))
    conn.execute("ROLLBACK TO SAVEPOINT s")
    # B's rows are invisible to UPDATE and DELETE: nothing changes.
    assert conn.execute("UPDATE workspace SET name = 'pwned' WHERE tenant_id = %s", (b["tenant"],)).rowcount == 0
    assert conn.execute("DELETE FROM event WHERE tenant_id = %s", (b["tenant"],)).rowcount == 0
    # Moving an own row into B is refused by WITH CHECK.
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        conn.execute("UPDATE lead SET tenant_id = %s WHERE id = %s", (b["tenant"], a["lead"]))
    conn.execute("ROLLBACK TO SAVEPOINT s")
    # Own tenant: allowed.
    conn.execute("INSERT INTO visitor (tenant_id, anonymous_id) VALUES (%s, 'anon-alpha-0002')", (a["tenant"],))
    conn.execute("RESET ROLE")
    assert conn.execute("SELECT count(*) FROM workspace WHERE name = 'pwned'").fetchone()[0] == 0


def test_live_partitions_over_time_and_refused_deletion(database, tmp_path):
    """Later runs only add months; moving `start` later would drop a month and its rows,
    which strict safety refuses; a PARTITION BY change is refused at preview."""
    engine = engine_for(database, today=date(2026, 3, 15), tmp=tmp_path)
    try:
        engine.up()
        with psycopg.connect(**database, autocommit=True) as db:
            db.execute("SET search_path TO analytics, public")
            seed_analytics_tenant(db, "alpha", has_pgcrypto(database))

        engine.today = date(2026, 6, 2)
        preview = engine.preview()
        assert preview.changed() == {"create": [f"analytics/analytics.event_2026_{m:02d}" for m in (6, 7, 8)]}
        engine.up()

        # Drift: RLS disabled on a partition by hand is reported by read and restored by up.
        with psycopg.connect(**database, autocommit=True) as db:
            db.execute("ALTER TABLE analytics.event_2026_02 DISABLE ROW LEVEL SECURITY")
        part = next(e for e in engine.state.values() if e.name == "analytics/analytics.event_2026_02")
        _, part.outputs = engine.provider.read(part.urn, part.id, part.outputs)
        assert part.outputs["rls_enabled"] is False
        assert engine.up().changed() == {"update": ["analytics/analytics.event_2026_02"]}
        with psycopg.connect(**database) as db:
            assert db.execute("SELECT relrowsecurity FROM pg_class WHERE oid = 'analytics.event_2026_02'::regclass"
                              ).fetchone()[0] is True

        later = {"event": {"interval": "month", "start": "2026-02", "ahead": 2}}
        modules = json.loads(engine.config["pgstack:modules"])
        modules[0]["partitions"] = later
        engine.config["pgstack:modules"] = json.dumps(modules)
        # A partition is protected where data loss is not accepted: the engine refuses before
        # the provider is asked.
        with pytest.raises(ProviderError, match=r"analytics\.event_2026_01. cannot be deleted because it is protected"):
            engine.up()
        with psycopg.connect(**database) as db:
            assert db.execute("SELECT count(*) FROM analytics.event_2026_01").fetchone()[0] == 1

        event = next(e for e in engine.state.values() if e.name == "analytics/analytics.event")
        urn = event.urn
        with pytest.raises(ProviderError, match="cannot change PARTITION BY"):  # at preview: check plans it
            engine.provider.check(urn, event.inputs, dict(event.inputs, partition_by="RANGE (received_at)"))
    finally:
        engine.close()

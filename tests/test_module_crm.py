"""The crm module (sql/crm, seed 003): its parsed model, and its client isolation live.

Model tests parse the real module files and check what the seed fixes (tables, exact column
types, defaults, CHECKs, indexes) and what the project adds (RLS on every table, a
client-isolation policy on every client-owned table, every foreign-key and policy column
indexed). The live tests run on a copy of the whole dev stack as the engine stand-in deploys it
(roles, grants and auth functions from Pulumi.dev.yaml), with clients A and B seeded
(tests/support/tenants.py), and connect as anon, authenticated (client A, client B, no client)
and service_role to prove what each can read and write.
"""

from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from pglast import ast, parse_sql
from psycopg import errors, sql

from components.model.declared import DeclaredTables
from components.model.parser import parse_module, walk
from tests.support.program import of_type
from tests.support.tenants import CLIENT_A, CLIENT_B, CLIENT_OWNED, OPERATOR_ONLY, act

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = "crm"

TABLES = [
    "clients", "lead_memory", "lead_actions", "growth_brain", "prospect_candidates",
    "prospect_outreach_log", "api_key_rotation_log", "relationship_insights",
]

CURRENT_CLIENT = "(SELECT CAST(NULLIF(current_setting('app.current_client_id', TRUE), '') AS uuid))"
OWN_ROW = f"client_id = {CURRENT_CLIENT}"

# Which commands authenticated clients get on each table (see the module's comments for why).
COMMANDS = {
    "clients": {"select"},
    "lead_memory": {"select", "insert", "update", "delete"},
    "lead_actions": {"select", "insert"},  # the seed's "immutable audit log"
    "growth_brain": {"select", "insert", "update", "delete"},
    "api_key_rotation_log": {"select"},  # written by the rotation endpoint (service role)
    "relationship_insights": {"select"},  # deprecated: no new rows
    "prospect_candidates": set(),
    "prospect_outreach_log": set(),
}


def parse_crm():
    return parse_module("crm", SCHEMA, ROOT / "sql" / "crm", DeclaredTables(), set(), display_root=ROOT)


@pytest.fixture(scope="module")
def crm():
    return parse_crm()


def col(module, table: str, name: str) -> dict:
    return next(c for c in module.table(table).inputs()["columns"] if c["name"] == name)


def con(module, table: str, name: str) -> dict:
    found = [c for c in module.table(table).inputs()["constraints"] if c["name"] == name]
    assert found, f"no constraint {name} on {table}"
    return found[0]


# --- the parsed model ---------------------------------------------------------------------------

def test_exact_table_set(crm):
    assert [t.name for t in crm.tables] == TABLES
    assert all(t.managed == "table" and t.schema == SCHEMA for t in crm.tables)
    assert crm.schemas == [] and crm.extensions == []
    assert crm.functions == [] and crm.triggers == [] and crm.views == []
    # One table per file, named after it, in the seed's dependency order.
    assert [t.source.split(":")[0] for t in crm.tables] == [
        f"sql/crm/{n:03d}_{name}.sql" for n, name in enumerate(TABLES, start=1)]


def test_clients_columns_as_the_seed_writes_them(crm):
    clients = crm.table("clients").inputs()
    assert [c["name"] for c in clients["columns"]] == [
        "id", "client_id", "business_name", "contact_name", "name", "email", "password_hash", "api_key",
        "language", "is_internal", "is_test", "industry_category", "primary_service", "booking_link",
        "custom_tagline", "email_tone", "followup_speed", "ai_personalized_reply", "outbound_email",
        "smtp_host", "smtp_port", "smtp_username", "smtp_password", "created_at", "last_login",
        "last_connection", "last_rotated",
    ]
    assert col(crm, "clients", "id") == {"name": "id", "type": "uuid", "not_null": True, "default": "gen_random_uuid()"}
    assert col(crm, "clients", "client_id")["not_null"] is True
    assert col(crm, "clients", "language") == {"name": "language", "type": "text", "not_null": False, "default": "'en'"}
    assert col(crm, "clients", "smtp_port")["type"] == "integer"
    assert col(crm, "clients", "ai_personalized_reply")["default"] == "TRUE"
    assert col(crm, "clients", "created_at") == {
        "name": "created_at", "type": "timestamp with time zone", "not_null": False, "default": "now()"}
    assert con(crm, "clients", "clients_email_tone_check")["expression"] == \
        "email_tone IN ('Friendly', 'Professional', 'Formal', 'Energetic')"
    assert con(crm, "clients", "clients_followup_speed_check")["expression"] == \
        "followup_speed IN ('Instant', 'Within 1 hour', 'Same day')"
    # The seed's unique indexes are the UNIQUE constraints themselves (no duplicate index).
    for name, column in (("idx_clients_client_id", "client_id"), ("idx_clients_email", "email"),
                         ("idx_clients_api_key", "api_key")):
        assert con(crm, "clients", name) == {"name": name, "kind": "unique", "columns": [column]}


def test_seed_types_defaults_and_checks(crm):
    assert col(crm, "lead_memory", "confidence_score")["type"] == "numeric(3,2)"
    assert con(crm, "lead_memory", "lead_memory_confidence_score_check")["expression"] == \
        "confidence_score >= 0 AND confidence_score <= 1"
    assert col(crm, "lead_memory", "tone_history")["default"] == "CAST('[]' AS jsonb)"
    assert col(crm, "lead_memory", "current_tag")["default"] == "'Active'"
    assert col(crm, "lead_memory", "timestamp")["type"] == "timestamp with time zone"
    assert con(crm, "lead_actions", "lead_actions_action_type_check")["expression"] == \
        "action_type IN ('insert', 'update', 'tag', 'archive', 'delete', 'revert')"
    snapshot = col(crm, "growth_brain", "learning_snapshot")
    assert (snapshot["type"], snapshot["not_null"], snapshot.get("default")) == ("jsonb", False, None)
    assert col(crm, "prospect_candidates", "automation_need_score")["type"] == "numeric(5,2)"
    assert con(crm, "prospect_candidates", "prospect_candidates_response_score_check")["expression"] == \
        "response_score >= 0 AND response_score <= 100"
    assert con(crm, "prospect_outreach_log", "prospect_outreach_log_status_check")["expression"] == \
        "status IN ('sent', 'opened', 'replied', 'ignored')"
    assert col(crm, "prospect_outreach_log", "status")["default"] == "'sent'"


def test_foreign_keys_follow_the_seed(crm):
    expected = {
        ("lead_memory", "client_id"): ("clients", "client_id"),
        ("lead_actions", "lead_id"): ("lead_memory", "id"),
        ("lead_actions", "client_id"): ("clients", "client_id"),
        ("growth_brain", "client_id"): ("clients", "client_id"),
        ("prospect_outreach_log", "prospect_id"): ("prospect_candidates", "id"),
        ("api_key_rotation_log", "client_id"): ("clients", "client_id"),
        ("relationship_insights", "lead_id"): ("lead_memory", "id"),
        ("relationship_insights", "client_id"): ("clients", "client_id"),
    }
    found = {}
    for table in crm.tables:
        for c in table.constraints:
            if c.kind == "foreign_key":
                assert c.on_delete == "cascade", c.name
                assert c.references.schema == SCHEMA
                found[(table.name, c.columns[0])] = (c.references.table, c.references.columns[0])
    assert found == expected


def test_seed_indexes(crm):
    indexes = {i.name: i.inputs() for i in crm.indexes}
    assert indexes["idx_lead_memory_client_active"]["elements"] == [
        {"column": "client_id"}, {"column": "current_tag"}, {"column": "is_test"},
        {"column": "timestamp", "order": "DESC"}]
    assert indexes["idx_lead_memory_archived"]["where"] == "archived = FALSE"
    assert indexes["idx_growth_brain_snapshot"]["method"] == "gin"
    assert indexes["idx_prospects_high_priority"]["where"] == "automation_need_score >= 70"
    assert indexes["idx_lead_actions_client_timeline"]["elements"] == [
        {"column": "client_id"}, {"column": "timestamp", "order": "DESC"}]
    assert len(indexes) == 36


def test_rls_enabled_on_every_table(crm):
    for table in crm.tables:
        assert table.rls_enabled, table.name
        assert not table.rls_forced, table.name


def test_client_isolation_policies(crm):
    by_table: dict[str, dict[str, object]] = {}
    for policy in crm.policies:
        assert policy.roles == ["authenticated"], policy.name
        assert policy.permissive, policy.name
        by_table.setdefault(policy.table, {})[policy.command] = policy
    assert {t: set(p) for t, p in by_table.items()} == {t: c for t, c in COMMANDS.items() if c}
    for table in CLIENT_OWNED + ["clients"]:
        policies = by_table[table]
        # Read: own rows only. Write: the new row must be the client's own (so a row can be neither
        # created for another client nor moved to one).
        assert policies["select"].using == OWN_ROW
        for command in ("update", "delete"):
            if command in policies:
                assert policies[command].using == OWN_ROW
        for command in ("insert", "update"):
            if command in policies:
                assert policies[command].with_check.startswith(OWN_ROW)
    assert "EXISTS (SELECT 1 FROM lead_memory" in by_table["lead_actions"]["insert"].with_check
    for table in OPERATOR_ONLY:
        assert table not in by_table


def _policy_columns(policy) -> set[tuple[str, str]]:
    """(table, column) for every column a policy expression reads; unqualified names belong to
    the policy's table, qualified ones to the table they name."""
    used = set()
    for text in (policy.using, policy.with_check):
        if not text:
            continue
        for node in walk(parse_sql(f"SELECT {text}")):
            if isinstance(node, ast.ColumnRef):
                names = [f.sval for f in node.fields if isinstance(f, ast.String)]
                used.add((policy.table, names[0]) if len(names) == 1 else (names[-2], names[-1]))
    return used


def test_every_foreign_key_and_policy_column_is_indexed(crm):
    """An index (or PK / UNIQUE) whose leading column it is, and no partial index: a partial one
    does not serve the FK's ON DELETE lookups nor every policy query."""
    leading = {(i.table, i.elements[0].column) for i in crm.indexes if i.elements[0].column and not i.where}
    for table in crm.tables:
        leading |= {(table.name, c.columns[0]) for c in table.constraints if c.kind in ("primary_key", "unique")}
    needed = set()
    for table in crm.tables:
        needed |= {(table.name, c.columns[0]) for c in table.constraints if c.kind == "foreign_key"}
        needed |= {(c.references.table, c.references.columns[0]) for c in table.constraints if c.kind == "foreign_key"}
    for policy in crm.policies:
        needed |= _policy_columns(policy)
    assert ("lead_memory", "id") in needed and ("clients", "client_id") in needed  # the check checks
    assert sorted(needed - leading) == []


def test_every_table_and_designed_column_is_commented(crm):
    for table in crm.tables:
        assert table.comment, table.name
    assert crm.table("relationship_insights").comment.startswith("DEPRECATED")
    rotation = crm.table("api_key_rotation_log")
    assert all(c.comment for c in rotation.columns if c.name not in ("id", "client_id"))
    assert con(crm, "api_key_rotation_log", "api_key_rotation_log_old_key_hash_format")["expression"] == \
        "old_key_hash ~ '^[0-9a-f]{64}$'"


# --- live: the dev stack deployed through the engine stand-in, then used as each role ------------

@pytest.fixture
def seeded(dev_stack):
    """Per client (A, B), how many rows of each table are its own (tests/support/tenants.py)."""
    return {name: tenant.rows for name, tenant in dev_stack.tenants["crm"].items()}


@pytest.fixture
def db(dev_stack):
    """The connecting superuser (RLS does not bind it), for arranging and checking."""
    with psycopg.connect(**dev_stack.database, autocommit=True, options=f"-c search_path={SCHEMA}") as conn:
        yield conn


@contextmanager
def acting(conn: psycopg.Connection, role: str, client: str | None = None):
    """One transaction as `role`, with app.current_client_id set for it only (as the API does)."""
    with conn.transaction():
        act(conn, role, {"app.current_client_id": client} if client is not None else None)
        yield conn


def visible(conn, table: str) -> list[str | None]:
    """client_id of every row `table` shows (prospect tables have none: their row count)."""
    if table in OPERATOR_ONLY:
        return [None] * conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
    return [str(r[0]) for r in conn.execute(sql.SQL("SELECT client_id FROM {}").format(sql.Identifier(table)))]


RLS_ERROR = "new row violates row-level security policy"


@pytest.fixture
def conn(dev_stack):
    with psycopg.connect(**dev_stack.database, options=f"-c search_path={SCHEMA}") as conn:
        yield conn


def test_module_is_live_as_declared(dev_stack, db):
    tables = db.execute("SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, c.relowner::regrole::text "
                        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.relname", (SCHEMA,)).fetchall()
    assert tables == [(t, True, False, "pgstack_owner") for t in sorted(TABLES)]
    indexes = {r[0] for r in db.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", (SCHEMA,))}
    assert {"idx_clients_email", "idx_clients_api_key", "idx_clients_client_id", "idx_growth_brain_snapshot",
            "idx_prospects_high_priority", "idx_lead_memory_client_active"} <= indexes
    assert "clients_email_key" not in indexes  # one index per unique column, named as the seed names it
    assert db.execute("SELECT count(*) FROM pg_policies WHERE schemaname = %s", (SCHEMA,)).fetchone()[0] == 13
    assert db.execute("SELECT obj_description('crm.relationship_insights'::regclass)").fetchone()[0].startswith("DEPRECATED")


def test_authenticated_client_sees_only_its_own_rows(seeded, conn):
    for client, name in ((CLIENT_A, "A"), (CLIENT_B, "B")):
        with acting(conn, "authenticated", client):
            for table in TABLES:
                rows = visible(conn, table)
                if table in OPERATOR_ONLY:
                    assert rows == [], table
                else:
                    assert rows == [client] * seeded[name][table], table


def test_without_a_client_nothing_is_visible_and_nothing_fails(seeded, dev_stack, conn):
    # Never set in this session: current_setting(..., true) is NULL.
    with psycopg.connect(**dev_stack.database, options=f"-c search_path={SCHEMA}") as fresh:
        with acting(fresh, "authenticated"):
            assert fresh.execute("SELECT current_setting('app.current_client_id', true)").fetchone()[0] is None
            for table in TABLES:
                assert visible(fresh, table) == [], table
    # After a transaction-local setting ended, it reads as '' for the rest of the session.
    with acting(conn, "authenticated", CLIENT_A):
        pass
    with acting(conn, "authenticated"):
        assert conn.execute("SELECT current_setting('app.current_client_id', true)").fetchone()[0] == ""
        for table in TABLES:
            assert visible(conn, table) == [], table
        assert conn.execute("UPDATE lead_memory SET name = 'x'").rowcount == 0
        assert conn.execute("DELETE FROM growth_brain").rowcount == 0
    with pytest.raises(errors.InsufficientPrivilege, match=RLS_ERROR):
        with acting(conn, "authenticated", ""):
            conn.execute("INSERT INTO growth_brain (client_id, event_type) VALUES (%s, 'conversion')", (CLIENT_A,))


WRITE_FOR_B = {
    "clients": ("INSERT INTO clients (client_id, business_name, email, password_hash, api_key) "
                "VALUES (gen_random_uuid(), 'C', 'c@example.com', 'x', 'key-c')", ()),
    "lead_memory": ("INSERT INTO lead_memory (email, name, client_id) VALUES ('n@b.test', 'N', %s)", (CLIENT_B,)),
    "lead_actions": ("INSERT INTO lead_actions (client_id, action_type) VALUES (%s, 'tag')", (CLIENT_B,)),
    "growth_brain": ("INSERT INTO growth_brain (client_id, event_type) VALUES (%s, 'conversion')", (CLIENT_B,)),
    "api_key_rotation_log": ("INSERT INTO api_key_rotation_log (client_id, old_key_hash, new_key_hash) "
                             "VALUES (%s, repeat('c', 64), repeat('d', 64))", (CLIENT_B,)),
    "relationship_insights": ("INSERT INTO relationship_insights (client_id) VALUES (%s)", (CLIENT_B,)),
    "prospect_candidates": ("INSERT INTO prospect_candidates (business_name) VALUES ('Other')", ()),
    "prospect_outreach_log": ("INSERT INTO prospect_outreach_log (email_subject, email_body) VALUES ('s', 'b')", ()),
}


@pytest.mark.parametrize("table", TABLES)
def test_client_cannot_write_rows_for_another_client(seeded, conn, table):
    statement, params = WRITE_FOR_B[table]
    with pytest.raises(errors.InsufficientPrivilege, match=RLS_ERROR):
        with acting(conn, "authenticated", CLIENT_A):
            conn.execute(statement, params)


def test_client_writes_its_own_rows(seeded, conn):
    with acting(conn, "authenticated", CLIENT_A):
        lead = conn.execute("INSERT INTO lead_memory (email, name, client_id) VALUES ('new@a.test', 'New', %s) "
                            "RETURNING id", (CLIENT_A,)).fetchone()[0]
        conn.execute("INSERT INTO lead_actions (lead_id, client_id, action_type, tag) VALUES (%s, %s, 'tag', 'Converted')",
                     (lead, CLIENT_A))
        conn.execute("INSERT INTO growth_brain (client_id, event_type) VALUES (%s, 'conversion')", (CLIENT_A,))
        assert conn.execute("UPDATE lead_memory SET current_tag = 'Follow-Up' WHERE id = %s", (lead,)).rowcount == 1
        assert conn.execute("DELETE FROM growth_brain WHERE event_type = 'conversion'").rowcount == 2  # A's only
        assert visible(conn, "lead_memory") == [CLIENT_A] * 3
        # lead_actions has no DELETE policy, yet a lead's actions go with it: the cascade is not
        # subject to RLS.
        assert conn.execute("DELETE FROM lead_memory WHERE id = %s", (lead,)).rowcount == 1
        assert conn.execute("SELECT count(*) FROM lead_actions WHERE lead_id = %s", (lead,)).fetchone()[0] == 0
        assert len(visible(conn, "lead_actions")) == 2


@pytest.mark.parametrize("table", ["lead_memory", "growth_brain"])
def test_client_cannot_move_a_row_to_another_client(seeded, conn, db, table):
    with pytest.raises(errors.InsufficientPrivilege, match=RLS_ERROR):
        with acting(conn, "authenticated", CLIENT_A):
            conn.execute(sql.SQL("UPDATE {} SET client_id = %s").format(sql.Identifier(table)), (CLIENT_B,))
    assert db.execute(sql.SQL("SELECT count(*) FROM {} WHERE client_id = %s").format(sql.Identifier(table)),
                      (CLIENT_B,)).fetchone()[0] == seeded["B"][table]


def test_read_only_and_append_only_tables_cannot_be_rewritten(seeded, conn, db):
    # No UPDATE/DELETE policy: the client's statements match no row (RLS filters them all out).
    with acting(conn, "authenticated", CLIENT_A):
        for table in ("clients", "lead_actions", "api_key_rotation_log", "relationship_insights"):
            assert conn.execute(sql.SQL("UPDATE {} SET client_id = %s").format(sql.Identifier(table)),
                                (CLIENT_B,)).rowcount == 0, table
            assert conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table))).rowcount == 0, table
        assert conn.execute("UPDATE clients SET is_internal = true").rowcount == 0
    assert db.execute("SELECT count(*) FROM lead_actions WHERE client_id = %s", (CLIENT_A,)).fetchone()[0] == 2


def test_client_cannot_touch_another_clients_rows(seeded, conn, db):
    with acting(conn, "authenticated", CLIENT_A):
        assert conn.execute("UPDATE lead_memory SET name = 'hijacked' WHERE client_id = %s", (CLIENT_B,)).rowcount == 0
        assert conn.execute("DELETE FROM lead_memory WHERE client_id = %s", (CLIENT_B,)).rowcount == 0
        assert conn.execute("DELETE FROM growth_brain WHERE client_id = %s", (CLIENT_B,)).rowcount == 0
    assert db.execute("SELECT count(*) FROM lead_memory WHERE client_id = %s AND name <> 'hijacked'",
                      (CLIENT_B,)).fetchone()[0] == 3


def test_client_cannot_attach_an_action_to_another_clients_lead(seeded, conn, db):
    b_lead = db.execute("SELECT id FROM lead_memory WHERE client_id = %s LIMIT 1", (CLIENT_B,)).fetchone()[0]
    with pytest.raises(errors.InsufficientPrivilege, match=RLS_ERROR):
        with acting(conn, "authenticated", CLIENT_A):
            conn.execute("INSERT INTO lead_actions (lead_id, client_id, action_type) VALUES (%s, %s, 'tag')",
                         (b_lead, CLIENT_A))


def test_anon_gets_nothing_and_service_role_everything(seeded, conn, db):
    # The dev stack grants anon nothing on crm.
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied for schema crm"):
        with acting(conn, "anon", CLIENT_A):
            conn.execute("SELECT client_id FROM crm.clients")
    # Granted every table privilege by hand (as Supabase's default grants would), anon still sees
    # nothing, even with a client set: no policy is for anon.
    db.execute("GRANT USAGE ON SCHEMA crm TO anon")
    db.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA crm TO anon")
    with acting(conn, "anon", CLIENT_A):
        for table in TABLES:
            assert visible(conn, table) == [], table
    with pytest.raises(errors.InsufficientPrivilege, match=RLS_ERROR):
        with acting(conn, "anon", CLIENT_A):
            conn.execute("INSERT INTO lead_memory (email, name, client_id) VALUES ('a@a', 'A', %s)", (CLIENT_A,))
    with acting(conn, "service_role"):
        for table in TABLES:
            expected = 1 if table in OPERATOR_ONLY else seeded["A"][table] + seeded["B"][table]
            assert len(visible(conn, table)) == expected, table


# --- the program, under Pulumi mocks, with the module in schema crm -----------------------------

def test_program_declares_the_module_in_schema_crm(declared):
    """The dev stack lists crm in schema crm: the program declares its schema and one resource per
    object, each depending on its table (and a table on the tables it references)."""
    monitor = declared("dev")
    urn = {r["name"]: r["urn"] for r in monitor.registrations}
    module = next(r for r in monitor.registrations if r["type"] == "pgstack:index:SchemaModule" and r["name"] == "crm")
    tables = [r for r in of_type(monitor, ":Table") if r["name"].startswith("crm/")]
    indexes = [r for r in of_type(monitor, ":Index") if r["name"].startswith("crm/")]
    policies = [r for r in of_type(monitor, ":Policy") if r["name"].startswith("crm/")]
    assert sorted(r["inputs"]["name"] for r in tables) == sorted(TABLES)
    assert len(indexes) == 36 and len(policies) == 13
    for resource in tables + indexes + policies:
        assert resource["parent"] == module["urn"]
        assert resource["inputs"]["schema"] == SCHEMA
    for resource in indexes + policies:
        assert urn[f"crm/{SCHEMA}.{resource['inputs']['table']}"] in resource["dependencies"], resource["name"]
    actions = next(r for r in tables if r["inputs"]["name"] == "lead_actions")
    assert {urn[f"crm/{SCHEMA}.clients"], urn[f"crm/{SCHEMA}.lead_memory"]} <= actions["dependencies"]
    assert any(r["inputs"].get("name") == SCHEMA for r in of_type(monitor, ":Schema"))

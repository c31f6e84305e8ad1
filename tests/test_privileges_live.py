"""No role runs code as the deployer, and no view or function reads past row level security
(issue 10, items 4 and 5), live:

- the issue's attack, as the dev stack's `developer` login: `[all]` no longer grants TRIGGER, so
  CREATE TRIGGER is refused;
- where a role does hold TRIGGER (granted by hand): the deployer's sample data load refuses to
  write tables with triggers the stack did not declare, so the trigger never runs as the
  deployer; `refresh` reports the trigger and the privilege, and the next `up` removes them;
  a TRIGGER grant that stack config accepts with a reason is not drift;
- a view and a function over a tenant table, granted like the module's tables, show tenant A
  only A's rows and cannot change B's; a view turned to its owner's rights by hand is drift
  that the next `up` puts back.

The stack here is a small one (module `m` in schema `hyg`, run through the engine stand-in and
the real dynamic provider) with the dev stack's settings otherwise; the attack itself is also
repeated on a copy of the deployed dev stack.
"""

import json
import re
import secrets
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql

from components.model.errors import SqlModelError
from tests.support.engine import EngineDouble
from tests.support.provider_process import ProviderError

SCHEMA = "hyg"
ATTACKER = "hyg_dev"
SHOP_A, SHOP_B = "shop-a", "shop-b"
NOTE_A, NOTE_B = "0a0a0a0a-0000-4000-8000-000000000001", "0b0b0b0b-0000-4000-8000-000000000002"

MODULE = f"""-- A tenant table, a trigger the stack declares, a view and a function over the table.
CREATE TABLE notes (
    id   uuid PRIMARY KEY,
    shop text NOT NULL,
    body text NOT NULL,
    seen timestamptz
);
CREATE INDEX idx_notes_shop ON notes (shop);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY notes_shop ON notes FOR ALL TO authenticated
    USING (shop = (select current_setting('app.current_shop', true)))
    WITH CHECK (shop = (select current_setting('app.current_shop', true)));

CREATE TABLE tags (id uuid PRIMARY KEY, note_id uuid NOT NULL REFERENCES notes (id), tag text NOT NULL);
CREATE INDEX idx_tags_note ON tags (note_id);
ALTER TABLE tags ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION notes_seen() RETURNS trigger LANGUAGE plpgsql SET search_path = ''
    AS $$ BEGIN NEW.seen := now(); RETURN NEW; END $$;
CREATE TRIGGER notes_seen BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION notes_seen();

-- What the issue reproduced: a view and a function over a tenant table, granted like its tables.
CREATE VIEW shop_notes AS SELECT id, shop, body FROM notes;
CREATE FUNCTION notes_of_shop() RETURNS text[] LANGUAGE sql STABLE SET search_path = ''
    AS $$ SELECT array_agg(shop ORDER BY shop) FROM {SCHEMA}.notes $$;
CREATE FUNCTION rename_note(note uuid, new_body text) RETURNS integer LANGUAGE sql SET search_path = ''
    AS $$ WITH changed AS (UPDATE {SCHEMA}.notes SET body = new_body WHERE id = note RETURNING 1)
          SELECT count(*)::integer FROM changed $$;
"""
SAMPLE = (f"INSERT INTO notes (id, shop, body) VALUES ('{NOTE_A}', '{SHOP_A}', 'a'), ('{NOTE_B}', '{SHOP_B}', 'b')\n"
          "    ON CONFLICT DO NOTHING;\n")
# The issue's attack, on this stack's table and role.
SPY = (f"CREATE FUNCTION pg_temp.spy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RESET ROLE; "
       f"EXECUTE 'ALTER ROLE {ATTACKER} SUPERUSER'; RETURN NEW; END $$")
ATTACH = "CREATE TRIGGER zz BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()"


def stack_config(password: str, trigger_reason: str | None = None) -> dict[str, str]:
    grant = {"module": "m", "role": ATTACKER, "schema": ["usage"], "tables": ["all"]}
    if trigger_reason:
        grant.update(tables=["select", "trigger"], trigger_reason=trigger_reason)
    return {
        "pgstack:modules": json.dumps([{"name": "m", "schema": SCHEMA, "sample_data": True}]),
        "pgstack:roles": json.dumps([{"name": ATTACKER, "login": True, "password": {"secret": "hyg_dev_password"}}]),
        "pgstack:hyg_dev_password": password,
        "pgstack:grants": json.dumps([
            grant,
            {"module": "m", "role": "authenticated", "schema": ["usage"],
             "tables": ["select", "insert", "update", "delete"], "functions": ["execute"]},
        ]),
    }


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "project" / "sql"
    (root / "m" / "sample").mkdir(parents=True)
    (root / "m" / "001_notes.sql").write_text(MODULE)
    (root / "m" / "sample" / "001_notes.sql").write_text(SAMPLE)
    return root


@pytest.fixture
def password() -> str:
    return secrets.token_urlsafe(16)


@pytest.fixture
def engine(database, project, password):
    with EngineDouble(database, stack="dev", sql_root=project, config=stack_config(password)) as engine:
        engine.up()
        yield engine


def login(database: dict, user: str, password: str) -> psycopg.Connection:
    return psycopg.connect(**dict(database, user=user, password=password), autocommit=True)


def is_superuser(db, role: str) -> bool:
    return db.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (role,)).fetchone()[0]


def triggers(db, table: str) -> set[str]:
    return {r[0] for r in db.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                                     (table,))}


def add_sample_row(project: Path, n: int) -> None:
    """An edited sample file: the next `up` runs the sample data again."""
    sample = project / "m" / "sample" / "001_notes.sql"
    sample.write_text(sample.read_text() + f"INSERT INTO notes (id, shop, body) VALUES "
                      f"('0c0c0c0c-0000-4000-8000-00000000000{n}', '{SHOP_A}', 'more') ON CONFLICT DO NOTHING;\n")


# --- 4: no role runs code as the deployer -------------------------------------------------------

def test_the_issues_attack_as_the_dev_developer_login_is_refused(dev_stack):
    """`tables: [all]` granted TRIGGER, and `developer` made itself superuser through a trigger the
    next sample-data insert fired. `[all]` no longer includes TRIGGER: CREATE TRIGGER is refused,
    and developer holds TRIGGER on no table or partition of the stack."""
    database, password = dev_stack.database, secrets.token_urlsafe(16)
    with psycopg.connect(**database, autocommit=True) as db:
        db.execute(sql.SQL("ALTER ROLE developer PASSWORD {}").format(sql.Literal(password)))
        held = db.execute("SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                          "WHERE n.nspname IN ('public', 'growth', 'crm', 'analytics') AND c.relkind IN ('r', 'p') "
                          "AND has_table_privilege('developer', c.oid, 'TRIGGER')").fetchall()
        assert held == []
        with login(database, "developer", password) as developer:
            developer.execute("CREATE FUNCTION pg_temp.spy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RESET ROLE; "
                              "EXECUTE 'ALTER ROLE developer SUPERUSER'; RETURN NEW; END $$")
            with pytest.raises(errors.InsufficientPrivilege, match="permission denied for table tenant"):
                developer.execute("CREATE TRIGGER zz BEFORE INSERT ON analytics.tenant FOR EACH ROW "
                                  "EXECUTE FUNCTION pg_temp.spy()")
            # ... nor attach the module's own trigger function to another table.
            with pytest.raises(errors.InsufficientPrivilege, match="permission denied for table workspace"):
                developer.execute("CREATE TRIGGER zz BEFORE INSERT ON analytics.workspace FOR EACH ROW "
                                  "EXECUTE FUNCTION analytics.funnel_publication_immutable()")
        assert not is_superuser(db, "developer")


def test_a_trigger_the_stack_did_not_declare_never_runs_as_the_deployer(engine, project, database, db, password):
    """TRIGGER granted by hand (drift): the attacker attaches its own function, and the module's
    own trigger function to another table. The deployer's next sample-data load refuses to write,
    naming both; refresh reports them and the privilege on the tables; the next `up` drops them
    and revokes the privilege, and the load goes through."""
    with login(database, ATTACKER, password) as attacker:
        attacker.execute(SPY)
        with pytest.raises(errors.InsufficientPrivilege, match="permission denied for table notes"):
            attacker.execute(ATTACH.format(table=f"{SCHEMA}.notes", function="pg_temp.spy"))

        db.execute(f"GRANT TRIGGER ON {SCHEMA}.notes, {SCHEMA}.tags TO {ATTACKER}")  # by hand, outside the stack
        attacker.execute(ATTACH.format(table=f"{SCHEMA}.notes", function="pg_temp.spy"))
        attacker.execute(ATTACH.format(table=f"{SCHEMA}.tags", function=f"{SCHEMA}.notes_seen"))
        spy = attacker.execute("SELECT pg_my_temp_schema()::regnamespace::text").fetchone()[0] + ".spy"

        add_sample_row(project, 1)
        with pytest.raises(ProviderError) as refused:
            engine.up()
        assert f"refusing to write: the tables have triggers the stack does not declare, which would run as the " \
               f"deploying user: zz on {SCHEMA}.notes (function {spy}). Nothing was changed." in str(refused.value)
        assert not is_superuser(db, ATTACKER)
        assert db.execute(f"SELECT count(*) FROM {SCHEMA}.notes").fetchone()[0] == 2  # the new row: not written

        assert engine.refresh() == []
        preview = engine.preview()
        assert preview.changed() == {"update": ["m/hyg.notes", "m/hyg.sample_data", "m/hyg.tags"]}
        notes = engine.entry("pulumi-python:dynamic/pgstack:Table", "m/hyg.notes").outputs
        assert notes["foreign_triggers"] == [{"schema": SCHEMA, "table": "notes", "name": "zz", "function": spy}]
        assert notes["trigger_privileges"] == [{"schema": SCHEMA, "table": "notes", "role": ATTACKER}]
        tags = engine.entry("pulumi-python:dynamic/pgstack:Table", "m/hyg.tags").outputs
        assert tags["foreign_triggers"] == [{"schema": SCHEMA, "table": "tags", "name": "zz",
                                             "function": f"{SCHEMA}.notes_seen"}]

        engine.up()
    assert triggers(db, f"{SCHEMA}.notes") == {"notes_seen"} and triggers(db, f"{SCHEMA}.tags") == set()
    assert not db.execute(f"SELECT has_table_privilege('{ATTACKER}', '{SCHEMA}.notes', 'TRIGGER')").fetchone()[0]
    assert db.execute(f"SELECT count(*) FROM {SCHEMA}.notes").fetchone()[0] == 3
    assert not is_superuser(db, ATTACKER)
    assert engine.refresh() == []
    assert engine.preview().changed() == {}


def test_trigger_passed_on_through_a_grant_option_is_revoked_down_the_chain(engine, database, db, password):
    """TRIGGER granted by hand WITH GRANT OPTION, and passed on by its holder to another role:
    the second grant's grantor is the first holder, not the owner, so a plain REVOKE from the
    first is refused (dependent privileges exist) and one from the second revokes nothing. The
    next `up` revokes both, down the chain, and converges."""
    db.execute(f"GRANT TRIGGER ON {SCHEMA}.notes TO {ATTACKER} WITH GRANT OPTION")  # by hand, outside the stack
    with login(database, ATTACKER, password) as attacker:
        attacker.execute(f"GRANT TRIGGER ON {SCHEMA}.notes TO authenticated")
    assert engine.refresh() == []
    notes = engine.entry("pulumi-python:dynamic/pgstack:Table", "m/hyg.notes").outputs
    assert notes["trigger_privileges"] == [{"schema": SCHEMA, "table": "notes", "role": "authenticated"},
                                           {"schema": SCHEMA, "table": "notes", "role": ATTACKER}]
    assert engine.preview().changed() == {"update": ["m/hyg.notes"]}
    assert engine.up().changed() == {"update": ["m/hyg.notes"]}
    held = "SELECT has_table_privilege(%s, 'hyg.notes', 'TRIGGER')"
    assert [db.execute(held, (role,)).fetchone()[0] for role in (ATTACKER, "authenticated")] == [False, False]
    assert engine.refresh() == []
    assert engine.preview().changed() == {}


def test_a_trigger_grant_option_is_taken_back_from_a_role_config_grants_trigger(database, project, db, password):
    """Stack config grants TRIGGER with a reason, never WITH GRANT OPTION: the option, added by
    hand and used to pass TRIGGER on, is drift. The next `up` takes back the option, and with it
    what was passed on; the role keeps TRIGGER."""
    config = stack_config(password, trigger_reason="audits the notes with its own trigger")
    with EngineDouble(database, stack="dev", sql_root=project, config=config) as engine:
        engine.up()
        db.execute(f"GRANT TRIGGER ON {SCHEMA}.notes TO {ATTACKER} WITH GRANT OPTION")  # by hand
        with login(database, ATTACKER, password) as attacker:
            attacker.execute(f"GRANT TRIGGER ON {SCHEMA}.notes TO authenticated")
        assert engine.refresh() == []
        notes = engine.entry("pulumi-python:dynamic/pgstack:Table", "m/hyg.notes").outputs
        assert notes["trigger_privileges"] == [
            {"schema": SCHEMA, "table": "notes", "role": "authenticated"},
            {"schema": SCHEMA, "table": "notes", "role": ATTACKER, "grant_option": True}]
        assert engine.up().changed() == {"update": ["m/hyg.notes"]}
        held = "SELECT has_table_privilege(%s, 'hyg.notes', %s)"
        assert [db.execute(held, (role, privilege)).fetchone()[0] for role, privilege in (
            (ATTACKER, "TRIGGER"), (ATTACKER, "TRIGGER WITH GRANT OPTION"), ("authenticated", "TRIGGER"))] == [
            True, False, False]
        assert engine.refresh() == []
        assert engine.preview().changed() == {}


MIGRATIONS = {
    False: "UPDATE notes SET body = 'migrated' WHERE body <> 'migrated';\n",
    True: "-- pgstack: batched\nUPDATE notes SET body = 'migrated'\n"
          "WHERE id IN (SELECT id FROM notes WHERE body <> 'migrated' ORDER BY id LIMIT 1);\n",
}


@pytest.mark.parametrize("batched", [False, True], ids=["one transaction", "batched"])
def test_a_data_migration_never_runs_a_trigger_the_stack_did_not_declare(
        engine, project, database, db, password, batched):
    """Data migrations are DML the deployer runs too: with a trigger of the attacker's on the
    table, the migration is refused, naming it, and writes nothing (each batch of a batched one
    is checked in its own transaction); refresh reports the trigger, and the next `up` drops it
    before the migration runs."""
    with login(database, ATTACKER, password) as attacker:
        db.execute(f"GRANT TRIGGER ON {SCHEMA}.notes TO {ATTACKER}")  # by hand, outside the stack
        attacker.execute(SPY)
        attacker.execute(f"CREATE TRIGGER zz BEFORE INSERT OR UPDATE ON {SCHEMA}.notes FOR EACH ROW "
                         "EXECUTE FUNCTION pg_temp.spy()")
        spy = attacker.execute("SELECT pg_my_temp_schema()::regnamespace::text").fetchone()[0] + ".spy"

        (project / "m" / "migrations").mkdir()
        (project / "m" / "migrations" / "0001_migrate.sql").write_text(MIGRATIONS[batched])
        with pytest.raises(ProviderError) as refused:
            engine.up()
        assert f"migration {SCHEMA}.m/0001" in str(refused.value)
        assert f"which would run as the deploying user: zz on {SCHEMA}.notes (function {spy}). Nothing was " \
               "changed." in str(refused.value)
        assert not is_superuser(db, ATTACKER)
        assert db.execute(f"SELECT count(*) FROM {SCHEMA}.notes WHERE body = 'migrated'").fetchone()[0] == 0

        assert engine.refresh() == []
        notes = engine.entry("pulumi-python:dynamic/pgstack:Table", "m/hyg.notes").outputs
        assert notes["foreign_triggers"] == [{"schema": SCHEMA, "table": "notes", "name": "zz", "function": spy}]
        assert engine.preview().changed() == {"create": ["m/migrations.0001"], "update": ["m/hyg.notes"]}
        engine.up()
    assert triggers(db, f"{SCHEMA}.notes") == {"notes_seen"}
    assert db.execute(f"SELECT DISTINCT body FROM {SCHEMA}.notes").fetchall() == [("migrated",)]
    assert not is_superuser(db, ATTACKER)
    assert engine.refresh() == [] and engine.preview().changed() == {}


def test_trigger_granted_with_a_reason_is_no_drift_and_still_cannot_run_as_the_deployer(
        database, project, db, password):
    config = stack_config(password, trigger_reason="the audit tool attaches its own triggers")
    with EngineDouble(database, stack="dev", sql_root=project, config=config) as engine:
        engine.up()
        assert db.execute(f"SELECT has_table_privilege('{ATTACKER}', '{SCHEMA}.notes', 'TRIGGER')").fetchone()[0]
        assert engine.refresh() == [] and engine.preview().changed() == {}
        with login(database, ATTACKER, password) as attacker:
            attacker.execute(SPY)
            attacker.execute(ATTACH.format(table=f"{SCHEMA}.notes", function="pg_temp.spy"))
            add_sample_row(project, 2)
            with pytest.raises(ProviderError, match=f"triggers the stack does not declare.*zz on {SCHEMA}.notes"):
                engine.up()
        assert not is_superuser(db, ATTACKER)


def test_sample_data_refuses_triggers_on_a_partition(database, db, tmp_path):
    """A row written through a partitioned table fires its partition's triggers, so those count
    too (a partition gets the schema's default privileges, not the table's grants)."""
    root = tmp_path / "sql"
    (root / "m" / "sample").mkdir(parents=True)
    (root / "m" / "001_events.sql").write_text(
        "CREATE TABLE events (id uuid NOT NULL, at timestamptz NOT NULL, PRIMARY KEY (id, at)) "
        "PARTITION BY RANGE (at);\nALTER TABLE events ENABLE ROW LEVEL SECURITY;\n")
    (root / "m" / "sample" / "001.sql").write_text(
        "INSERT INTO events (id, at) VALUES ('0a0a0a0a-0000-4000-8000-000000000001', '2026-02-01') "
        "ON CONFLICT DO NOTHING;\n")
    config = {"pgstack:modules": json.dumps([{"name": "m", "schema": SCHEMA, "sample_data": True, "partitions": {
        "events": {"interval": "month", "start": "2026-01", "ahead": 1}}}]), "pgstack:grants": "[]",
              "pgstack:roles": "[]"}
    with EngineDouble(database, stack="dev", sql_root=root, config=config, today=date(2026, 3, 15)) as engine:
        engine.up()
        db.execute("CREATE FUNCTION public.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$")
        db.execute(f"CREATE TRIGGER on_partition BEFORE INSERT ON {SCHEMA}.events_2026_02 FOR EACH ROW "
                   "EXECUTE FUNCTION public.noop()")
        (root / "m" / "sample" / "001.sql").write_text((root / "m" / "sample" / "001.sql").read_text() + "-- again\n"
                                                     "INSERT INTO events (id, at) VALUES ("
                                                     "'0a0a0a0a-0000-4000-8000-000000000002', '2026-02-02') "
                                                     "ON CONFLICT DO NOTHING;\n")
        with pytest.raises(ProviderError, match=rf"on_partition on {SCHEMA}\.events_2026_02 \(function public\.noop\)"):
            engine.up()
        assert engine.refresh() == []
        events = engine.entry("pulumi-python:dynamic/pgstack:Table", "m/hyg.events").outputs
        assert [t["name"] for t in events["foreign_triggers"]] == ["on_partition"]


# --- 5: views and functions run with the caller's rights ----------------------------------------

def as_tenant(database: dict, shop: str) -> psycopg.Connection:
    conn = psycopg.connect(**database, autocommit=True)
    conn.execute("SET ROLE authenticated")
    conn.execute("SELECT set_config('app.current_shop', %s, false)", (shop,))
    return conn


def test_a_view_and_a_function_over_a_tenant_table_show_only_the_tenants_rows(engine, database, db):
    assert db.execute(f"SELECT reloptions FROM pg_class WHERE oid = '{SCHEMA}.shop_notes'::regclass").fetchone()[0] \
        == ["security_invoker=true"]
    with as_tenant(database, SHOP_A) as tenant:
        assert [r[0] for r in tenant.execute(f"SELECT shop FROM {SCHEMA}.shop_notes")] == [SHOP_A]
        assert tenant.execute(f"UPDATE {SCHEMA}.shop_notes SET body = 'changed by A' WHERE id = %s",
                              (NOTE_B,)).rowcount == 0
        assert tenant.execute(f"UPDATE {SCHEMA}.shop_notes SET body = 'mine' WHERE id = %s", (NOTE_A,)).rowcount == 1
        assert tenant.execute(f"SELECT {SCHEMA}.notes_of_shop()").fetchone()[0] == [SHOP_A]
        assert tenant.execute(f"SELECT {SCHEMA}.rename_note(%s, 'changed by A')", (NOTE_B,)).fetchone()[0] == 0
        assert tenant.execute(f"SELECT {SCHEMA}.rename_note(%s, 'mine again')", (NOTE_A,)).fetchone()[0] == 1
    assert db.execute(f"SELECT body FROM {SCHEMA}.notes WHERE id = %s", (NOTE_B,)).fetchone()[0] == "b"


def test_a_view_turned_to_its_owners_rights_by_hand_is_drift_that_up_undoes(engine, database, db):
    db.execute(f"ALTER VIEW {SCHEMA}.shop_notes SET (security_invoker = false)")
    with as_tenant(database, SHOP_A) as tenant:  # what the drift does: every shop's rows
        assert sorted(r[0] for r in tenant.execute(f"SELECT shop FROM {SCHEMA}.shop_notes")) == [SHOP_A, SHOP_B]
    assert engine.refresh() == []
    assert engine.preview().changed() == {"update": ["m/hyg.shop_notes"]}
    view = engine.entry("pulumi-python:dynamic/pgstack:View", "m/hyg.shop_notes").outputs
    assert view["options"] == ["security_invoker=false"]
    engine.up()
    with as_tenant(database, SHOP_A) as tenant:
        assert [r[0] for r in tenant.execute(f"SELECT shop FROM {SCHEMA}.shop_notes")] == [SHOP_A]
    assert engine.refresh() == [] and engine.preview().changed() == {}


@pytest.mark.parametrize("old, new, message", [
    ("CREATE VIEW shop_notes AS", "CREATE VIEW shop_notes WITH (security_invoker = false) AS",
     "view hyg.shop_notes sets security_invoker = false"),
    ("RETURNS text[] LANGUAGE sql STABLE", "RETURNS text[] LANGUAGE sql STABLE SECURITY DEFINER",
     "function hyg.notes_of_shop() is SECURITY DEFINER"),
])
def test_a_view_or_function_with_the_owners_rights_stops_the_preview(database, project, password, old, new, message):
    path = project / "m" / "001_notes.sql"
    path.write_text(path.read_text().replace(old, new))
    with EngineDouble(database, stack="dev", sql_root=project, config=stack_config(password)) as engine:
        with pytest.raises(SqlModelError, match=re.escape(message)):
            engine.preview()

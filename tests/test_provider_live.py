"""The dynamic provider against a real PostgreSQL, driven the way the engine drives it: through
the SDK's dynamic-provider server in a separate process, with the pickled provider."""

import copy
import json
import uuid
from pathlib import Path

import pytest

from components.provider import (
    FunctionProvider, IndexProvider, PolicyProvider, TableProvider, TriggerProvider, ViewProvider,
)
from components.model import hazards
from tests.support.databases import drop_database, new_database
from tests.support.engine import stack_config
from tests.support.provider_process import ProviderError, ProviderProcess, pickled
from tests.support.resources import FUNCTION, INDEX, POLICY, TABLE, TRIGGER, VIEW, Resource

@pytest.fixture(scope="module")
def database_name() -> str:
    return f"test_provider_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def database(pg_server, database_name):
    """A new, empty database, always under this module's one name (conftest's `db` connects to
    it): the provider processes, configured with that name once, serve every test here."""
    database = new_database(pg_server, name=database_name)
    yield database
    drop_database(pg_server, database)


def provider_process(pg_server: dict, database_name: str, safety: dict):
    process = ProviderProcess(stack_config(dict(pg_server, dbname=database_name), safety=json.dumps(safety)))
    yield process
    process.close()


@pytest.fixture(scope="module")
def strict(pg_server, database_name):
    # Every hazard but data loss accepted: what these tests check is the data-loss rule.
    everything_but_data_loss = [h.name for h in hazards.ALL if h is not hazards.DATA_LOSS]
    yield from provider_process(pg_server, database_name,
                                {"allow_data_loss": False, "allow_hazards": everything_but_data_loss})


@pytest.fixture(scope="module")
def permissive(pg_server, database_name):
    yield from provider_process(pg_server, database_name, {"allow_data_loss": True})


def columns(db, table="accounts"):
    return [r[0] for r in db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
        (table,)).fetchall()]


def count(db, table="accounts"):
    return db.execute(f"SELECT count(*) FROM public.{table}").fetchone()[0]


def test_a_closed_provider_process_leaves_no_folder_behind(database):
    """Test hygiene: each provider process works in a folder of its own (its log, its stdout),
    removed when it is closed; a run starts over a hundred."""
    process = ProviderProcess(stack_config(database))
    workdir = Path(process.workdir)
    assert workdir.is_dir()
    process.close()
    assert not workdir.exists()


def test_pickled_provider_holds_no_secret(database):
    for provider in (TableProvider(), IndexProvider(), PolicyProvider()):
        blob = pickled(provider)
        assert database["password"] not in blob
        assert "db_password" not in blob


def test_create_every_kind(strict, db):
    table = Resource(strict, TableProvider(), TABLE)
    assert table.id == "public.accounts"
    Resource(strict, IndexProvider(), INDEX)
    Resource(strict, PolicyProvider(), POLICY)
    Resource(strict, FunctionProvider(), FUNCTION)
    Resource(strict, TriggerProvider(), TRIGGER)
    Resource(strict, ViewProvider(), VIEW)

    assert columns(db) == ["id", "tenant", "email", "status"]
    assert db.execute("SELECT relrowsecurity FROM pg_class WHERE relname = 'accounts'").fetchone()[0] is True
    assert db.execute("SELECT obj_description('public.accounts'::regclass)").fetchone()[0] == "accounts of a tenant"
    indexdef = db.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_accounts_email'").fetchone()[0]
    assert "WHERE (email IS NOT NULL)" in indexdef
    assert db.execute("SELECT qual FROM pg_policies WHERE policyname = 'tenant_isolation'").fetchone()[0]
    assert db.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'accounts_touch'").fetchone()[0] == 1
    db.execute("INSERT INTO accounts (tenant, email, status) VALUES ('a', 'x@a', 'active')")
    assert db.execute("SELECT email FROM active_accounts").fetchall() == [("x@a",)]
    with pytest.raises(Exception, match="accounts_status_check"):
        db.execute("INSERT INTO accounts (tenant, status) VALUES ('a', 'bogus')")


def test_table_changes_keep_rows(strict, permissive, db):
    table = Resource(strict, TableProvider(), TABLE)
    db.execute("INSERT INTO accounts (tenant, email) VALUES ('a', 'one@a'), ('b', 'two@b')")
    props = copy.deepcopy(TABLE)

    # add column
    props["columns"].append({"name": "plan", "type": "text", "not_null": False, "default": "'free'"})
    assert table.apply(props) == {"changes": True, "replaces": [], "delete_before_replace": False}
    assert "plan" in columns(db) and count(db) == 2
    assert db.execute("SELECT DISTINCT plan FROM accounts").fetchall() == [("free",)]

    # change default
    props["columns"][-1]["default"] = "'pro'"
    table.apply(props)
    db.execute("INSERT INTO accounts (tenant) VALUES ('c')")
    assert db.execute("SELECT plan FROM accounts WHERE tenant = 'c'").fetchone()[0] == "pro"
    assert count(db) == 3

    # change nullability
    props["columns"][2]["not_null"] = True  # email: every row has one except 'c'
    with pytest.raises(ProviderError, match="email"):
        table.apply(props)  # PostgreSQL refuses: a NULL exists; nothing changed
    assert count(db) == 3
    db.execute("UPDATE accounts SET email = 'three@c' WHERE tenant = 'c'")
    table.apply(props)
    assert db.execute("SELECT is_nullable FROM information_schema.columns WHERE column_name = 'email' "
                      "AND table_name = 'accounts'").fetchone()[0] == "NO"

    # add a CHECK, then change it
    props["constraints"].append({"name": "accounts_plan_check", "kind": "check", "columns": [],
                                 "expression": "plan IN ('free', 'pro')"})
    table.apply(props)
    with pytest.raises(Exception, match="accounts_plan_check"):
        db.execute("INSERT INTO accounts (tenant, email, plan) VALUES ('d', 'd@d', 'team')")
    props["constraints"][-1]["expression"] = "plan IN ('free', 'pro', 'team')"
    table.apply(props)
    db.execute("INSERT INTO accounts (tenant, email, plan) VALUES ('d', 'd@d', 'team')")
    assert count(db) == 4

    # drop column: refused under strict safety (nothing changes), allowed under permissive
    props["columns"] = [c for c in props["columns"] if c["name"] != "plan"]
    props["constraints"] = [c for c in props["constraints"] if c["name"] != "accounts_plan_check"]
    with pytest.raises(ProviderError, match=r"refusing to drop column public\.accounts\.plan"):
        table.apply(props)
    assert "plan" in columns(db)
    assert db.execute("SELECT count(*) FROM pg_constraint WHERE conname = 'accounts_plan_check'").fetchone()[0] == 1
    table.apply(props, process=permissive)
    assert "plan" not in columns(db) and count(db) == 4


def test_type_narrowing_is_refused(strict, db):
    table = Resource(strict, TableProvider(), TABLE)
    db.execute("INSERT INTO accounts (tenant, email) VALUES ('a', 'a@a')")
    props = copy.deepcopy(TABLE)
    props["columns"][2]["type"] = "character varying(3)"
    with pytest.raises(ProviderError, match="change type of accounts.email"):
        table.apply(props)
    props["columns"][2]["type"] = "text"
    props["columns"][1]["type"] = "character varying(100)"
    with pytest.raises(ProviderError, match="refusing"):
        table.apply(props)


def test_a_table_without_rows_has_no_row_hazards(strict, db):
    """Narrowing a type loses nothing in a table with no rows: the plan carries no data_loss
    there, and the strict stack applies it. With a row, the same change is refused."""
    table = Resource(strict, TableProvider(), TABLE)
    props = copy.deepcopy(TABLE)
    props["columns"][1]["type"] = "character varying(100)"
    table.apply(props)
    assert db.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                      "'accounts'::regclass AND attname = 'tenant'").fetchone()[0] == "character varying(100)"
    db.execute("INSERT INTO accounts (tenant, email) VALUES ('a', 'a@a')")
    props["columns"][1]["type"] = "character varying(50)"
    with pytest.raises(ProviderError, match=r"refusing to change type of accounts\.tenant .*data_loss"):
        table.apply(props)


def test_policy_and_index_changes(strict, db):
    Resource(strict, TableProvider(), TABLE)
    db.execute("INSERT INTO accounts (tenant, email) VALUES ('a', 'a@a'), ('b', NULL)")
    policy = Resource(strict, PolicyProvider(), POLICY)
    index_props = dict(INDEX, name="idx_accounts_tenant", elements=[{"column": "tenant"}], where=None)
    index_props.pop("where")
    index = Resource(strict, IndexProvider(), index_props)  # add an index
    assert db.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_accounts_tenant'").fetchone()[0] == 1

    # change a policy's USING: an update (ALTER POLICY), not a replacement
    changed = dict(POLICY, using="tenant = current_setting('app.tenant', true) AND email IS NOT NULL")
    assert policy.apply(changed)["replaces"] == []
    assert "email IS NOT NULL" in db.execute("SELECT qual FROM pg_policies WHERE policyname = 'tenant_isolation'").fetchone()[0]

    # change an index's WHERE: PostgreSQL has no ALTER for that, so the index is rebuilt, as an
    # update of the same resource (online it is swapped in: tests/test_online.py)
    diff = index.apply(dict(index_props, where="tenant <> 'archived'"))
    assert diff["changes"] and diff["replaces"] == []
    assert "WHERE (tenant <> 'archived'::text)" in db.execute(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_accounts_tenant'").fetchone()[0]
    assert count(db) == 2


def test_drift_is_read_and_restored(strict, db):
    table = Resource(strict, TableProvider(), TABLE)
    policy = Resource(strict, PolicyProvider(), POLICY)
    db.execute("INSERT INTO accounts (tenant) VALUES ('a')")

    # Nothing changed: read reports no drift.
    assert table.refresh() == "public.accounts"
    assert table.apply(TABLE)["changes"] is False

    # A policy dropped by hand: read reports it gone; the next up creates it again.
    db.execute("DROP POLICY tenant_isolation ON accounts")
    assert policy.refresh() == ""
    policy.id, policy.outputs = strict.create(policy.urn, policy.inputs(POLICY))
    assert db.execute("SELECT count(*) FROM pg_policies WHERE policyname = 'tenant_isolation'").fetchone()[0] == 1

    # A policy's USING changed by hand: read reports the live USING, the next up restores it.
    db.execute("ALTER POLICY tenant_isolation ON accounts USING (true)")
    assert policy.refresh() == "public.accounts.tenant_isolation"
    assert policy.outputs["using"] == "true"
    assert policy.apply(POLICY)["changes"] is True
    assert db.execute("SELECT qual FROM pg_policies WHERE policyname = 'tenant_isolation'").fetchone()[0] != "true"
    policy.refresh()
    assert policy.apply(POLICY)["changes"] is False

    # A default and RLS changed by hand on the table: reported, then restored.
    db.execute("ALTER TABLE accounts ALTER COLUMN status SET DEFAULT 'active', DISABLE ROW LEVEL SECURITY")
    table.refresh()
    status = next(c for c in table.outputs["columns"] if c["name"] == "status")
    assert status["default"] == "'active'::text"
    assert table.outputs["rls_enabled"] is False
    table.apply(TABLE)
    assert db.execute("SELECT relrowsecurity FROM pg_class WHERE relname = 'accounts'").fetchone()[0] is True
    assert db.execute("SELECT column_default FROM information_schema.columns WHERE table_name = 'accounts' "
                      "AND column_name = 'status'").fetchone()[0] == "'new'::text"
    assert count(db) == 1


def test_delete_table_refused_without_permission(strict, permissive, db):
    table = Resource(strict, TableProvider(), TABLE)
    with pytest.raises(ProviderError, match="refusing to drop table public.accounts"):
        strict.delete(table.urn, table.id, table.outputs)
    assert count(db) == 0  # still there
    permissive.delete(table.urn, table.id, table.outputs)
    assert db.execute("SELECT to_regclass('public.accounts')").fetchone()[0] is None


def test_failed_step_rolls_back_the_whole_plan(strict, db):
    table = Resource(strict, TableProvider(), TABLE)
    db.execute("INSERT INTO accounts (tenant, status) VALUES ('a', 'new')")
    props = copy.deepcopy(TABLE)
    props["columns"].append({"name": "score", "type": "integer", "not_null": False})
    props["constraints"].append({"name": "accounts_tenant_check", "kind": "check", "columns": [],
                                 "expression": "tenant = 'zzz'"})  # the existing row violates it
    with pytest.raises(ProviderError, match=r"table public\.accounts \(sql/test/001_accounts\.sql:1\): .*rolled back"):
        table.apply(props)
    assert "score" not in columns(db)  # the ADD COLUMN before the failing step was undone


def test_diff_during_preview_with_unknown_inputs(strict, db):
    """In preview, an index's table name (its table's output) may be unknown while the table is
    being updated. Diff must say "may change", not plan a replacement of the index."""
    from pulumi.output import Unknown

    Resource(strict, TableProvider(), TABLE)
    index = Resource(strict, IndexProvider(), INDEX)
    diff = strict.diff(index.urn, index.id, index.outputs, index.inputs(dict(INDEX, table=Unknown())))
    assert diff["changes"] is True and diff["replaces"] == []


def test_objects_created_as_owner_handed_over_and_owner_drift_restored(strict, db):
    db.execute("DO $$ BEGIN CREATE ROLE test_owner NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    db.execute("GRANT CREATE, USAGE ON SCHEMA public TO test_owner")
    owner_of = lambda rel: db.execute(  # noqa: E731
        "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = %s", (rel,)).fetchone()[0]

    # Created before ownership was declared (state from an older version): the connecting user owns it.
    table = Resource(strict, TableProvider(), TABLE)
    function = Resource(strict, FunctionProvider(), FUNCTION)
    assert owner_of("accounts") == "postgres"
    # Declaring the owner hands the objects over, as an update (no replacement, rows kept).
    db.execute("INSERT INTO accounts (tenant) VALUES ('a')")
    assert table.apply(dict(TABLE, owner="test_owner"))["replaces"] == []
    function.apply(dict(FUNCTION, owner="test_owner"))
    assert owner_of("accounts") == "test_owner" and count(db) == 1
    assert db.execute("SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'touch'").fetchone()[0] == "test_owner"

    # New objects are created as the owner: an index belongs to its table's owner, and a
    # trigger needs the owner's rights on the table.
    Resource(strict, IndexProvider(), dict(INDEX, owner="test_owner"))
    Resource(strict, TriggerProvider(), dict(TRIGGER, owner="test_owner"))
    view = Resource(strict, ViewProvider(), dict(VIEW, owner="test_owner"))
    assert owner_of("idx_accounts_email") == "test_owner" and owner_of("active_accounts") == "test_owner"

    # Ownership changed by hand: refresh reports it, the next update restores it.
    db.execute("ALTER TABLE accounts OWNER TO postgres")
    db.execute("ALTER VIEW active_accounts OWNER TO postgres")
    table.refresh()
    view.refresh()
    assert table.outputs["owner"] == "postgres" and view.outputs["owner"] == "postgres"
    assert table.apply(dict(TABLE, owner="test_owner"))["changes"]
    view.apply(dict(VIEW, owner="test_owner"))
    assert owner_of("accounts") == "test_owner" and owner_of("active_accounts") == "test_owner"

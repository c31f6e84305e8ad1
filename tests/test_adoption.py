"""Adoption (modules[i].adopt): objects that exist already, made without this tool, taken over as
they are with no DDL, or refused with the list of differences and nothing changed.

Every kind is covered (table with identity, self-reference, CHECK, defaults, comments and RLS;
expression and partial index; policy; function; trigger; view with security_invoker; monthly
partitions), through the end-to-end harness, with the DDL of the database recorded by event
triggers (tests/support/ddl_log.py). The story of issue 12 on seed 003 is in
tests/test_adoption_story.py.
"""

import json
import shutil
from datetime import date
from pathlib import Path

import psycopg
import pytest

from tests.support import ddl_log
from tests.support.engine import EngineDouble, ProviderError

TODAY = date(2026, 2, 10)

MODULE = """
CREATE TABLE items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id bigint REFERENCES items (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL,
    title text NOT NULL DEFAULT 'untitled' CHECK (length(title) < 200),
    status text NOT NULL DEFAULT 'open'
);
COMMENT ON TABLE items IS 'things people own';
COMMENT ON COLUMN items.title IS 'what it is called';
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
CREATE INDEX items_open_title ON items (lower(title)) WHERE status = 'open';
CREATE POLICY items_owner ON items FOR SELECT TO authenticated
    USING (owner_id::text = current_setting('app.user', true));
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql SET search_path = app
    AS $$ BEGIN NEW.title := trim(NEW.title); RETURN NEW; END $$;
CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
CREATE VIEW open_items WITH (security_invoker = true) AS SELECT id, title FROM items WHERE status = 'open';
CREATE TABLE notes (
    id bigint GENERATED ALWAYS AS IDENTITY,
    item_id bigint REFERENCES items (id),
    at timestamptz NOT NULL,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
"""

# What the module's partitions config declares for TODAY (2026-01 through 2026-03), made by hand.
PARTITIONS = """
CREATE TABLE app.notes_2026_01 PARTITION OF app.notes
    FOR VALUES FROM ('2026-01-01 00:00:00+00') TO ('2026-02-01 00:00:00+00');
CREATE TABLE app.notes_2026_02 PARTITION OF app.notes
    FOR VALUES FROM ('2026-02-01 00:00:00+00') TO ('2026-03-01 00:00:00+00');
CREATE TABLE app.notes_2026_03 PARTITION OF app.notes
    FOR VALUES FROM ('2026-03-01 00:00:00+00') TO ('2026-04-01 00:00:00+00');
ALTER TABLE app.notes_2026_01 ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.notes_2026_02 ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.notes_2026_03 ENABLE ROW LEVEL SECURITY;
"""


def config(adopt: bool = True) -> dict:
    module = {"name": "app", "schema": "app", "create_schema": False,
              "partitions": {"notes": {"interval": "month", "start": "2026-01", "ahead": 1}}}
    if adopt:
        module["adopt"] = True
    return {
        "pgstack:modules": json.dumps([module]),
        "pgstack:roles": "[]",
        "pgstack:grants": "[]",
        "pgstack:safety": json.dumps({"allow_data_loss": False, "lock_timeout": "2s"}),
    }


def write_module(root, text: str) -> None:
    folder = root / "app"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "001_items.sql").write_text(text)


def made_by_hand(db: psycopg.Connection, text: str = MODULE) -> None:
    """The module's objects as a team made them without this tool: its SQL run in schema app."""
    db.execute("DO $$ BEGIN CREATE ROLE authenticated NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    db.execute("CREATE SCHEMA app")
    db.execute("SET search_path TO app")
    db.execute(text)
    db.execute("RESET search_path")
    db.execute(PARTITIONS)
    db.execute("INSERT INTO app.items (owner_id, title) SELECT gen_random_uuid(), 'item ' || g "
               "FROM generate_series(1, 20) g")


CATALOG = {
    "columns": """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                         pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum)
                  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                  WHERE c.relnamespace = 'app'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2""",
    "relations": """SELECT relname, relkind, relrowsecurity, pg_get_userbyid(relowner),
                           obj_description(oid, 'pg_class'),
                           reloptions FROM pg_class WHERE relnamespace = 'app'::regnamespace ORDER BY 1""",
    "constraints": "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                   "WHERE connamespace = 'app'::regnamespace ORDER BY 1",
    "indexes": "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i JOIN pg_class c "
               "ON c.oid = i.indexrelid WHERE c.relnamespace = 'app'::regnamespace ORDER BY 1",
    "policies": "SELECT policyname, cmd, roles::text, qual, with_check FROM pg_policies WHERE schemaname = 'app'",
    "functions": "SELECT pg_get_functiondef(oid), pg_get_userbyid(proowner) FROM pg_proc "
                 "WHERE pronamespace = 'app'::regnamespace",
    "triggers": "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal "
                "AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'app'::regnamespace) ORDER BY 1",
    "views": "SELECT viewname, definition FROM pg_views WHERE schemaname = 'app'",
    "rows": "SELECT id, title FROM app.items ORDER BY id",
}


def catalog(db: psycopg.Connection) -> dict:
    return {name: db.execute(query).fetchall() for name, query in CATALOG.items()}


@pytest.fixture
def live_app(database, db):
    ddl_log.install(db)
    made_by_hand(db)
    return database


def test_every_kind_is_adopted_without_ddl_and_stays_quiet(live_app, db, tmp_path):
    root = tmp_path / "sql"
    write_module(root, MODULE)
    before, mark = catalog(db), ddl_log.mark(db)
    with EngineDouble(live_app, sql_root=root, config=config(), today=TODAY) as engine:
        result = engine.up()
        assert sorted(result.changed()) == ["create"]
        assert {"app/app.items", "app/app.items_open_title", "app/app.items.items_owner", "app/app.touch()",
                "app/app.items.items_touch", "app/app.open_items", "app/app.notes", "app/app.notes_2026_01",
                "app/app.notes_2026_02", "app/app.notes_2026_03"} <= set(result.operations["create"])
        assert ddl_log.in_schema(ddl_log.since(db, mark), "app") == []
        assert catalog(db) == before
        # Nothing was applied, so nothing was journalled.
        assert db.execute("SELECT to_regclass('pgstack.journal') IS NULL OR NOT EXISTS (SELECT FROM pgstack.journal "
                          "WHERE resource LIKE '% app.%')").fetchone()[0]

        # The outputs record the live catalog: refresh finds no drift, a preview nothing to do.
        table = engine.entry("pulumi-python:dynamic/pgstack:Table", "app/app.items")
        assert table.outputs["owner"] == "postgres"  # kept until the object changes (see below)
        assert table.outputs["applied"]["owner"] == "postgres"
        outputs = {urn: e.outputs for urn, e in engine.state.items()}
        assert engine.refresh() == []
        assert {urn: e.outputs for urn, e in engine.state.items()} == outputs
        assert engine.preview().changed() == {}

        # The first change of an adopted object hands it over to the stack's owner with it.
        write_module(root, MODULE.replace("COMMENT ON TABLE items IS 'things people own';",
                                          "COMMENT ON TABLE items IS 'things';"))
        assert engine.up().changed() == {"update": ["app/app.items"]}
        owners = dict(db.execute("SELECT relname, pg_get_userbyid(relowner) FROM pg_class "
                                 "WHERE relnamespace = 'app'::regnamespace AND relkind IN ('r', 'p', 'v')").fetchall())
        assert owners["items"] == "pgstack_owner" and owners["open_items"] == "postgres"
        assert engine.preview().changed() == {}

        # Without `adopt`, the objects adoption left with their owner are handed over.
        mark = ddl_log.mark(db)
        engine.config.update(config(adopt=False))
        handed = engine.up().changed()
        assert handed == {"update": ["app/app.notes", "app/app.notes_2026_01", "app/app.notes_2026_02",
                                     "app/app.notes_2026_03", "app/app.open_items", "app/app.touch()"]}
        assert {(c.tag, c.query.split(" OWNER TO ")[1]) for c in ddl_log.in_schema(ddl_log.since(db, mark), "app")} \
            == {("ALTER TABLE", '"pgstack_owner"'), ("ALTER VIEW", '"pgstack_owner"'),
                ("ALTER FUNCTION", '"pgstack_owner"')}
        owners = db.execute("SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = "
                            "'app'::regnamespace AND relkind IN ('r', 'p', 'v')").fetchall()
        assert owners == [("pgstack_owner",)]
        assert engine.preview().changed() == {}
        assert db.execute("SELECT count(*) FROM app.items").fetchone()[0] == 20


@pytest.mark.parametrize(("change", "expected"), [
    (("owner_id uuid NOT NULL", "owner_id text NOT NULL"),
     "column owner_id, type: live 'uuid'; declared 'text'"),
    (("DEFAULT 'untitled'", "DEFAULT 'unnamed'"),
     '''column title, default: live "'untitled'::text"; declared "'unnamed'::text"'''),
    (("length(title) < 200", "length(title) < 100"),
     "constraint items_title_check, definition: live 'CHECK ((length(title) < 200))'; "
     "declared 'CHECK ((length(title) < 100))'"),
    (("COMMENT ON TABLE items IS 'things people own';", ""), "comment: live 'things people own'; declared (none)"),
    (("ALTER TABLE items ENABLE ROW LEVEL SECURITY;", ""), "rls_enabled: live true; declared false"),
    (("WHERE status = 'open';\nCREATE POLICY", "WHERE status <> 'done';\nCREATE POLICY"),
     """definition: live "CREATE INDEX items_open_title ON items ((lower(title))) """
     """WHERE status = CAST('open' AS text)"; """
     '''declared "CREATE INDEX items_open_title ON items ((lower(title))) WHERE status <> CAST('done' AS text)"'''),
    (("FOR SELECT TO authenticated", "FOR SELECT TO public"), "roles: live ['authenticated']; declared ['public']"),
    (("NEW.title := trim(NEW.title);", "NEW.title := upper(NEW.title);"),
     "BEGIN NEW.title := trim(NEW.title); RETURN NEW; END $$\"; declared \"CREATE OR REPLACE FUNCTION touch() RETURNS "
     "trigger LANGUAGE plpgsql SET search_path TO 'app' AS $$ BEGIN NEW.title := upper(NEW.title);"),
    (("BEFORE UPDATE ON items", "BEFORE INSERT OR UPDATE ON items"),
     "definition: live 'CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE PROCEDURE touch()'; "
     "declared 'CREATE TRIGGER items_touch BEFORE INSERT OR UPDATE ON items FOR EACH ROW EXECUTE PROCEDURE touch()'"),
    (("CREATE VIEW open_items WITH (security_invoker = true)",
      "-- pgstack: accept security_definer_view: every open item, whoever asks\n"
      "CREATE VIEW open_items WITH (security_invoker = false)"),
     "options: live ['security_invoker=true']; declared ['security_invoker=false']"),
    (("    status text NOT NULL DEFAULT 'open'\n", "    status text NOT NULL DEFAULT 'open',\n    extra int\n"),
     "column extra: declared, missing live"),
    (("CREATE INDEX items_open_title ON items (lower(title)) WHERE status = 'open';", ""),
     "index items_open_title on items: exists live, not declared"),
])
def test_a_difference_is_refused_naming_it_and_nothing_changes(live_app, db, tmp_path, change, expected):
    root = tmp_path / "sql"
    write_module(root, MODULE.replace(*change))
    assert MODULE.replace(*change) != MODULE
    before, mark = catalog(db), ddl_log.mark(db)
    with EngineDouble(live_app, sql_root=root, config=config(), today=TODAY) as engine, \
            pytest.raises(ProviderError) as refused:
        engine.up()
    message = str(refused.value)
    assert "differs from its declaration, so it was not adopted. Nothing was changed." in message
    assert expected in message
    assert ddl_log.in_schema(ddl_log.since(db, mark), "app") == []
    assert catalog(db) == before


def test_without_adopt_an_existing_object_is_refused_with_the_way_to_adopt_it(live_app, db, tmp_path):
    root = tmp_path / "sql"
    write_module(root, MODULE)
    with EngineDouble(live_app, sql_root=root, config=config(adopt=False), today=TODAY) as engine, \
            pytest.raises(ProviderError, match=r"already exists in the database and was not created by pgstack.*"
                                               r"adopt: true"):
        engine.up()



# --- a table the module only extends: prod's external `leads` -------------------------------------

PROJECT_SQL = Path(__file__).resolve().parent.parent / "sql"


def tracking_by_hand(db: psycopg.Connection, drop_column: str | None = None) -> None:
    """The site's leads table, and the tracking module as a team applied it by hand before this
    tool: its tables, and its columns on leads."""
    for role in ("anon", "authenticated", "service_role"):
        db.execute(f"DO $$ BEGIN CREATE ROLE {role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    db.execute("SET search_path TO public")
    db.execute((PROJECT_SQL / "site" / "001_leads.sql").read_text())
    for path in sorted((PROJECT_SQL / "tracking").glob("*.sql")):
        db.execute(path.read_text())
    if drop_column:
        db.execute(f"ALTER TABLE leads DROP COLUMN {drop_column}")
    db.execute("RESET search_path")
    db.execute("INSERT INTO public.leads (email) VALUES ('a@example.com')")


def tracking_config() -> dict:
    return {**config(), "pgstack:modules": json.dumps([
        {"name": "tracking", "schema": "public", "external_tables": ["leads"], "adopt": True}])}


def test_the_columns_a_module_adds_to_an_external_table_are_adopted_too(database, db):
    ddl_log.install(db)
    tracking_by_hand(db)
    mark = ddl_log.mark(db)
    with EngineDouble(database, sql_root=PROJECT_SQL, config=tracking_config()) as engine:
        created = engine.up().changed()
        assert "tracking/public.leads" in created["create"] and list(created) == ["create"]
        assert ddl_log.in_schema(ddl_log.since(db, mark), "public") == []
        leads = engine.entry("pulumi-python:dynamic/pgstack:Table", "tracking/public.leads")
        assert sorted(leads.outputs["applied"]) == sorted(
            [f"column:{c['name']}" for c in leads.outputs["columns"]]
            + [f"constraint:{c['name']}" for c in leads.outputs["constraints"]])
        assert engine.refresh() == []
        assert engine.preview().changed() == {}


def test_an_external_table_missing_one_of_the_module_columns_is_refused(database, db):
    ddl_log.install(db)
    tracking_by_hand(db, drop_column="utm_term")
    mark = ddl_log.mark(db)
    with EngineDouble(database, sql_root=PROJECT_SQL, config=tracking_config()) as engine, \
            pytest.raises(ProviderError, match=r"table public\.leads \(sql/tracking/002_leads_extension\.sql:\d+\) "
                                               r"exists "
                                               r"in the database but differs .*\n  - column utm_term: declared, "
                                               r"missing live\n"):
        engine.up()
    assert ddl_log.in_schema(ddl_log.since(db, mark), "public") == []

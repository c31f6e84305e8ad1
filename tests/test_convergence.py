"""Every fault converges on the next `up`.

The provider's connection is lost at random moments of a multi-step change (before a statement
reaches the server, while it runs, right after COMMIT, during the read-back), through a proxy
that kills the backend (tests/support/faults.py). After each fault the next `up` succeeds, and
the catalog equals that of a clean apply, with every row still there. Also: a create of an
object that exists as declared is recorded, a delete of one that is gone succeeds, and an
object this tool did not make is refused with a way to adopt it.
"""

import copy
import json
import random
import shutil

import psycopg
import pytest
from psycopg import sql

from tests.support.engine import EngineDouble, ProviderError
from tests.support.faults import FaultProxy

V1 = """
CREATE TABLE items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id uuid NOT NULL,
    title text NOT NULL DEFAULT 'untitled'
);
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
CREATE INDEX items_owner ON items (owner_id);
CREATE POLICY items_owner ON items FOR SELECT TO authenticated
    USING (owner_id::text = current_setting('app.user', true));
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
"""

# Many steps in many resources: columns, a default, a CHECK, a comment, an index replaced and
# one added, a policy altered, a function body changed, a view added.
V2 = """
CREATE TABLE items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id uuid NOT NULL,
    title text NOT NULL DEFAULT 'new',
    body text,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done'))
);
COMMENT ON TABLE items IS 'version 2';
COMMENT ON COLUMN items.body IS 'free text';
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
CREATE INDEX items_owner ON items (owner_id) WHERE status = 'open';
CREATE INDEX items_status ON items (status);
CREATE POLICY items_owner ON items FOR SELECT TO authenticated
    USING (owner_id::text = current_setting('app.user', true) AND status <> 'done');
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.title := trim(NEW.title); RETURN NEW; END $$;
CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
CREATE VIEW open_items AS SELECT id, title FROM items WHERE status = 'open';
"""

CONFIG = {
    "pgstack:modules": json.dumps([{"name": "app", "schema": "app"}]),
    "pgstack:roles": "[]",
    "pgstack:grants": "[]",
    "pgstack:safety": json.dumps({"allow_hazards": ["all"], "lock_timeout": "2s"}),
    # Validation at preview (tests/test_validation.py) uses its own connection, outside the
    # faults: here it would only repeat itself in each of the ~100 runs.
    "pgstack:validation": json.dumps({"mode": "off"}),
}
# The same change, planned online: constraints NOT VALID then VALIDATE on their own, SET NOT
# NULL through a check, indexes built and swapped CONCURRENTLY: many more moments to fail at.
ONLINE = {**CONFIG, "pgstack:safety": json.dumps({"allow_hazards": ["all"], "lock_timeout": "2s", "online": True})}
TRIALS = {"in one transaction": 20, "online": 10}

SNAPSHOT = {
    "columns": """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                         pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum)
                  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                  JOIN pg_namespace n ON n.oid = c.relnamespace
                  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                  WHERE n.nspname = 'app' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2""",
    "relations": """SELECT c.relname, c.relkind, c.relrowsecurity, pg_get_userbyid(c.relowner),
                           obj_description(c.oid, 'pg_class')
                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'app' ORDER BY 1""",
    "constraints": """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                      WHERE connamespace = 'app'::regnamespace ORDER BY 1""",
    "indexes": """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), i.indisvalid
                  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                  WHERE c.relnamespace = 'app'::regnamespace ORDER BY 1""",
    "policies": "SELECT policyname, cmd, roles::text, qual, with_check FROM pg_policies WHERE schemaname = 'app'",
    "functions": """SELECT pg_get_functiondef(p.oid), pg_get_userbyid(p.proowner) FROM pg_proc p
                    WHERE p.pronamespace = 'app'::regnamespace ORDER BY 1""",
    "triggers": """SELECT tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                   WHERE c.relnamespace = 'app'::regnamespace AND NOT tgisinternal ORDER BY 1""",
    "views": "SELECT viewname, definition FROM pg_views WHERE schemaname = 'app' ORDER BY 1",
    "rows": "SELECT id, owner_id::text, title FROM app.items ORDER BY id",
}


def snapshot(database: dict) -> dict:
    with psycopg.connect(**database) as conn:
        return {name: conn.execute(query).fetchall() for name, query in SNAPSHOT.items()}


def write_module(root, text: str) -> None:
    folder = root / "app"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "001_items.sql").write_text(text)


def recreate(pg_server: dict, name: str, template: str) -> None:
    with psycopg.connect(**pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))


@pytest.fixture
def v1_base(pg_server, database, tmp_path):
    """A database with V1 applied and rows in it, kept as a template, and the engine state
    that goes with it."""
    root = tmp_path / "sql"
    write_module(root, V1)
    with EngineDouble(database, sql_root=root, config=CONFIG) as engine:
        engine.up()
        state = copy.deepcopy(engine.state)
    with psycopg.connect(**database, autocommit=True) as conn:
        conn.execute("INSERT INTO app.items (owner_id, title) SELECT gen_random_uuid(), 'item ' || g "
                     "FROM generate_series(1, 50) g")
    template = f"{database['dbname']}_v1"
    recreate(pg_server, template, database["dbname"])
    yield template, state, root
    with psycopg.connect(**pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(template)))


@pytest.mark.parametrize("mode, config", [("in one transaction", CONFIG), ("online", ONLINE)],
                         ids=["in one transaction", "online"])
def test_a_lost_connection_at_any_moment_converges_on_the_next_up(pg_server, database, v1_base, mode, config):
    template, v1_state, root = v1_base
    write_module(root, V2)
    proxy = FaultProxy(pg_server)
    through_proxy = {**config, "pgstack:db_port": str(proxy.port)}
    try:
        with EngineDouble(database, sql_root=root, config=through_proxy, seed=7) as engine:
            # A clean apply of V2: the catalog every faulty run must end at, and how many
            # requests the provider makes for it.
            recreate(pg_server, database["dbname"], template)
            engine.state = copy.deepcopy(v1_state)
            proxy.arm(None)
            engine.up()
            clean, requests = snapshot(database), proxy.requests
            assert requests > 30, "the change should take many requests"

            rng = random.Random(20261130)
            outcomes = []
            for trial in range(TRIALS[mode]):
                at, when = rng.randint(1, requests), rng.choice(["before", "during", "after"])
                recreate(pg_server, database["dbname"], template)
                engine.state = copy.deepcopy(v1_state)
                proxy.arm(at, when)
                try:
                    engine.up()
                    outcomes.append((at, when, "no error"))
                except ProviderError as exc:
                    outcomes.append((at, when, str(exc).splitlines()[-1][:80]))
                assert proxy.fired.is_set(), f"trial {trial}: the fault at request {at} never fired"
                proxy.arm(None)
                engine.up()  # converges
                assert snapshot(database) == clean, f"trial {trial}: fault {when} request {at}"
                assert engine.preview().changed() == {}, f"trial {trial}: state and database disagree"
            # The faults hit the provider, not only the pulumi_postgresql double.
            assert sum(1 for *_, outcome in outcomes if outcome != "no error") >= TRIALS[mode] // 2, outcomes
    finally:
        proxy.close()


def test_create_records_what_exists_as_declared_and_delete_of_what_is_gone_succeeds(database, tmp_path, db):
    root = tmp_path / "sql"
    write_module(root, V1)
    with EngineDouble(database, sql_root=root, config=CONFIG) as engine:
        engine.up()
        # The state is lost for the table and its index (a create that committed but whose
        # answer never came back): the next up creates them again, and records them.
        lost = [urn for urn, e in engine.state.items() if e.name in ("app/app.items", "app/app.items_owner")]
        for urn in lost:
            del engine.state[urn]
        assert sorted(engine.up().changed()["create"]) == ["app/app.items", "app/app.items_owner"]
        assert engine.preview().changed() == {}
        # Dropped by hand, then removed from the files: the delete finds nothing and succeeds.
        db.execute("DROP TRIGGER items_touch ON app.items")
        write_module(root, V1.replace("CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW "
                                      "EXECUTE FUNCTION touch();", ""))
        # (The table's resource lists the triggers the stack declares on it, for its read to
        # report any other: trigger_guard.py. It updates, running nothing.)
        assert engine.up().changed() == {"delete": ["app/app.items.items_touch"], "update": ["app/app.items"]}


def test_an_object_the_tool_did_not_make_is_refused_with_a_way_to_adopt_it(database, tmp_path, db):
    root = tmp_path / "sql"
    write_module(root, V1)
    db.execute("CREATE SCHEMA app")
    db.execute("CREATE TABLE app.items (id bigint PRIMARY KEY)")
    db.execute("INSERT INTO app.items VALUES (1)")
    with EngineDouble(database, sql_root=root, config=CONFIG) as engine, \
            pytest.raises(ProviderError, match=r"table app\.items \(sql/app/001_items\.sql:2\) already exists .*adopt: true"):
        engine.up()
    assert db.execute("SELECT count(*) FROM app.items").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM information_schema.columns "
                      "WHERE table_schema = 'app' AND table_name = 'items'").fetchone()[0] == 1

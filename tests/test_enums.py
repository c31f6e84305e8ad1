"""Enum types (CREATE TYPE ... AS ENUM) end to end: the real program under the engine stand-in
and the real provider process, on a real PostgreSQL.

A value added to an enum is committed by the enum's own resource before the table that uses it
(a default, a check) is changed: PostgreSQL refuses a new enum value in the transaction that
added it, which the last test shows. Values are never removed or reordered: refused at preview,
naming the file and line, on every stack.
"""

import json
import shutil

import psycopg
import pytest

from components.model.hazards import BY_NAME
from tests.support.engine import DYNAMIC_PREFIX, EngineDouble, ProviderError

CONFIG = {
    "pgstack:modules": json.dumps([{"name": "app", "schema": "app"}]),
    "pgstack:roles": "[]",
    "pgstack:grants": "[]",
    # Strict about data only: an index rebuilt on a table with rows is fine here.
    "pgstack:safety": json.dumps({"allow_hazards": [h for h in BY_NAME if h != "data_loss"]}),
}
DEV_SAFETY = json.dumps({"allow_hazards": ["all"]})

TYPES_V1 = "CREATE TYPE ticket_state AS ENUM ('open', 'pending', 'closed');\n"
TABLE_V1 = """
CREATE TABLE tickets (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state  ticket_state NOT NULL DEFAULT 'open',
    past   ticket_state[] NOT NULL DEFAULT '{}'
);
CREATE INDEX tickets_pending ON tickets (id) WHERE state = 'pending';
CREATE FUNCTION is_done(s ticket_state) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT s = 'closed' $$;
"""
ENUM = f"{DYNAMIC_PREFIX}Enum"
TABLE = f"{DYNAMIC_PREFIX}Table"


def write(root, types: str, table: str = TABLE_V1) -> None:
    folder = root / "app"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "001_types.sql").write_text(types)
    (folder / "002_tickets.sql").write_text(table)


def values(db) -> list[str]:
    return [r[0] for r in db.execute("SELECT enumlabel FROM pg_enum WHERE enumtypid = 'app.ticket_state'::regtype "
                                     "ORDER BY enumsortorder").fetchall()]


@pytest.fixture
def engine(database, tmp_path):
    root = tmp_path / "sql"
    write(root, TYPES_V1)
    with EngineDouble(database, sql_root=root, config=CONFIG) as engine:
        engine.root = root
        engine.up()
        yield engine


def test_an_enum_is_created_first_owned_by_the_owner_and_reads_back_as_declared(engine, db):
    assert values(db) == ["open", "pending", "closed"]
    assert db.execute("SELECT pg_get_userbyid(typowner) FROM pg_type WHERE oid = 'app.ticket_state'::regtype"
                      ).fetchone()[0] == "pgstack_owner"
    enum, table = engine.entry(ENUM, "app/app.ticket_state"), engine.entry(TABLE, "app/app.tickets")
    assert enum.outputs["values"] == ["open", "pending", "closed"]
    assert enum.urn in table.dependencies
    assert any(enum.urn in e.dependencies for e in engine.state.values() if e.name == "app/app.is_done(ticket_state)")
    db.execute("INSERT INTO app.tickets (past) VALUES ('{open,pending}')")
    assert engine.refresh() == []
    assert engine.preview().changed() == {}


def test_a_new_value_and_its_first_use_apply_in_one_up(engine, db):
    """The enum gains 'triaged' between open and pending; in the same edit the table's default
    becomes 'triaged' and the index's WHERE uses it. The enum's update commits first."""
    db.execute("INSERT INTO app.tickets (state) VALUES ('pending'), ('closed')")
    write(engine.root, TYPES_V1.replace("'open', ", "'open', 'triaged', ").replace("'closed'", "'closed', 'merged'"),
          TABLE_V1.replace("DEFAULT 'open'", "DEFAULT 'triaged'").replace("state = 'pending'", "state >= 'triaged'"))
    preview = engine.preview()
    assert preview.changed() == {"update": ["app/app.ticket_state", "app/app.tickets", "app/app.tickets_pending"]}
    engine.up()
    assert values(db) == ["open", "triaged", "pending", "closed", "merged"]
    db.execute("INSERT INTO app.tickets DEFAULT VALUES")
    assert db.execute("SELECT state::text AS label FROM app.tickets ORDER BY state").fetchall() == [
        ("triaged",), ("pending",), ("closed",)]
    assert engine.refresh() == []
    assert engine.preview().changed() == {}


@pytest.mark.parametrize("edit", [
    lambda t: t.replace("'pending', ", ""),
    lambda t: t.replace("'pending', 'closed'", "'closed', 'pending'"),
    lambda t: t.replace("'pending'", "'waiting'"),
])
def test_removing_reordering_or_renaming_a_value_is_refused_at_preview(engine, db, edit):
    write(engine.root, edit(TYPES_V1), TABLE_V1.replace("state = 'pending'", "state = 'closed'"))
    with pytest.raises(ProviderError, match=r"enum app\.ticket_state \(sql/app/001_types\.sql:1\): .*"
                                            r"PostgreSQL can only add values"):
        engine.preview()
    with pytest.raises(ProviderError, match="PostgreSQL can only add values"):
        engine.up()
    assert values(db) == ["open", "pending", "closed"]


def test_drift_shows_on_refresh_a_hand_made_value_is_refused_then_adopted_by_the_file(engine, db):
    db.execute("ALTER TYPE app.ticket_state ADD VALUE 'escalated' AFTER 'pending'")
    engine.refresh()
    assert engine.entry(ENUM, "app/app.ticket_state").outputs["values"] == ["open", "pending", "escalated", "closed"]
    with pytest.raises(ProviderError, match=r"does not declare 'escalated', which the type has"):
        engine.up()
    # Declared in the file at its place: nothing to run, the state follows.
    write(engine.root, TYPES_V1.replace("'pending', ", "'pending', 'escalated', "))
    engine.up()
    assert engine.refresh() == []
    assert engine.preview().changed() == {}


def test_a_value_renamed_by_hand_then_refreshed_then_in_the_file_converges(engine, db):
    """The way out the refusal names for a rename: by hand, `pulumi refresh`, then the file."""
    db.execute("ALTER TYPE app.ticket_state RENAME VALUE 'pending' TO 'waiting'")
    assert engine.refresh() == []
    write(engine.root, TYPES_V1.replace("'pending'", "'waiting'"), TABLE_V1.replace("'pending'", "'waiting'"))
    assert engine.up().changed() == {"update": ["app/app.tickets_pending"]}  # its WHERE changed in the file
    assert engine.preview().changed() == {}
    assert values(db) == ["open", "waiting", "closed"]
    assert engine.refresh() == []
    assert engine.preview().changed() == {}


def test_an_enum_dropped_by_hand_is_recreated(engine, db):
    db.execute("DROP TYPE app.ticket_state CASCADE")  # takes the columns, the index and the function along
    assert sorted(engine.refresh()) == ["app/app.is_done(ticket_state)", "app/app.ticket_state",
                                        "app/app.tickets_pending"]
    # The table lost the two columns with it: restored after the type is back.
    assert engine.preview().changed() == {
        "create": ["app/app.is_done(ticket_state)", "app/app.ticket_state", "app/app.tickets_pending"],
        "update": ["app/app.tickets"]}
    engine.up()
    assert values(db) == ["open", "pending", "closed"]
    assert db.execute("SELECT count(*) FROM pg_attribute WHERE attrelid = 'app.tickets'::regclass "
                      "AND atttypid IN ('app.ticket_state'::regtype, 'app.ticket_state[]'::regtype)").fetchone()[0] == 2
    assert engine.refresh() == []
    assert engine.preview().changed() == {}


def test_an_enum_no_longer_used_is_dropped_after_its_columns_change(database, engine, db):
    db.execute("INSERT INTO app.tickets (state) VALUES ('closed')")
    # (The partial index goes first: PostgreSQL rebuilds an index when its column changes type,
    # and this one's predicate compares with an enum value.)
    table = TABLE_V1.split("CREATE INDEX")[0]
    write(engine.root, TYPES_V1, table)
    engine.up()
    table = table.replace("ticket_state NOT NULL DEFAULT 'open'", "text NOT NULL DEFAULT 'open'") \
                 .replace("ticket_state[]", "text[]")
    write(engine.root, "", table)
    # Every value fits in text, but the planner knows nothing of enums: a stack that may lose
    # data (dev) takes the type change.
    with EngineDouble(database, sql_root=engine.root, config={
            **CONFIG, "pgstack:safety": DEV_SAFETY}) as dev:
        dev.state = engine.state
        assert dev.up().changed() == {"update": ["app/app.tickets"], "delete": ["app/app.ticket_state"]}
    assert db.execute("SELECT to_regtype('app.ticket_state')").fetchone()[0] is None
    assert db.execute("SELECT state FROM app.tickets").fetchall() == [("closed",)]


def test_a_text_column_moves_to_a_new_enum_with_its_default_and_rows(database, tmp_path, db):
    root = tmp_path / "sql"
    table = "CREATE TABLE notes (id integer PRIMARY KEY, kind text NOT NULL DEFAULT 'memo');\n"
    write(root, "", table)
    dev = {**CONFIG, "pgstack:safety": DEV_SAFETY}  # text to enum: not widening
    with EngineDouble(database, sql_root=root, config=dev) as engine:
        engine.up()
        db.execute("INSERT INTO app.notes VALUES (1, 'memo'), (2, 'todo')")
        write(root, "CREATE TYPE note_kind AS ENUM ('memo', 'todo');\n", table.replace("kind text", "kind note_kind"))
        assert engine.up().changed() == {"create": ["app/app.note_kind"], "update": ["app/app.notes"]}
        assert engine.refresh() == []
        assert engine.preview().changed() == {}
    assert db.execute("SELECT format_type(atttypid, atttypmod), pg_get_expr(adbin, adrelid) FROM pg_attribute "
                      "JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum "
                      "WHERE attrelid = 'app.notes'::regclass AND attname = 'kind'").fetchone() == (
        "app.note_kind", "'memo'::app.note_kind")
    assert db.execute("SELECT id, kind::text FROM app.notes ORDER BY id").fetchall() == [(1, "memo"), (2, "todo")]


def test_postgresql_refuses_a_new_value_in_the_transaction_that_added_it(engine, database):
    """Why the enum is its own resource: one transaction for both changes fails."""
    with psycopg.connect(**database) as conn:
        conn.execute("ALTER TYPE app.ticket_state ADD VALUE 'triaged'")
        with pytest.raises(psycopg.errors.UnsafeNewEnumValueUsage):
            conn.execute("ALTER TABLE app.tickets ALTER COLUMN state SET DEFAULT 'triaged'")

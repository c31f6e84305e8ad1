"""Changes a production database survives, through the engine stand-in and the real provider:
the preview shows every statement with its hazards, a strict stack refuses what nobody approved
and runs what a reviewed line in the SQL file approves, a lock held by someone else is waited
for within a budget and then named, and online changes to a table under continuous inserts
make no insert fail."""

import json
import shutil
import threading
import time

import psycopg
import pytest

from components.model import plan
from components.provider import dependents
from tests.support.engine import EngineDouble, ProviderError

PROD_LIKE = {
    "pgstack:modules": json.dumps([{"name": "app", "schema": "app"}]),
    "pgstack:roles": "[]",
    "pgstack:grants": "[]",
    "pgstack:safety": json.dumps({"allow_hazards": [], "allow_data_loss": False, "online": True,
                                  "lock_timeout": "300ms", "lock_budget": "3s"}),
}

ITEMS = """
CREATE TABLE parent (id bigint PRIMARY KEY);
CREATE TABLE items (
    id bigint PRIMARY KEY,
    parent_id bigint,
    code text,
    amount integer,
    note text
);
CREATE INDEX items_code ON items (code);
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
CREATE POLICY items_read ON items FOR SELECT TO authenticated USING (amount > 0);
"""


def write(root, text: str) -> None:
    folder = root / "app"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "001_items.sql").write_text(text)


@pytest.fixture
def prod(database, tmp_path, db):
    root = tmp_path / "sql"
    write(root, ITEMS)
    with EngineDouble(database, sql_root=root, config=PROD_LIKE) as engine:
        engine.up()  # new, empty tables: nothing to lock out, so nothing to approve
        db.execute("INSERT INTO app.parent SELECT generate_series(1, 10)")
        db.execute("INSERT INTO app.items (id, parent_id, code, amount, note) "
                   "SELECT g, 1 + g % 10, 'c' || g, g % 100, 'n' FROM generate_series(1, 1000) g")
        yield engine, root


def test_an_unapproved_hazard_fails_the_preview_and_an_approval_in_the_file_runs_it(prod, db):
    engine, root = prod
    edited = ITEMS.replace("CREATE INDEX items_code", "CREATE INDEX items_note ON items (note);\nCREATE INDEX items_code")
    write(root, edited)
    with pytest.raises(ProviderError) as refused:
        engine.preview()
    message = str(refused.value)
    assert "index app.items_note (sql/app/001_items.sql:10): refusing to create index items_note on items " \
           "concurrently [index_build: builds an index" in message
    assert "`-- pgstack: approve index_build: <why it is safe>`" in message and "allow_hazards: [index_build]" in message
    with pytest.raises(ProviderError):
        engine.up()
    assert db.execute("SELECT to_regclass('app.items_note')").fetchone()[0] is None  # nothing ran

    write(root, edited.replace("CREATE INDEX items_note", "-- pgstack: approve index_build: 1,000 rows, built "
                                                          "concurrently\nCREATE INDEX items_note"))
    preview = engine.preview()
    assert preview.changed() == {"create": ["app/app.items_note"]}
    assert preview.checked["app/app.items_note"]["plan"] == [
        'create index items_note on items concurrently: CREATE INDEX CONCURRENTLY "items_note" ON "app"."items" '
        'USING "btree" ("note")  [runs on its own, outside the transaction]  [hazard index_build: builds an index: '
        'reads the whole table and loads the server; writes continue only when it is built CONCURRENTLY]']
    engine.up()
    assert db.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.items_note'::regclass").fetchone()[0]
    assert engine.preview().changed() == {}


def test_a_destructive_change_in_prod_needs_a_reviewed_approval(prod, db):
    engine, root = prod
    without_note = ITEMS.replace(",\n    note text\n", "\n")
    write(root, without_note)
    with pytest.raises(ProviderError, match=r"refusing to drop column app\.items\.note and its data \[data_loss"):
        engine.preview()
    write(root, without_note.replace("CREATE TABLE items", "-- pgstack: approve data_loss: note was never read; "
                                                           "dropped after the 2026-11 export\nCREATE TABLE items"))
    assert engine.preview().changed() == {"update": ["app/app.items"]}
    engine.up()
    assert db.execute("SELECT count(*) FROM app.items").fetchone()[0] == 1000
    assert db.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'app' "
                      "AND column_name = 'note'").fetchone()[0] == 0


def test_removing_a_table_fails_the_preview_before_anything_is_touched(prod, db):
    engine, root = prod
    write(root, ITEMS.replace("CREATE TABLE items", "CREATE TABLE other (id bigint PRIMARY KEY);\nCREATE TABLE items")
          .split("CREATE TABLE items")[0])
    with pytest.raises(ProviderError, match="cannot be deleted because it is protected"):
        engine.up()
    # Not even its index or policy went first.
    assert db.execute("SELECT to_regclass('app.items_code') IS NOT NULL AND EXISTS "
                      "(SELECT FROM pg_policies WHERE policyname = 'items_read')").fetchone()[0]
    # Approve the drop on the table's statement (and what dropping its index and policy risks on
    # theirs), up (the table is no longer protected), then remove them.
    write(root, ITEMS.replace("CREATE TABLE items", "-- pgstack: approve data_loss: replaced by orders\n"
                                                    "CREATE TABLE items")
          .replace("CREATE INDEX items_code", "-- pgstack: approve index_dropped: goes with items\n"
                                              "CREATE INDEX items_code")
          .replace("CREATE POLICY items_read", "-- pgstack: approve authorization_change: goes with items\n"
                                               "CREATE POLICY items_read"))
    engine.up()
    write(root, ITEMS.split("CREATE TABLE items")[0])
    engine.up()
    assert db.execute("SELECT to_regclass('app.items')").fetchone()[0] is None


def test_a_lock_held_by_another_session_is_waited_for_then_named(prod, database, db):
    engine, root = prod
    write(root, ITEMS.replace("    note text\n", "    note text,\n    extra text\n"))
    blocker = psycopg.connect(**database, application_name="reporting-job")
    try:
        blocker.execute("SELECT count(*) FROM app.items")  # holds a lock on items until it ends
        started = time.monotonic()
        with pytest.raises(ProviderError) as gave_up:
            engine.up()
        waited = time.monotonic() - started
        message = str(gave_up.value)
        assert "gave up after 3s of retries waiting for locks held by pid" in message
        assert "reporting-job" in message and "idle in transaction" in message and "Nothing was changed" in message
        assert waited >= 3
        assert db.execute("SELECT count(*) FROM information_schema.columns WHERE column_name = 'extra'").fetchone()[0] == 0

        # Released during the retries: the change goes through.
        threading.Timer(1.0, blocker.rollback).start()
        engine.up()
    finally:
        blocker.close()
    assert db.execute("SELECT count(*) FROM information_schema.columns WHERE column_name = 'extra'").fetchone()[0] == 1


ROWS = 100_000

ONLINE_CHANGES = """
CREATE TABLE parent (id bigint PRIMARY KEY);
-- pgstack: approve index_build: each build is concurrent; the table takes writes throughout
CREATE TABLE items (
    id bigint PRIMARY KEY,
    parent_id bigint REFERENCES parent (id),
    code text NOT NULL,
    amount integer CHECK (amount >= 0),
    note text,
    CONSTRAINT items_code_key UNIQUE (code)
);
-- pgstack: approve index_build: built concurrently under another name, then swapped in
CREATE INDEX items_code ON items (code) WHERE amount > 0;
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
CREATE POLICY items_read ON items FOR SELECT TO authenticated USING (amount > 0);
"""


class Writer(threading.Thread):
    """Inserts rows one by one, as an application would, and times each insert."""

    def __init__(self, database: dict, first_id: int):
        super().__init__(daemon=True)
        self.database, self.next_id = database, first_id
        self.stop, self.failures, self.longest, self.inserted = threading.Event(), [], 0.0, 0

    def run(self):
        with psycopg.connect(**self.database, autocommit=True) as conn:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    conn.execute("INSERT INTO app.items (id, parent_id, code, amount, note) VALUES (%s, 1, %s, 1, 'w')",
                                 (self.next_id, f"w{self.next_id}"))
                    self.inserted += 1
                except psycopg.Error as exc:
                    self.failures.append(str(exc))
                self.longest = max(self.longest, time.monotonic() - started)
                self.next_id += 1


def test_online_changes_under_continuous_inserts_fail_no_insert(prod, database, db):
    engine, root = prod
    db.execute("INSERT INTO app.items (id, parent_id, code, amount, note) "
               f"SELECT g, 1 + g % 10, 'c' || g, g % 100, 'n' FROM generate_series(1001, {ROWS}) g")
    write(root, ONLINE_CHANGES)
    plan = engine.preview().checked
    statements = " ".join(plan["app/app.items"]["plan"] + plan["app/app.items_code"]["plan"])
    for online in ("NOT VALID", "VALIDATE CONSTRAINT", "CREATE UNIQUE INDEX CONCURRENTLY", "USING INDEX",
                   "IS NOT NULL) NOT VALID", "CREATE INDEX CONCURRENTLY \"items_code_pgstack_swap\"",
                   "DROP INDEX CONCURRENTLY IF EXISTS \"app\".\"items_code\""):
        assert online in statements, online
    writer = Writer(database, ROWS + 1)
    writer.start()
    try:
        time.sleep(0.5)
        engine.up()
        time.sleep(0.5)
    finally:
        writer.stop.set()
        writer.join()
    print(f"\n{writer.inserted} inserts during the online change, longest {writer.longest * 1000:.0f} ms")
    assert writer.failures == []
    assert writer.inserted > 0
    assert db.execute("SELECT count(*) FROM app.items").fetchone()[0] == ROWS + writer.inserted
    assert db.execute("SELECT bool_and(convalidated) FROM pg_constraint WHERE conrelid = 'app.items'::regclass"
                      ).fetchone()[0]
    assert db.execute("SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = 'app.items'::regclass").fetchone()[0]
    assert engine.preview().changed() == {}


def test_a_renamed_table_and_column_keep_their_rows(prod, db):
    engine, root = prod
    renamed = ITEMS.replace("CREATE TABLE items (", "-- pgstack: renamed from items\nCREATE TABLE articles (") \
        .replace("    note text\n", "    -- pgstack: renamed from note\n    remark text\n") \
        .replace("ON items", "ON articles").replace("ALTER TABLE items", "ALTER TABLE articles")
    write(root, renamed)
    preview = engine.preview()
    # Updates of the same resources: the table, and what is on it follows without a rebuild.
    assert preview.changed() == {"update": ["app/app.articles", "app/app.articles.items_read", "app/app.items_code"]}
    assert preview.checked["app/app.articles"]["plan"] == [
        'rename table app.items to articles: ALTER TABLE "app"."items" RENAME TO "articles"',
        # PostgreSQL named the primary key after the table; the file's declaration now does too
        'rename constraint items_pkey on articles to articles_pkey: '
        'ALTER TABLE "app"."articles" RENAME CONSTRAINT "items_pkey" TO "articles_pkey"',
        'rename column articles.note to remark: ALTER TABLE "app"."articles" RENAME COLUMN "note" TO "remark"']
    assert preview.checked["app/app.items_code"]["plan"] == []
    engine.up()
    assert db.execute("SELECT count(*), count(remark) FROM app.articles").fetchone() == (1000, 1000)
    assert db.execute("SELECT indrelid::regclass::text FROM pg_index WHERE indexrelid = 'app.items_code'::regclass"
                      ).fetchone()[0] == "app.articles"
    assert engine.preview().changed() == {}
    # Without the annotation, a rename is a drop and an add: refused here as data loss.
    write(root, renamed.replace("    -- pgstack: renamed from note\n    remark text\n", "    memo text\n"))
    with pytest.raises(ProviderError, match=r"refusing to drop column app\.articles\.remark and its data"):
        engine.preview()


DEPENDENTS = """
CREATE TABLE notes (
    id bigint PRIMARY KEY,
    owner_code varchar(64) NOT NULL,
    body text,
    legacy text
);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY notes_owner ON notes FOR SELECT TO authenticated
    USING (owner_code = current_setting('app.owner', true));
CREATE POLICY notes_legacy ON notes FOR SELECT TO authenticated USING (legacy IS NOT NULL);
CREATE VIEW note_bodies AS SELECT id, owner_code, body, legacy FROM notes;
"""


def test_what_reads_a_changed_column_is_moved_aside_and_back(database, tmp_path, db):
    """Widening a column a policy and a view read, a view that loses a column, and a column
    dropped together with the policy that reads it: each fails in PostgreSQL as one naive
    statement; planned, they go through and the view still answers, with its grants."""
    root = tmp_path / "sql"
    write(root, DEPENDENTS)
    config = {**PROD_LIKE, "pgstack:safety": json.dumps({"allow_hazards": ["all"]})}
    with EngineDouble(database, sql_root=root, config=config) as engine:
        engine.up()
        db.execute("INSERT INTO app.notes VALUES (1, 'a', 'hello', 'x')")
        db.execute("GRANT SELECT ON app.note_bodies TO authenticated")
        changed = DEPENDENTS.replace("varchar(64)", "text") \
            .replace("    body text,\n    legacy text\n", "    body text\n") \
            .replace("CREATE POLICY notes_legacy ON notes FOR SELECT TO authenticated USING (legacy IS NOT NULL);\n", "") \
            .replace("SELECT id, owner_code, body, legacy FROM notes", "SELECT id, owner_code, body FROM notes")
        write(root, changed)
        plan = engine.preview().checked
        steps = plan["app/app.notes"]["plan"]
        assert [s.split(":")[0] for s in steps] == [
            "drop policy notes_legacy on notes (it reads column legacy, which is dropped)",
            "remember the grants and comment of view app.note_bodies for when it is created again",
            "remember the grants and comment of view app.note_bodies for when it is created again",
            "remember the grants and comment of view app.note_bodies for when it is created again",
            "remember the grants and comment of view app.note_bodies for when it is created again",
            "drop view app.note_bodies (it reads column legacy, which is dropped)",
            "drop policy notes_owner on notes (it reads column owner_code, whose type changes)",
            "drop column app.notes.legacy and its data",
            "change type of notes.owner_code from character varying(64) to text",
            "create policy notes_owner on notes again, as it was",
        ]
        assert "[hazard authorization_change" in steps[0]  # the policy that goes with its column
        engine.up()
        assert db.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                          "'app.notes'::regclass AND attname = 'owner_code'").fetchone()[0] == "text"
        assert db.execute("SELECT * FROM app.note_bodies").fetchall() == [(1, "a", "hello")]
        assert db.execute("SELECT has_table_privilege('authenticated', 'app.note_bodies', 'SELECT')").fetchone()[0]
        assert db.execute("SELECT array_agg(policyname::text ORDER BY 1) FROM pg_policies WHERE tablename = 'notes'"
                          ).fetchone()[0] == ["notes_owner"]
        assert engine.preview().changed() == {}


def test_what_reads_a_column_is_looked_up_only_for_a_plan_that_drops_or_retypes_one(database, db):
    """The dependents query runs for a table whose plan moves something aside, not for the
    plan of every table a preview checks."""
    db.execute("DO $$ BEGIN CREATE ROLE authenticated NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    db.execute("CREATE SCHEMA app")
    db.execute("SET search_path TO app")
    db.execute(DEPENDENTS)
    columns = [{"name": "id", "type": "bigint"}, {"name": "owner_code", "type": "character varying(64)"},
               {"name": "body", "type": "text"}, {"name": "legacy", "type": "text"}]
    table = {"schema": "app", "name": "notes", "columns": columns, "rls_enabled": True}
    with psycopg.connect(**database) as conn, conn.cursor() as cur:
        unchanged = dependents.OnFirstUse(cur, "app", "notes")
        assert plan.alter_table(table, {**table, "_dependents": unchanged}) == []
        assert not unchanged.read
        retyped = dependents.OnFirstUse(cur, "app", "notes")
        steps = plan.alter_table(table, {**table, "_dependents": retyped, "columns": [
            dict(c, type="text") if c["name"] == "owner_code" else c for c in columns]})
        assert retyped.read
        assert [s.description for s in steps] == [
            "drop policy notes_owner on notes (it reads column owner_code, whose type changes)",
            "drop view app.note_bodies (it reads column owner_code, whose type changes)",
            "change type of notes.owner_code from character varying(64) to text",
            "create policy notes_owner on notes again, as it was",
            "create view app.note_bodies again, as it was", "create view app.note_bodies again, as it was"]


def test_a_view_that_loses_a_column_is_created_again_with_its_grants(database, tmp_path, db):
    root = tmp_path / "sql"
    write(root, DEPENDENTS)
    config = {**PROD_LIKE, "pgstack:safety": json.dumps({"allow_hazards": ["all"]})}
    with EngineDouble(database, sql_root=root, config=config) as engine:
        engine.up()
        db.execute("INSERT INTO app.notes VALUES (1, 'a', 'hello', 'x')")
        db.execute("GRANT SELECT ON app.note_bodies TO authenticated")
        db.execute("COMMENT ON VIEW app.note_bodies IS 'bodies'")
        write(root, DEPENDENTS.replace("SELECT id, owner_code, body, legacy FROM notes", "SELECT id, body FROM notes"))
        plan = engine.preview().checked["app/app.note_bodies"]["plan"]
        assert [s.split(":")[0] for s in plan][:2] == ["drop view app.note_bodies", "create or replace view app.note_bodies"]
        engine.up()
        assert db.execute("SELECT * FROM app.note_bodies").fetchall() == [(1, "hello")]
        assert db.execute("SELECT has_table_privilege('authenticated', 'app.note_bodies', 'SELECT'), "
                          "obj_description('app.note_bodies'::regclass, 'pg_class')").fetchone() == (True, "bodies")

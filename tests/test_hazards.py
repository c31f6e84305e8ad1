"""Each hazard is reported for the change that causes it and for no other.

Table-driven, like stripe/pg-schema-diff's acceptance cases: the table as it is (SQL), the table
as declared (SQL), offline or online, and the statements with their hazards the plan must be.
Every plan then runs on a real PostgreSQL against a table holding rows, so each statement is
proven to be one PostgreSQL accepts in that order.
"""

import psycopg
import pytest
from psycopg import sql

from components.model import plan
from components.model.declared import DeclaredTables
from components.model.hazards import (
    ACCESS_EXCLUSIVE, AUTHORIZATION, DATA_LOSS, FULL_SCAN, INDEX_BUILD, INDEX_DROPPED, SHARE_LOCK, TABLE_REWRITE,
    UNTRACKABLE,
)
from components.model.parser import ModuleParser

BASE = """
CREATE TABLE parent (id bigint PRIMARY KEY);
CREATE TABLE t (
    id bigint PRIMARY KEY,
    parent_id bigint,
    name varchar(20) NOT NULL DEFAULT 'x',
    amount integer,
    note text
);
CREATE INDEX t_name ON t (name);
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
CREATE POLICY t_read ON t FOR SELECT TO authenticated USING (amount > 0);
"""


def module(text: str):
    parser = ModuleParser("m", "hz", DeclaredTables(), set())
    parser.parse_text("sql/m/001_t.sql", text)
    return parser.module


def edited(*pairs: tuple[str, str]) -> str:
    text = BASE
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    return text


# (id, edit of BASE, online, [(statement start, hazards)])
TABLE_CASES = [
    ("add nullable column", [("    note text\n", "    note text,\n    extra text\n")], False,
     [("ALTER TABLE \"hz\".\"t\" ADD COLUMN \"extra\" text", [])]),
    ("add column with constant default", [("    note text\n", "    note text,\n    flag boolean NOT NULL DEFAULT false\n")],
     True, [("ALTER TABLE \"hz\".\"t\" ADD COLUMN \"flag\" boolean DEFAULT FALSE NOT NULL", [])]),
    ("add column with volatile default", [("    note text\n", "    note text,\n    token uuid DEFAULT gen_random_uuid()\n")],
     True, [("ALTER TABLE \"hz\".\"t\" ADD COLUMN \"token\" uuid DEFAULT gen_random_uuid()", [TABLE_REWRITE])]),
    ("drop column", [("    amount integer,\n    note text\n", "    amount integer\n")], False,
     [("ALTER TABLE \"hz\".\"t\" DROP COLUMN \"note\"", [DATA_LOSS])]),
    ("widen varchar", [("name varchar(20)", "name varchar(40)")], True,
     [("ALTER TABLE \"hz\".\"t\" ALTER COLUMN \"name\" DROP DEFAULT", []),
      ("ALTER TABLE \"hz\".\"t\" ALTER COLUMN \"name\" TYPE character varying(40)", []),
      ("ALTER TABLE \"hz\".\"t\" ALTER COLUMN \"name\" SET DEFAULT 'x'", [])]),
    ("varchar to text", [("name varchar(20)", "name text")], True,
     [("ALTER TABLE \"hz\".\"t\" ALTER COLUMN \"name\" DROP DEFAULT", []),
      ("ALTER TABLE \"hz\".\"t\" ALTER COLUMN \"name\" TYPE text", []),
      ("ALTER TABLE \"hz\".\"t\" ALTER COLUMN \"name\" SET DEFAULT 'x'", [])]),
    ("integer to bigint", [("amount integer", "amount bigint")], True,
     [("ALTER TABLE \"hz\".\"t\" ALTER COLUMN \"amount\" TYPE bigint USING \"amount\"::bigint", [TABLE_REWRITE])]),
    ("narrow varchar", [("name varchar(20)", "name varchar(10)")], True,
     [("ALTER TABLE \"hz\".\"t\" ALTER COLUMN \"name\" DROP DEFAULT", []),
      ("ALTER TABLE \"hz\".\"t\" ALTER COLUMN \"name\" TYPE character varying(10) USING "
       "\"name\"::character varying(10)", [TABLE_REWRITE, DATA_LOSS]),
      ("ALTER TABLE \"hz\".\"t\" ALTER COLUMN \"name\" SET DEFAULT 'x'", [])]),
    ("set default", [("DEFAULT 'x'", "DEFAULT 'y'")], True,
     [("ALTER TABLE \"hz\".\"t\" ALTER COLUMN \"name\" SET DEFAULT 'y'", [])]),
    ("set not null offline", [("amount integer", "amount integer NOT NULL")], False,
     [("ALTER TABLE \"hz\".\"t\" ALTER COLUMN \"amount\" SET NOT NULL", [FULL_SCAN, ACCESS_EXCLUSIVE])]),
    ("set not null online", [("amount integer", "amount integer NOT NULL")], True,
     [("ALTER TABLE \"hz\".\"t\" DROP CONSTRAINT IF EXISTS \"t_amount_pgstack_not_null\", ADD CONSTRAINT "
       "\"t_amount_pgstack_not_null\" CHECK (\"amount\" IS NOT NULL) NOT VALID", []),
      ("ALTER TABLE \"hz\".\"t\" VALIDATE CONSTRAINT \"t_amount_pgstack_not_null\"", []),
      ("ALTER TABLE \"hz\".\"t\" ALTER COLUMN \"amount\" SET NOT NULL", []),
      ("ALTER TABLE \"hz\".\"t\" DROP CONSTRAINT \"t_amount_pgstack_not_null\"", [])]),
    ("drop not null", [("NOT NULL DEFAULT 'x'", "DEFAULT 'x'")], True,
     [("ALTER TABLE \"hz\".\"t\" ALTER COLUMN \"name\" DROP NOT NULL", [])]),
    ("add check offline", [("    note text\n", "    note text,\n    CONSTRAINT t_amount_check CHECK (amount >= 0)\n")],
     False, [("ALTER TABLE \"hz\".\"t\" ADD CONSTRAINT \"t_amount_check\" CHECK (amount >= 0)",
              [FULL_SCAN, ACCESS_EXCLUSIVE])]),
    ("add check online", [("    note text\n", "    note text,\n    CONSTRAINT t_amount_check CHECK (amount >= 0)\n")],
     True, [("ALTER TABLE \"hz\".\"t\" ADD CONSTRAINT \"t_amount_check\" CHECK (amount >= 0) NOT VALID", []),
            ("ALTER TABLE \"hz\".\"t\" VALIDATE CONSTRAINT \"t_amount_check\"", [])]),
    ("add foreign key offline", [("parent_id bigint,", "parent_id bigint REFERENCES parent (id),")], False,
     [("ALTER TABLE \"hz\".\"t\" ADD CONSTRAINT \"t_parent_id_fkey\" FOREIGN KEY (\"parent_id\") REFERENCES "
       "\"hz\".\"parent\" (\"id\")", [FULL_SCAN, SHARE_LOCK])]),
    ("add foreign key online", [("parent_id bigint,", "parent_id bigint REFERENCES parent (id),")], True,
     [("ALTER TABLE \"hz\".\"t\" ADD CONSTRAINT \"t_parent_id_fkey\" FOREIGN KEY (\"parent_id\") REFERENCES "
       "\"hz\".\"parent\" (\"id\") NOT VALID", []),
      ("ALTER TABLE \"hz\".\"t\" VALIDATE CONSTRAINT \"t_parent_id_fkey\"", [])]),
    ("add unique offline", [("    note text\n", "    note text,\n    CONSTRAINT t_note_key UNIQUE (note)\n")], False,
     [("ALTER TABLE \"hz\".\"t\" ADD CONSTRAINT \"t_note_key\" UNIQUE (\"note\")", [INDEX_BUILD, ACCESS_EXCLUSIVE])]),
    ("add unique online", [("    note text\n", "    note text,\n    CONSTRAINT t_note_key UNIQUE (note)\n")], True,
     [("DROP INDEX CONCURRENTLY IF EXISTS \"hz\".\"t_note_key\"", []),
      ("CREATE UNIQUE INDEX CONCURRENTLY \"t_note_key\" ON \"hz\".\"t\" USING \"btree\" (\"note\")", [INDEX_BUILD]),
      ("ALTER TABLE \"hz\".\"t\" ADD CONSTRAINT \"t_note_key\" UNIQUE USING INDEX \"t_note_key\"", [])]),
    ("disable RLS", [("ALTER TABLE t ENABLE ROW LEVEL SECURITY;\n", "")], True,
     [("ALTER TABLE \"hz\".\"t\" DISABLE ROW LEVEL SECURITY", [AUTHORIZATION])]),
    ("comment", [("CREATE INDEX", "COMMENT ON TABLE t IS 'rows';\nCREATE INDEX")], True,
     [("COMMENT ON TABLE \"hz\".\"t\" IS 'rows'", [])]),
]


def steps_of(steps) -> list[tuple[str, list]]:
    return [(s.statement.as_string(None), s.hazards) for s in steps]


@pytest.fixture
def hz(db):
    db.execute("CREATE SCHEMA hz")
    db.execute("SET search_path TO hz")
    for role in ("authenticated",):
        db.execute(sql.SQL("DO $$ BEGIN CREATE ROLE {}; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
                   .format(sql.Identifier(role)))
    base = module(BASE)
    for table in base.tables:
        for step in plan.create_table(table.inputs()):
            db.execute(step.statement)
    for index in base.indexes:
        db.execute(plan.create_index(index.inputs(), online=False)[0].statement)
    db.execute("INSERT INTO parent VALUES (1)")
    db.execute("INSERT INTO t (id, parent_id, name, amount, note) VALUES (1, 1, 'a', 5, 'n1'), (2, NULL, 'b', 7, 'n2')")
    return db


@pytest.mark.parametrize("case, edits, online, expected", TABLE_CASES, ids=[c[0] for c in TABLE_CASES])
def test_table_change_statements_and_hazards(hz: psycopg.Connection, case, edits, online, expected):
    old, new = module(BASE).table("t").inputs(), module(edited(*edits)).table("t").inputs()
    steps = plan.alter_table(old, new, online)
    assert steps_of(steps) == expected
    for step in steps:  # PostgreSQL accepts them, in this order, on a table with rows
        hz.execute(step.statement)
    assert hz.execute("SELECT count(*) FROM t").fetchone()[0] == 2


def test_index_hazards(hz):
    index = module(BASE).indexes[0].inputs()
    changed = dict(index, where="amount > 0")
    assert [h for s in plan.create_index(index, online=True) for h in s.hazards] == [INDEX_BUILD]
    assert [h for s in plan.create_index(index, online=False) for h in s.hazards] == [INDEX_BUILD, SHARE_LOCK]
    assert [s.hazards for s in plan.drop_index(index, online=True)] == [[INDEX_DROPPED]]
    assert [s.hazards for s in plan.drop_index(index, online=False)] == [[INDEX_DROPPED, ACCESS_EXCLUSIVE]]
    online = plan.change_index(index, changed, online=True)
    assert [(s.transactional, s.hazards) for s in online] == [(False, []), (False, [INDEX_BUILD]), (False, []),
                                                              (False, [])]
    hz.autocommit = True
    for step in online:
        hz.execute(step.statement)
    assert hz.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 't_name'").fetchone()[0].endswith(
        "WHERE (amount > 0)")
    offline = plan.change_index(changed, index, online=False)
    assert [s.hazards for s in offline] == [[], [INDEX_BUILD, ACCESS_EXCLUSIVE]]


POLICY = {"schema": "hz", "table": "t", "name": "p", "command": "select", "permissive": True,
          "roles": ["authenticated"], "using": "amount > 0"}


@pytest.mark.parametrize("change, widens", [
    ({"using": "amount > 0 AND note IS NOT NULL"}, False),  # a condition AND-ed: narrower
    ({"using": "amount > 0 OR note IS NOT NULL"}, True),
    ({"using": "note IS NOT NULL"}, True),
    ({"roles": ["authenticated", "anon"]}, True),
    ({"roles": ["authenticated"]}, False),
    ({"command": "all"}, True),
    ({"permissive": False}, True),  # the other policies now pass rows this one does not
])
def test_policy_changes_that_can_widen_access_are_authorization_changes(change, widens):
    steps = plan.alter_policy(POLICY, {**POLICY, **change})
    assert any(AUTHORIZATION in s.hazards for s in steps) is widens
    assert plan.drop_policy(POLICY)[0].hazards == [AUTHORIZATION]
    assert plan.create_policy(POLICY)[0].hazards == []


def test_function_bodies_that_name_tables_are_untrackable():
    reads = {"schema": "hz", "name": "f", "definition": "CREATE FUNCTION hz.f() RETURNS bigint LANGUAGE sql AS "
                                                       "$$ SELECT count(*) FROM hz.t $$"}
    pure = {"schema": "hz", "name": "g", "definition": "CREATE FUNCTION hz.g() RETURNS trigger LANGUAGE plpgsql AS "
                                                      "$$ BEGIN NEW.note := lower(NEW.note); RETURN NEW; END $$"}
    atomic = {"schema": "hz", "name": "h", "definition": "CREATE FUNCTION hz.h() RETURNS bigint LANGUAGE sql "
                                                        "BEGIN ATOMIC SELECT count(*) FROM hz.t; END"}
    assert plan.create_or_replace("function", reads)[0].hazards == [UNTRACKABLE]
    assert plan.create_or_replace("function", pure)[0].hazards == []
    assert plan.create_or_replace("function", atomic)[0].hazards == []  # parsed: PostgreSQL tracks it

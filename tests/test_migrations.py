"""Versioned data migrations (sql/<module>/migrations/NNNN_name.sql): parsed with file:line
errors; applied once each, in order, after the schema, in one transaction (or in batches);
an edit to an applied one refused at preview on a strict stack, run again where the stack
allows it; removing one changes nothing."""

import json
import shutil

import psycopg
import pytest

from components.model.declared import DeclaredTables
from components.model.errors import SqlModelError
from components.model.migrations import load_migrations
from components.model.parser import parse_module
from tests.support.engine import EngineDouble, ProviderError

SCHEMA = """
CREATE TABLE plans (
    code text PRIMARY KEY,
    label text NOT NULL
);
CREATE TABLE accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan text REFERENCES plans (code),
    email text NOT NULL,
    score integer
);
"""

REFERENCE = """-- The plans every account can be on.
INSERT INTO plans (code, label) VALUES ('free', 'Free'), ('pro', 'Pro');
UPDATE accounts SET plan = 'free' WHERE plan IS NULL;
"""

BACKFILL = """-- pgstack: batched
-- Scores from the e-mail's length, 2,500 accounts at a time.
UPDATE accounts SET score = length(email)
WHERE id IN (SELECT id FROM accounts WHERE score IS NULL ORDER BY id LIMIT 2500);
"""


def module_folder(root, migrations: dict[str, str], schema_sql: str = SCHEMA):
    folder = root / "app"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "migrations").mkdir(parents=True)
    (folder / "001_accounts.sql").write_text(schema_sql)
    for name, text in migrations.items():
        (folder / "migrations" / name).write_text(text)
    return folder


def load(tmp_path, migrations: dict[str, str], external: str | None = None):
    folder = module_folder(tmp_path / "sql", migrations)
    known = DeclaredTables()
    module = parse_module("app", "app", folder, known, display_root=tmp_path)
    return load_migrations(folder, module, display_root=tmp_path)


# --- the files -----------------------------------------------------------------------------------

def test_migrations_load_in_number_order_with_rendered_statements(tmp_path):
    found = load(tmp_path, {"0002_backfill.sql": BACKFILL, "0001_reference.sql": REFERENCE})
    assert [(m.number, m.name, m.batched) for m in found] == [("0001", "0001_reference", False),
                                                            ("0002", "0002_backfill", True)]
    first = found[0]
    assert first.source == "sql/app/migrations/0001_reference.sql"
    assert [(s.source, s.action, s.table) for s in first.statements] == [
        ("sql/app/migrations/0001_reference.sql:2", "insert into", "plans"),
        ("sql/app/migrations/0001_reference.sql:3", "update", "accounts")]
    assert first.statements[0].sql == "INSERT INTO app.plans (code, label) VALUES ('free', 'Free'), ('pro', 'Pro')"
    assert first.checksum.startswith("sha256:")


def test_the_checksum_follows_what_runs_not_how_it_is_written(tmp_path):
    plain = load(tmp_path, {"0001_reference.sql": REFERENCE})[0]
    spaced_out = "\n\n-- other words\n" + REFERENCE.replace("SET plan", "SET   plan")
    spaced = load(tmp_path, {"0001_reference.sql": spaced_out})[0]
    changed = load(tmp_path, {"0001_reference.sql": REFERENCE.replace("'Pro'", "'Professional'")})[0]
    assert plain.checksum == spaced.checksum != changed.checksum


@pytest.mark.parametrize(("name", "text", "error"), [
    ("1_reference.sql", REFERENCE, "migrations/1_reference.sql:1: migration files must be named NNNN_name.sql"),
    ("0001_x.sql", "-- nothing\n", "migrations/0001_x.sql:1: the migration has no statement"),
    ("0001_x.sql", "INSERT INTO plans VALUES ('a', 'A');\nALTER TABLE plans ADD COLUMN x int;\n",
     "migrations/0001_x.sql:2: ALTER TABLE is not allowed in a migration"),
    ("0001_x.sql", "SELECT pg_sleep(1);\n", "migrations/0001_x.sql:1: SELECT is not allowed in a migration"),
    ("0001_x.sql", "TRUNCATE accounts;\n", "migrations/0001_x.sql:1: TRUNCATE is not allowed in a migration"),
    ("0001_x.sql", "INSERT INTO public.other (a) VALUES (1);\n",
     "migrations/0001_x.sql:1: table public.other is not declared by module 'app'"),
    ("0001_x.sql", "UPDATE accounts SET score = 1 WHERE email IN (SELECT email FROM auth.users);\n",
     "table auth.users is not declared by module 'app'"),
    ("0001_x.sql", "UPDATE accounts SET nickname = 'x';\n", "column nickname of table accounts is not declared"),
    ("0001_x.sql", "WITH gone AS (DELETE FROM plans RETURNING code) UPDATE accounts SET plan = NULL "
                   "WHERE plan IN (SELECT code FROM gone);\n", None),
    ("0001_x.sql", "UPDATE accounts SET score = 0;\n-- pgstack: batched\n",
     "migrations/0001_x.sql:2: -- pgstack: batched is about the whole file"),
    ("0001_x.sql", "-- pgstack: once\nUPDATE accounts SET score = 0;\n",
     "migrations/0001_x.sql:1: unknown pgstack annotation in a migration"),
    ("0001_x.sql", "-- pgstack: batched\nUPDATE accounts SET score = 0;\n",
     "migrations/0001_x.sql:2: a batched UPDATE needs a WHERE"),
    ("0001_x.sql", "-- pgstack: batched\nUPDATE accounts SET score = 0 WHERE score IS NULL;\n",
     "a batched statement runs again until it changes no row, so each run must change a bounded batch"),
    ("0001_x.sql", "-- pgstack: batched\nINSERT INTO plans SELECT 'p' || g, 'P' "
                   "FROM generate_series(1, 9) g LIMIT 5;\n",
     "a batched INSERT runs again until it inserts no row, so it needs ON CONFLICT DO NOTHING"),
])
def test_what_a_migration_may_not_do_is_named_with_its_line(tmp_path, name, text, error):
    if error is None:
        assert load(tmp_path, {name: text})[0].statements[0].action == "update"
        return
    with pytest.raises(SqlModelError) as raised:
        load(tmp_path, {name: text})
    assert error in str(raised.value)


def test_two_migrations_may_not_share_a_number(tmp_path):
    with pytest.raises(SqlModelError, match=r"0001_b\.sql:1: migration number 0001 is also used by 0001_a\.sql"):
        load(tmp_path, {"0001_a.sql": REFERENCE, "0001_b.sql": REFERENCE})


def test_a_table_the_module_only_extends_may_be_updated_in_its_own_columns_only(tmp_path):
    folder = tmp_path / "sql" / "ext"
    (folder / "migrations").mkdir(parents=True)
    (folder / "001_leads.sql").write_text("ALTER TABLE leads ADD COLUMN source text;\n")
    known = DeclaredTables()
    known.add_external("app", "leads")
    module = parse_module("ext", "app", folder, known, display_root=tmp_path)
    (folder / "migrations" / "0001_ok.sql").write_text("UPDATE leads SET source = 'web' WHERE source IS NULL;\n")
    assert load_migrations(folder, module, tmp_path)[0].statements[0].table == "leads"
    (folder / "migrations" / "0001_ok.sql").write_text("UPDATE leads SET email = 'x';\n")
    with pytest.raises(SqlModelError, match="column email of table leads is not declared by module 'ext' "
                                            r"\(module 'ext' only adds columns to leads\)"):
        load_migrations(folder, module, tmp_path)
    (folder / "migrations" / "0001_ok.sql").write_text("DELETE FROM leads;\n")
    with pytest.raises(SqlModelError, match="cannot delete from app.leads: module 'ext' does not create it"):
        load_migrations(folder, module, tmp_path)


# --- applying them -------------------------------------------------------------------------------

def config(**safety) -> dict:
    return {
        "pgstack:modules": json.dumps([{"name": "app", "schema": "app"}]),
        "pgstack:roles": "[]",
        "pgstack:grants": "[]",
        "pgstack:safety": json.dumps({"allow_data_loss": False, "lock_timeout": "2s", **safety}),
    }


MIGRATION = "pulumi-python:dynamic/pgstack:Migration"


def test_each_migration_runs_once_in_order_after_the_schema(database, db, tmp_path):
    root = tmp_path / "sql"
    module_folder(root, {})
    with EngineDouble(database, sql_root=root, config=config()) as engine:
        engine.up()
        db.execute("INSERT INTO app.accounts (email) SELECT 'user' || g || '@example.com' "
                   "FROM generate_series(1, 10) g")

        # New migrations show in the preview, then run in number order (0002 needs 0001's plans).
        module_folder(root, {"0001_reference.sql": REFERENCE,
                             "0002_pro.sql": "UPDATE accounts SET plan = 'pro' WHERE id <= 3;\n"})
        assert engine.preview().changed() == {"create": ["app/migrations.0001", "app/migrations.0002"]}
        assert engine.up().changed() == {"create": ["app/migrations.0001", "app/migrations.0002"]}
        assert db.execute("SELECT plan, count(*) FROM app.accounts GROUP BY 1 ORDER BY 1").fetchall() == [
            ("free", 7), ("pro", 3)]

        # Applied once: the next up runs nothing, whatever the rows became since.
        db.execute("UPDATE app.accounts SET plan = NULL WHERE id = 10")
        assert engine.up().changed() == {}
        assert db.execute("SELECT plan FROM app.accounts WHERE id = 10").fetchone()[0] is None

        # The state lost (an answer that never came back): the journal says it ran.
        del engine.state[engine.entry(MIGRATION, "app/migrations.0001").urn]
        assert engine.up().changed() == {"create": ["app/migrations.0001"]}
        assert db.execute("SELECT count(*) FROM app.plans").fetchone()[0] == 2

        # Moving a statement to another line, or a comment, is no change.
        module_folder(root, {"0001_reference.sql": "\n\n-- reference data\n" + REFERENCE,
                             "0002_pro.sql": "UPDATE accounts SET plan = 'pro' WHERE id <= 3;\n"})
        assert engine.preview().changed() == {}

        # Removing a migration deletes its resource and nothing else.
        module_folder(root, {"0001_reference.sql": REFERENCE})
        assert engine.up().changed() == {"delete": ["app/migrations.0002"]}
        assert db.execute("SELECT count(*) FROM app.accounts WHERE plan = 'pro'").fetchone()[0] == 3


def test_an_edited_migration_is_refused_at_preview_on_a_strict_stack(database, db, tmp_path):
    root = tmp_path / "sql"
    module_folder(root, {"0001_reference.sql": REFERENCE})
    with EngineDouble(database, sql_root=root, config=config()) as engine:
        engine.up()
        module_folder(root, {"0001_reference.sql": REFERENCE.replace("'Pro'", "'Professional'")})
        with pytest.raises(ProviderError, match=r"migration sql/app/migrations/0001_reference\.sql \(module app\) "
                                                r"was applied \(sha256:\w+\) and its statements have changed since"):
            engine.preview()
        with pytest.raises(ProviderError, match="rerun_migrations: true"):
            engine.up()
        assert db.execute("SELECT label FROM app.plans ORDER BY code").fetchall() == [("Free",), ("Pro",)]

    # A stack that allows it runs the edited migration again.
    with EngineDouble(database, sql_root=root, config=config(rerun_migrations=True)) as engine:
        engine.state = {}
        module_folder(root, {"0001_reference.sql": REFERENCE})
        engine.up()
        module_folder(root, {"0001_reference.sql": "UPDATE plans SET label = 'Professional' WHERE code = 'pro';\n"})
        assert engine.up().changed() == {"update": ["app/migrations.0001"]}
        assert db.execute("SELECT label FROM app.plans ORDER BY code").fetchall() == [("Free",), ("Professional",)]


def test_a_failing_migration_changes_nothing_names_its_line_and_runs_once_fixed(database, db, tmp_path):
    root = tmp_path / "sql"
    # Fails on the rows the target holds, which validation's empty scratch database does not have.
    broken = REFERENCE + "UPDATE accounts SET score = 100 / (id - 5);\n"
    module_folder(root, {})
    with EngineDouble(database, sql_root=root, config=config()) as engine:
        engine.up()
        db.execute("INSERT INTO app.accounts (email) SELECT 'u' || g FROM generate_series(1, 10) g")
        module_folder(root, {"0001_reference.sql": broken})
        with pytest.raises(ProviderError, match=r"update accounts at sql/app/migrations/0001_reference\.sql:4 failed: "
                                                r"division by zero.*rolled back"):
            engine.up()
        assert db.execute("SELECT count(*) FROM app.plans").fetchone()[0] == 0
        module_folder(root, {"0001_reference.sql": REFERENCE})
        assert engine.up().changed() == {"create": ["app/migrations.0001"]}
        assert db.execute("SELECT count(*) FROM app.plans").fetchone()[0] == 2


def test_a_batched_backfill_commits_batch_by_batch_and_resumes(database, db, tmp_path):
    root = tmp_path / "sql"
    module_folder(root, {})
    with EngineDouble(database, sql_root=root, config=config()) as engine:
        engine.up()
        db.execute("INSERT INTO app.accounts (email) SELECT 'user' || g || '@example.com' "
                   "FROM generate_series(1, 12000) g")
        # A backfill interrupted earlier: some rows done, the rest picked up where it stopped.
        db.execute("UPDATE app.accounts SET score = length(email) WHERE id <= 1000")
        module_folder(root, {"0001_scores.sql": BACKFILL})
        assert engine.up().changed() == {"create": ["app/migrations.0001"]}
        assert db.execute("SELECT count(*) FROM app.accounts WHERE score IS DISTINCT FROM length(email)"
                          ).fetchone()[0] == 0
        # 11,000 rows in batches of 2,500: five transactions (xmin), besides the one by hand.
        assert db.execute("SELECT count(DISTINCT xmin::text) FROM app.accounts WHERE id > 1000").fetchone()[0] == 5
        assert engine.up().changed() == {}


def test_a_batch_that_never_converges_is_stopped(database, db, tmp_path):
    root = tmp_path / "sql"
    module_folder(root, {})
    with EngineDouble(database, sql_root=root, config=config()) as engine:
        engine.up()
        db.execute("INSERT INTO app.accounts (email) SELECT 'u' || g FROM generate_series(1, 20) g")
        module_folder(root, {"0001_forever.sql": "-- pgstack: batched\n"
                                                 "UPDATE accounts SET score = coalesce(score, 0) + 1 "
                                                 "WHERE id IN (SELECT id FROM accounts ORDER BY id LIMIT 5);\n"})
        with pytest.raises(ProviderError, match="does not converge"):
            engine.up()


def test_rls_that_binds_the_owner_fails_the_migration_instead_of_skipping_rows(database, db, tmp_path):
    root = tmp_path / "sql"
    forced = SCHEMA + ("ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;\n"
                       "ALTER TABLE accounts FORCE ROW LEVEL SECURITY;\n")
    module_folder(root, {}, forced)
    with EngineDouble(database, sql_root=root, config=config()) as engine:
        engine.up()
        db.execute("INSERT INTO app.accounts (email) VALUES ('a@example.com')")
        module_folder(root, {"0001_scores.sql": "UPDATE accounts SET score = 1;\n"}, forced)
        with pytest.raises(ProviderError, match="row-level security"):
            engine.up()
    assert db.execute("SELECT score FROM app.accounts").fetchone()[0] is None


def test_migrations_are_validated_at_preview(database, tmp_path):
    root = tmp_path / "sql"
    module_folder(root, {"0001_bad.sql": "UPDATE accounts SET score = 'many';\n"})
    with EngineDouble(database, sql_root=root, config=config()) as engine, \
            pytest.raises(Exception, match=r"sql/app/migrations/0001_bad\.sql:1: .*invalid input syntax "
                                           r"for type integer"):
        engine.preview()
    with psycopg.connect(**database) as conn:
        assert conn.execute("SELECT to_regnamespace('app')").fetchone()[0] is None


def test_refresh_reads_each_applied_migration_from_the_journal(database, db, tmp_path):
    """A refresh finds every applied migration (one journal query per schema, like a catalog
    snapshot); one whose journal record is gone reads as gone, and the next up runs it again."""
    root = tmp_path / "sql"
    module_folder(root, {"0001_reference.sql": REFERENCE,
                         "0002_pro.sql": "UPDATE accounts SET plan = 'pro' WHERE id <= 3;\n"})
    with EngineDouble(database, sql_root=root, config=config()) as engine:
        engine.up()
        assert engine.refresh() == []
        assert engine.preview().changed() == {}

        db.execute("DELETE FROM pgstack.journal WHERE resource LIKE 'migration %/0002'")
        assert engine.refresh() == ["app/migrations.0002"]
        assert engine.preview().changed() == {"create": ["app/migrations.0002"]}

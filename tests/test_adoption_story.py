"""Issue 12's story, live, through the end-to-end harness: a team comes with seed 003's database
(schema public, no RLS, thousands of rows), scaffolds it into a module, adopts it without DDL,
then changes it safely: RLS and client isolation, a new column backfilled by a data migration.

DDL is recorded by event triggers in the database (tests/support/ddl_log.py). The program also
declares, through the pulumi_postgresql double, the owner role and its membership (cluster-wide:
no event trigger sees them), on this plain-PostgreSQL target the `auth` schema with auth.uid()
and friends (the built-in supabase_auth module, whose functions the provider journals in schema
`pgstack`), and the owner's rights on schema public (GRANT CREATE, USAGE ON SCHEMA public). None
of that touches an adopted object, so the claim "zero DDL" is checked on the objects of schema
public, and every GRANT is checked to be on a schema or a function, never on a table.
"""

import json
from pathlib import Path

import psycopg
import pytest

from tests.support import ddl_log, seed_003
from tests.support.canonical import comparable
from tests.support.engine import EngineDouble, ProviderError
from tests.support.scaffolding import one_file_module, parsed, scaffold

CLIENTS, LEADS = 20, 600  # 12,000 leads and as many actions
CLIENT_TABLES = ("clients", "lead_memory", "lead_actions", "growth_brain")
ROW_COUNTS = "SELECT (SELECT count(*) FROM public.{}) AS n"
TABLE = "pulumi-python:dynamic/pgstack:Table"


def stack_config(adopt: bool = True, grants: list | None = None) -> dict:
    module = {"name": "crm", "schema": "public", **({"adopt": True} if adopt else {})}
    return {
        "pgstack:modules": json.dumps([module]),
        "pgstack:roles": "[]",
        "pgstack:grants": json.dumps(grants or []),
        # Strict, as prod: no data loss, an applied migration never runs again.
        "pgstack:safety": json.dumps({"allow_data_loss": False, "lock_timeout": "3s"}),
    }


API_GRANTS = [{"module": "crm", "role": "authenticated", "schema": ["usage"],
               "tables": ["select", "insert", "update", "delete"]}]

# Client isolation, as the README's tenant table says for crm: setting app.current_client_id.
ISOLATION = """
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
CREATE POLICY {table}_client_isolation ON {table} TO authenticated
    USING (client_id = (SELECT nullif(current_setting('app.current_client_id', true), '')::uuid))
    WITH CHECK (client_id = (SELECT nullif(current_setting('app.current_client_id', true), '')::uuid));
"""

BACKFILL = """-- pgstack: batched
-- lead_score from the AI confidence, 2,500 leads per transaction.
UPDATE lead_memory SET lead_score = coalesce(round(confidence_score * 100)::integer, 0)
WHERE id IN (SELECT id FROM lead_memory WHERE lead_score IS NULL ORDER BY id LIMIT 2500);
"""


def counts(db: psycopg.Connection) -> dict[str, int]:
    return {t: db.execute(f"SELECT count(*) FROM public.{t}").fetchone()[0] for t in seed_003.TABLES}


def public_catalog(db: psycopg.Connection) -> list:
    return db.execute("""
        SELECT c.relname, c.relkind, c.relrowsecurity, pg_get_userbyid(c.relowner), c.relacl::text,
               (SELECT array_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum)
                FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
               (SELECT array_agg(pg_get_constraintdef(k.oid) ORDER BY k.conname) FROM pg_constraint k
                WHERE k.conrelid = c.oid),
               (SELECT array_agg(p.polname ORDER BY p.polname) FROM pg_policy p WHERE p.polrelid = c.oid)
        FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace ORDER BY 1""").fetchall()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def as_client(database: dict, client: str | None, query: str) -> list:
    with psycopg.connect(**database) as conn:
        conn.execute("SET ROLE authenticated")
        if client:
            conn.execute("SELECT set_config('app.current_client_id', %s, false)", (client,))
        return conn.execute(query).fetchall()


@pytest.fixture
def seed_database(database, db):
    """Seed 003's database with a few thousand rows, and a record of DDL from now on."""
    seed_003.prepare(db, clients=CLIENTS, leads_per_client=LEADS)
    ddl_log.install(db)
    return database


def test_adopt_seed_003_without_ddl_then_change_it_safely(seed_database, db, tmp_path):
    rows = counts(db)
    assert rows["lead_memory"] == CLIENTS * LEADS == 12_000

    # 2. Scaffold: the files parse, and their model is the seed's.
    root = tmp_path / "sql"
    result = scaffold(seed_database, root, "--schema", "public", "--module", "crm")
    assert (result.returncode, result.stderr) == (0, "")
    folder = root / "crm"
    expected = one_file_module(tmp_path, "crm", seed_003.SCHEMA_SQL.read_text(encoding="utf-8"), "public")
    module = parsed(folder, "public")
    assert comparable(db, module) == comparable(db, expected)
    # Seed 003 declares tables and indexes only: no policy, function, trigger or view.
    assert (len(module.tables), len(module.indexes), module.policies, module.functions) == (6, 36, [], [])

    with EngineDouble(seed_database, sql_root=root, config=stack_config()) as engine:
        # 3. Adopt: every object recorded, no DDL on any of them, the rows untouched.
        before, mark = public_catalog(db), ddl_log.mark(db)
        created = engine.up().changed()
        assert list(created) == ["create"]
        adopted = [e for e in engine.state.values() if e.name.startswith("crm/")]
        assert len(adopted) == 6 + 36
        commands = ddl_log.since(db, mark)
        assert ddl_log.in_schema(commands, "public") == []
        assert {c.object_type for c in commands if c.tag in ("GRANT", "REVOKE")} <= {"SCHEMA", "FUNCTION"}
        assert public_catalog(db) == before and counts(db) == rows

        # ... a refresh finds no drift, and a second preview has nothing to do.
        outputs = {urn: e.outputs for urn, e in engine.state.items()}
        assert engine.refresh() == []
        assert {urn: e.outputs for urn, e in engine.state.items()} == outputs
        assert engine.preview().changed() == {}

        # 4. RLS and client isolation on the client-owned tables, and the API's grants.
        for path in sorted(folder.glob("*.sql")):
            table = path.stem.split("_", 1)[1]
            if table in CLIENT_TABLES:
                path.write_text(path.read_text() + ISOLATION.format(table=table))
        engine.config.update(stack_config(grants=API_GRANTS))
        preview = engine.preview()
        grants = [f"crm: authenticated on public.{t}" for t in seed_003.TABLES] + [
            "public: authenticated on future tables", "public: authenticated on schema"]
        assert preview.changed() == {
            "update": sorted(f"crm/public.{t}" for t in CLIENT_TABLES),
            "create": sorted([f"crm/public.{t}.{t}_client_isolation" for t in CLIENT_TABLES] + grants),
        }
        # What the preview shows for each table (old outputs against checked inputs): RLS turned
        # on, and the hand-over to the stack's owner that comes with the table's first change.
        for table in CLIENT_TABLES:
            old = engine.entry(TABLE, f"crm/public.{table}").outputs
            new = preview.checked[f"crm/public.{table}"]
            shown = {k for k in set(old) | set(new) if k not in ("applied", "source", "adopt", "__provider", "plan")
                     and old.get(k) != new.get(k)}
            assert shown == {"rls_enabled", "owner"}, table
            assert any("ENABLE ROW LEVEL SECURITY" in step for step in new["plan"]), new["plan"]
            assert (old["owner"], new["owner"]) == ("postgres", "pgstack_owner")
        mark = ddl_log.mark(db)
        assert engine.up().changed() == preview.changed()
        touched = {c.identity for c in ddl_log.in_schema(ddl_log.since(db, mark), "public")}
        assert touched == {f"public.{t}" for t in CLIENT_TABLES} | {
            f"{t}_client_isolation on public.{t}" for t in CLIENT_TABLES}
        assert counts(db) == rows
        one, two = seed_003.client_key(1), seed_003.client_key(2)
        assert as_client(seed_database, one, "SELECT DISTINCT client_id::text FROM lead_memory") == [(one,)]
        assert as_client(seed_database, one, "SELECT count(*) FROM lead_memory")[0][0] == LEADS
        assert as_client(seed_database, two, "SELECT count(*) FROM lead_actions")[0][0] == LEADS
        assert as_client(seed_database, one, "SELECT count(*) FROM clients")[0][0] == 1
        assert as_client(seed_database, None, "SELECT count(*) FROM lead_memory")[0][0] == 0
        assert engine.preview().changed() == {}

        # 5. A new column, backfilled on 12,000 rows by a batched data migration.
        edit(folder / "002_lead_memory.sql", "    last_updated         timestamp with time zone DEFAULT now()\n);",
             "    last_updated         timestamp with time zone DEFAULT now(),\n    lead_score           integer\n);")
        (folder / "migrations").mkdir()
        (folder / "migrations" / "0001_lead_score.sql").write_text(BACKFILL)
        assert engine.preview().changed() == {"create": ["crm/migrations.0001"], "update": ["crm/public.lead_memory"]}
        engine.up()
        assert db.execute("SELECT count(*) FILTER (WHERE lead_score IS NULL), count(*), count(DISTINCT xmin::text) "
                          "FROM public.lead_memory").fetchone() == (0, 12_000, 5)
        assert db.execute("SELECT count(*) FROM public.lead_memory WHERE lead_score <> "
                          "round(confidence_score * 100)").fetchone()[0] == 0
        # Run once: the next up runs nothing, even where the rows changed since.
        db.execute("UPDATE public.lead_memory SET lead_score = NULL WHERE id = (SELECT id FROM public.lead_memory "
                   "ORDER BY id LIMIT 1)")
        assert engine.up().changed() == {}
        assert db.execute("SELECT count(*) FROM public.lead_memory WHERE lead_score IS NULL").fetchone()[0] == 1
        # Editing it afterwards is refused on this strict stack, at preview.
        edit(folder / "migrations" / "0001_lead_score.sql", "LIMIT 2500", "LIMIT 5000")
        with pytest.raises(ProviderError, match=r"migration sql/crm/migrations/0001_lead_score\.sql \(module crm\) "
                                                r"was applied .* and its statements have changed since"):
            engine.preview()
    assert counts(db) == rows


def test_an_adoption_whose_files_differ_is_refused_listing_the_differences(seed_database, db, tmp_path):
    root = tmp_path / "sql"
    assert scaffold(seed_database, root, "--schema", "public", "--module", "crm").returncode == 0
    lead_memory = root / "crm" / "002_lead_memory.sql"
    edit(lead_memory, "confidence_score     numeric(3,2)", "confidence_score     numeric(5,2)")
    edit(lead_memory, "CREATE INDEX idx_lead_memory_email ON lead_memory USING btree (email);\n", "")
    before, rows, mark = public_catalog(db), counts(db), ddl_log.mark(db)
    with EngineDouble(seed_database, sql_root=root, config=stack_config()) as engine, \
            pytest.raises(ProviderError) as refused:
        engine.up()
    message = str(refused.value)
    assert ("table public.lead_memory (sql/crm/002_lead_memory.sql:7) exists in the database but differs from its "
            "declaration, so it was not adopted. Nothing was changed. Differences:\n"
            "  - column confidence_score, type: live 'numeric(3,2)'; declared 'numeric(5,2)'\n"
            "  - index idx_lead_memory_email on lead_memory: exists live, not declared\n") in message
    assert ddl_log.in_schema(ddl_log.since(db, mark), "public") == []
    assert public_catalog(db) == before and counts(db) == rows

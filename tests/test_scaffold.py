"""The scaffold command (components/scaffold/): a live database's catalog -> sql/<module>/ files.

The live tests prepare a database, run `python -m components.scaffold` the way a user does (a
process of its own, in the project folder, the password in its environment), parse what it
wrote with the project's parser, and compare that model with the model of the SQL the
database was made from. Expressions are compared as PostgreSQL renders them
(tests/support/canonical.py): a scaffold writes `'en'::text` where a person wrote `'en'`.
"""

import json
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from components.model.declared import DeclaredTables
from components.scaffold import cli, statements
from components.scaffold.render import Name
from components.settings import read_settings
from components.stack.loading import load_stack
from tests.support import seed_003
from tests.support.canonical import comparable, merged
from tests.support.engine import stack_file_config
from tests.support.scaffolding import PROJECT, one_file_module, parsed, scaffold

def left_out(stderr: str) -> list[str]:
    return [line.removeprefix("scaffold: left out: ") for line in stderr.splitlines()
            if line.startswith("scaffold: left out: ")]


def file_order(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.sql"))


# --- seed 003: the database a team comes to adopt ------------------------------------------------

@pytest.fixture
def seed_db(database, db):
    seed_003.prepare(db, clients=3, leads_per_client=4)
    return database


def test_seed_003_scaffolds_to_the_model_of_its_own_sql(seed_db, db, tmp_path):
    """The seed's SQL is parseable by the project's parser as written (schema public), so the
    expectation is that SQL itself, not a normalized copy: no difference to explain."""
    result = scaffold(seed_db, tmp_path / "out", "--schema", "public", "--module", "crm")
    assert (result.returncode, result.stderr) == (0, "")
    folder = tmp_path / "out" / "crm"
    assert file_order(folder) == ["001_clients.sql", "002_lead_memory.sql", "003_lead_actions.sql",
                                  "004_growth_brain.sql", "005_prospect_candidates.sql",
                                  "006_prospect_outreach_log.sql"]
    assert result.stdout.splitlines() == [f"wrote {folder / name}" for name in file_order(folder)] + [
        'next: review the files, then list the module in the stack config: {name: crm, schema: public} (README, '
        '"Adopting an existing database")']

    actual = parsed(folder, "public")
    expected = one_file_module(tmp_path, "crm", seed_003.SCHEMA_SQL.read_text(encoding="utf-8"), "public")
    assert comparable(db, actual) == comparable(db, expected)
    # The data is not schema: the files hold none, and the rows are where they were.
    assert not any("INSERT" in p.read_text() for p in folder.glob("*.sql"))
    assert db.execute("SELECT count(*) FROM public.lead_memory").fetchone()[0] == 12


def test_files_come_in_foreign_key_order(seed_db, tmp_path):
    scaffold(seed_db, tmp_path / "out", "--schema", "public", "--module", "crm")
    module = parsed(tmp_path / "out" / "crm", "public")
    position = {t.name: int(Path(t.source.split(":")[0]).name[:3]) for t in module.tables}
    references = [(t.name, c.references.table) for t in module.tables for c in t.constraints if c.references]
    assert len(references) == 5
    assert all(position[referenced] < position[table] for table, referenced in references)


def test_comparison_sees_a_changed_expression(seed_db, db, tmp_path):
    """The comparison the round trips rest on can fail: one CHECK value changed in a file."""
    scaffold(seed_db, tmp_path / "out", "--schema", "public", "--module", "crm")
    folder = tmp_path / "out" / "crm"
    path = folder / "001_clients.sql"
    path.write_text(path.read_text().replace("'fr'::text", "'de'::text"))
    expected = one_file_module(tmp_path, "crm", seed_003.SCHEMA_SQL.read_text(encoding="utf-8"), "public")
    actual, wanted = comparable(db, parsed(folder, "public")), comparable(db, expected)
    assert actual != wanted
    assert "de" in actual["tables"]["clients"]["constraints"]["clients_language_check"]["expression"]


def test_named_tables_only(seed_db, db, tmp_path):
    result = scaffold(seed_db, tmp_path / "out", "--schema", "public", "--tables", "clients,lead_memory",
                      "--module", "crm")
    assert (result.returncode, result.stderr) == (0, "")
    folder = tmp_path / "out" / "crm"
    assert file_order(folder) == ["001_clients.sql", "002_lead_memory.sql"]
    whole = one_file_module(tmp_path, "crm", seed_003.SCHEMA_SQL.read_text(encoding="utf-8"), "public")
    wanted = comparable(db, whole)
    actual = comparable(db, parsed(folder, "public"))
    assert actual["tables"] == {k: v for k, v in wanted["tables"].items() if k in ("clients", "lead_memory")}
    assert actual["indexes"] == {k: v for k, v in wanted["indexes"].items()
                                 if v["table"] in ("clients", "lead_memory")}


def test_a_reference_outside_the_scaffold_is_noted(seed_db, tmp_path):
    result = scaffold(seed_db, tmp_path / "out", "--schema", "public", "--tables", "lead_memory", "--module", "crm")
    assert result.returncode == 0
    assert result.stderr.splitlines() == [
        "scaffold: note: public.lead_memory references public.clients (constraint lead_memory_client_id_fkey), "
        "which is not scaffolded: declare it in a module listed before this one, or list it under the module's "
        "external_tables"]
    known = DeclaredTables()
    known.add_external("public", "clients")
    module = parsed(tmp_path / "out" / "crm", "public", known)
    assert [t.name for t in module.tables] == ["lead_memory"]


def test_a_view_comes_with_every_table_it_reads(seed_db, db, tmp_path):
    db.execute("CREATE VIEW public.client_leads WITH (security_invoker = true) AS SELECT c.business_name, l.email "
               "FROM public.clients c JOIN public.lead_memory l USING (client_id)")
    only_clients = scaffold(seed_db, tmp_path / "a", "--schema", "public", "--tables", "clients", "--module", "crm")
    assert only_clients.returncode == 1
    assert left_out(only_clients.stderr) == ["view public.client_leads: it reads lead_memory of schema public, which "
                                             "is not scaffolded (name it in --tables)"]
    both = scaffold(seed_db, tmp_path / "b", "--schema", "public", "--tables", "clients,lead_memory", "--module", "crm")
    assert (both.returncode, both.stderr) == (0, "")
    assert file_order(tmp_path / "b" / "crm") == ["001_clients.sql", "002_lead_memory.sql", "003_client_leads.sql"]
    view = parsed(tmp_path / "b" / "crm", "public").views[0]
    assert (view.name, view.reads) == ("client_leads", [("public", "clients"), ("public", "lead_memory")])
    assert "WITH (security_invoker = true)" in view.definition
    refused = scaffold(seed_db, tmp_path / "c", "--schema", "public", "--tables", "client_leads", "--module", "crm")
    assert refused.returncode == 2 and "--tables: public.client_leads: it is a view" in refused.stderr


# --- round trip over every module of the deployed dev stack --------------------------------------

def _dev_stack_modules():
    config = stack_file_config("dev")
    settings = read_settings(lambda key: config.get(f"pgstack:{key}"), config)
    return settings, load_stack(settings, PROJECT / "sql", PROJECT)


def test_round_trip_over_every_module_of_the_dev_stack(dev_stack, tmp_path):
    """Scaffold each schema of the deployed dev stack, parse it: the model of the shipped
    sql/<module>/ files, but for these differences, each checked here:

    - public holds two modules, site (creates leads) and tracking (adds columns to leads): the
      catalog does not say which module added a column, so the scaffold writes one module whose
      leads has all of them. Expected: site and tracking merged.
    - analytics declares pgcrypto, which the dev stack does not install (skip_extensions) and
      no object uses: nothing in the catalog ties it to the schema. Expected: without it.
    - analytics.event's monthly partitions come from stack config (modules[i].partitions), not
      from files: they are listed on stderr (exit 1), with the config that declares them.
    - The auth schema is the built-in supabase_auth module (auth.uid(), role(), jwt()): its
      functions round-trip like any module's.
    Sample data (analytics' sample/, the tenants the tests seed) is rows, not schema.
    """
    settings, stack = _dev_stack_modules()
    loaded = {m.name: m for m in stack.modules}
    analytics = loaded["analytics"].module
    assert settings.modules[4].skip_extensions == ("pgcrypto",)
    expected = {
        "public": merged(loaded["site"].module, loaded["tracking"].module),
        "growth": loaded["growth"].module,
        "crm": loaded["crm"].module,
        "analytics": analytics,
        "auth": loaded["supabase_auth"].module,
    }
    with psycopg.connect(**dev_stack.database, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto'").fetchone()[0] == 0
        for schema, module in expected.items():
            result = scaffold(dev_stack.database, tmp_path / "out", "--schema", schema, "--module", f"{schema}_copy")
            actual = parsed(tmp_path / "out" / f"{schema}_copy", schema, stack.declared, settings.role_names())
            wanted = comparable(conn, module)
            if schema == "analytics":
                assert wanted["extensions"] == [("pgcrypto", None)]
                wanted["extensions"] = []
                months = [f"2026_{m:02d}" for m in range(1, 7)]
                assert left_out(result.stderr) == [
                    f"partition analytics.event_{month}: partitions come from stack config (modules[i].partitions), "
                    f"not from files: for these monthly ones, modules[i].partitions: {{event: {{interval: month, "
                    f"start: \"2026-01\"}}}}" for month in months]
                assert result.returncode == 1
            else:
                assert (schema, result.returncode, result.stderr) == (schema, 0, "")
            assert comparable(conn, actual) == wanted, schema


# --- everything the model supports, from SQL run as is ---------------------------------------------

# The dev stack has vector already (growth): the database gets SUPPORTED, the expectation
# EXTENSION + SUPPORTED, what the scaffold is to write for a table with a vector column.
EXTENSION = "CREATE EXTENSION vector;\n"
SUPPORTED = """
CREATE TYPE tier AS ENUM ('free', 'paid', 'it''s complicated');
CREATE TYPE "Mood Ring" AS ENUM ('calm', 'stormy');

CREATE TABLE account (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       text NOT NULL,
    parent_id   bigint REFERENCES account (id) ON DELETE SET NULL,
    owner_id    uuid REFERENCES other.person (id) ON DELETE CASCADE ON UPDATE CASCADE,
    "Display Name" varchar(80) DEFAULT 'it''s' NOT NULL,
    "timestamp" timestamptz(3) DEFAULT now(),
    score       numeric(5,2) DEFAULT 0 CHECK (score BETWEEN 0 AND 100),
    kind        text NOT NULL DEFAULT 'a',
    tags        text[] DEFAULT '{}',
    span        interval day to second(2),
    embedding   vector(3),
    tier        tier NOT NULL DEFAULT 'free',
    moods       "Mood Ring"[],
    CONSTRAINT account_email_kind_key UNIQUE (email, kind),
    CONSTRAINT account_kind_score_check CHECK (kind <> 'b' OR score > 10)
);

CREATE UNIQUE INDEX account_lower_email ON account (lower(email)) INCLUDE (kind) WHERE kind <> 'x';
CREATE INDEX account_recent ON account ("timestamp" DESC NULLS LAST, kind NULLS FIRST);
CREATE INDEX account_tags ON account USING gin (tags);
CREATE INDEX account_embedding ON account USING hnsw (embedding vector_cosine_ops) WITH (m = 8);

ALTER TABLE account ENABLE ROW LEVEL SECURITY;
ALTER TABLE account FORCE ROW LEVEL SECURITY;

CREATE POLICY account_read ON account FOR SELECT TO authenticated, anon
    USING (owner_id = (SELECT nullif(current_setting('app.person', true), '')::uuid));
CREATE POLICY account_write ON account AS RESTRICTIVE FOR UPDATE TO authenticated
    USING (kind IN ('a', 'b')) WITH CHECK (score >= 0);
CREATE POLICY account_all ON account TO PUBLIC USING (true);

CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW."timestamp" := now();  -- this comment is kept, byte for byte
    RETURN NEW;
END
$$;

CREATE TRIGGER account_touch BEFORE UPDATE OF email, kind ON account
    FOR EACH ROW WHEN (OLD.email IS DISTINCT FROM NEW.email) EXECUTE FUNCTION touch();

COMMENT ON TABLE account IS 'Accounts: ünïcode and ''quotes''';
COMMENT ON COLUMN account."Display Name" IS 'Shown to people';

CREATE TABLE event (
    account_id  bigint NOT NULL REFERENCES account (id),
    occurred_at timestamptz NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(payload) = 'object'),
    PRIMARY KEY (account_id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE INDEX event_occurred ON event (occurred_at);

CREATE FUNCTION score_label(score numeric) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN score > 50 THEN 'high' ELSE 'low' END $$;

CREATE VIEW account_summary WITH (security_invoker = true) AS
    SELECT a.id, a.email, score_label(a.score) AS label, count(e.*) AS events
    FROM account a LEFT JOIN event e ON e.account_id = a.id
    GROUP BY a.id, a.email, a.score;
"""


def test_everything_the_model_supports_round_trips(dev_stack, tmp_path):
    """A module file run as is (search_path as the provider sets it), scaffolded, parsed: the
    same model. It covers what the dev stack's modules do not: enum types (and an array of one),
    identity, references to another schema and to the table itself, ON UPDATE, quoted names,
    typmods, arrays, an extension's
    type and operator class, expression, partial, INCLUDE, NULLS and WITH indexes, restrictive
    and multi-role policies, FORCE RLS, a trigger with a WHEN clause, a SQL function a view
    calls, a view."""
    with psycopg.connect(**dev_stack.database, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA other; CREATE TABLE other.person (id uuid PRIMARY KEY)")
        conn.execute("CREATE SCHEMA demo")
        conn.execute("SET search_path TO demo, public, extensions")
        conn.execute(SUPPORTED)
        result = scaffold(dev_stack.database, tmp_path / "out", "--schema", "demo", "--module", "demo")
        assert (result.returncode, result.stderr.splitlines()) == (0, [
            "scaffold: note: demo.account references other.person (constraint account_owner_id_fkey), which is "
            "not scaffolded: declare it in a module listed before this one, or list it under the module's "
            "external_tables"])
        folder = tmp_path / "out" / "demo"
        assert file_order(folder) == ["001_types.sql", "002_account.sql", "003_event.sql", "004_functions.sql",
                                      "005_account_summary.sql"]
        known = DeclaredTables(tables={("other", "person"): {"id"}}, primary_keys={("other", "person"): ["id"]})
        roles = {"anon", "authenticated"}
        actual = parsed(folder, "demo", known, roles)
        expected = one_file_module(tmp_path, "demo", EXTENSION + SUPPORTED, "demo", known=known, roles=roles)
        assert comparable(conn, actual) == comparable(conn, expected)
        # The extension is declared in the first file that needs it; the function body is
        # the server's, byte for byte.
        assert (folder / "002_account.sql").read_text().count("CREATE EXTENSION vector;") == 1
        assert "-- this comment is kept, byte for byte" in (folder / "002_account.sql").read_text()
        assert "CREATE TYPE tier AS ENUM ('free', 'paid', 'it''s complicated');" in (folder / "001_types.sql").read_text()


def test_named_tables_come_with_the_enum_types_they_use(database, db, tmp_path):
    db.execute("CREATE TYPE public.tier AS ENUM ('free', 'paid')")
    db.execute("CREATE SCHEMA shop; SET search_path TO shop, public")
    db.execute("CREATE TYPE state AS ENUM ('new', 'done'); CREATE TYPE unused AS ENUM ('x');"
               "CREATE TYPE later AS ENUM ('y');"
               "CREATE TABLE orders (id integer PRIMARY KEY, state state DEFAULT 'new', tier tier, history state[]);"
               "CREATE TABLE other (id integer PRIMARY KEY, later later)")
    result = scaffold(database, tmp_path / "out", "--schema", "shop", "--tables", "orders", "--module", "shop")
    assert (result.returncode, result.stderr.splitlines()) == (0, [
        "scaffold: note: column shop.orders.tier uses enum type tier, which is not in schema shop: declare it in a "
        "module listed before this one"])
    folder = tmp_path / "out" / "shop"
    assert file_order(folder) == ["001_types.sql", "002_orders.sql"]
    assert "CREATE TYPE state AS ENUM ('new', 'done');" in (folder / "001_types.sql").read_text()
    module = parsed(folder, "shop", DeclaredTables(enums={("public", "tier")}))
    assert [(e.name, e.values) for e in module.enums] == [("state", ["new", "done"])]
    assert [(c.name, c.type) for c in module.declared_table("orders").columns] == [
        ("id", "integer"), ("state", "state"), ("tier", "tier"), ("history", "state[]")]


# --- what the model cannot express ---------------------------------------------------------------

UNSUPPORTED = """
CREATE TYPE mood AS ENUM ('happy', 'sad');
COMMENT ON TYPE mood IS 'types have no comments in the model';
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE SEQUENCE loose_seq;

CREATE TABLE thing (
    id       serial PRIMARY KEY,
    ref      bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 100),
    feeling  mood,
    amount   positive,
    doubled  integer GENERATED ALWAYS AS (id * 2) STORED,
    label    text COLLATE "C",
    code     text,
    during   tstzrange,
    CONSTRAINT thing_code_key UNIQUE (code) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT thing_during_excl EXCLUDE USING gist (during WITH &&)
);
ALTER TABLE thing ADD CONSTRAINT thing_code_check CHECK (code <> '') NOT VALID;
CREATE UNIQUE INDEX thing_label ON thing (label) NULLS NOT DISTINCT;
CREATE INDEX thing_code ON thing (code);
COMMENT ON INDEX thing_code IS 'indexes have no comments in the model';

CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER thing_quiet BEFORE DELETE ON thing FOR EACH ROW EXECUTE FUNCTION refuse();
ALTER TABLE thing DISABLE TRIGGER thing_quiet;
CREATE CONSTRAINT TRIGGER thing_late AFTER INSERT ON thing DEFERRABLE FOR EACH ROW EXECUTE FUNCTION refuse();
CREATE RULE thing_no_delete AS ON DELETE TO thing DO INSTEAD NOTHING;
CREATE STATISTICS thing_stats ON code, label FROM thing;
CREATE POLICY thing_all ON thing USING (true);
COMMENT ON POLICY thing_all ON thing IS 'policies have no comments in the model';
COMMENT ON FUNCTION refuse() IS 'nor have functions';

CREATE VIEW thing_names AS SELECT id, code FROM thing;
COMMENT ON VIEW thing_names IS 'nor views';
CREATE TRIGGER thing_names_write INSTEAD OF INSERT ON thing_names FOR EACH ROW EXECUTE FUNCTION refuse();

CREATE TABLE egg (id integer PRIMARY KEY, hen_id integer);
CREATE TABLE hen (id integer PRIMARY KEY, egg_id integer CONSTRAINT hen_egg_id_fkey REFERENCES egg (id));
ALTER TABLE egg ADD CONSTRAINT egg_hen_id_fkey FOREIGN KEY (hen_id) REFERENCES hen (id);
ALTER TABLE hen REPLICA IDENTITY FULL;

CREATE TABLE child (extra text) INHERITS (thing);
CREATE UNLOGGED TABLE scratch (id integer) WITH (fillfactor = 70);
CREATE MATERIALIZED VIEW thing_count AS SELECT count(*) FROM thing;
CREATE PROCEDURE tidy() LANGUAGE sql AS $$ SELECT 1 $$;
"""


def test_what_cannot_be_expressed_is_listed_with_its_reason(database, db, tmp_path):
    db.execute("CREATE SCHEMA odd")
    db.execute("SET search_path TO odd, public")
    db.execute(UNSUPPORTED)
    result = scaffold(database, tmp_path / "out", "--schema", "odd", "--module", "odd")
    assert result.returncode == 1
    expected = {  # object -> words of the reason
        "column odd.thing.id": "reads sequence thing_id_seq (a serial column)",
        "column odd.thing.ref": "identity sequence options",
        "column odd.thing.amount": "its type positive is a domain",
        "column odd.thing.doubled": "generated columns",
        "column odd.thing.label": 'COLLATE "C" is not supported',
        "constraint thing_code_key on odd.thing": "DEFERRABLE constraints are not supported",
        "constraint thing_during_excl on odd.thing": "exclusion constraints are not supported",
        "constraint thing_code_check on odd.thing": "NOT VALID",
        "index odd.thing_label": "NULLS NOT DISTINCT is not supported",
        "index odd.thing_code": "comments on indexes are not supported",
        "trigger thing_quiet on odd.thing": "the trigger is disabled",
        "trigger thing_late on odd.thing": "constraint triggers are not supported",
        "rule thing_no_delete on odd.thing": "rules are not supported",
        "extended statistics thing_stats on odd.thing": "extended statistics are not supported",
        "policy thing_all on odd.thing": "comments on policies are not supported",
        "function odd.refuse()": "comments on functions are not supported",
        "view odd.thing_names": "comments on views are not supported",
        # The file runs it with the caller's rights, as the parser gives every view.
        "view odd.thing_names: it runs with its owner's rights (no security_invoker)":
            "if it must keep its owner's, write `WITH (security_invoker = false)` with `-- pgstack: accept "
            "security_definer_view: <reason>` above it",
        "trigger thing_names_write on odd.thing_names": "triggers on views are not supported",
        "table odd.hen": "REPLICA IDENTITY is not supported",
        "table odd.child": "it inherits from thing",
        "table odd.scratch": "UNLOGGED is not supported",
        "materialized view odd.thing_count": "materialized views are not supported",
        "sequence odd.loose_seq": "sequences are not supported",
        "procedure odd.tidy()": "procedures are not supported",
        "enum type odd.mood": "comments on types are not supported",
        "domain odd.positive": "domains are not supported",
    }
    lines = left_out(result.stderr)
    for what, reason in expected.items():
        assert any(line.startswith(f"{what}: ") and reason in line for line in lines), (what, lines)
    assert sum(line.startswith("table odd.scratch: ") for line in lines) == 2  # UNLOGGED and WITH (fillfactor)
    # The model cannot order tables whose foreign keys form a cycle: one of them is left out.
    cycle = [line for line in lines if "foreign keys form a cycle" in line]
    assert len(cycle) == 1 and cycle[0].startswith(("constraint egg_hen_id_fkey on odd.egg: ",
                                                    "constraint hen_egg_id_fkey on odd.hen: "))
    assert result.stderr.splitlines()[-1] == (f"scaffold: {len(lines)} item(s) could not be expressed and are not "
                                              f"in the files (each file's header lists its own)")
    # Written all the same, each file listing what it leaves out; and they parse.
    thing = (tmp_path / "out" / "odd" / "002_thing.sql").read_text()
    header = thing.split("\n\n")[0]
    assert "column odd.thing.amount: its type positive is a domain" in " ".join(header.replace("--", "").split())
    module = parsed(tmp_path / "out" / "odd", "odd")
    thing_table = module.table("thing")
    assert [(e.name, e.values) for e in module.enums] == [("mood", ["happy", "sad"])]
    assert thing_table.column("feeling").type == "mood"
    assert thing_table.column("id").default is None
    assert {c.name for c in thing_table.constraints} == {"thing_pkey"}
    assert [i.name for i in module.indexes] == ["thing_code"]
    assert sorted(t.name for t in module.tables) == ["egg", "hen", "scratch", "thing"]
    assert [p.name for p in module.policies] == ["thing_all"]
    assert [f.name for f in module.functions] == ["refuse"] and module.triggers == []
    assert [v.name for v in module.views] == ["thing_names"]
    # --allow-partial: the same list, exit 0.
    again = scaffold(database, tmp_path / "again", "--schema", "odd", "--module", "odd", "--allow-partial")
    assert again.returncode == 0 and left_out(again.stderr) == lines


def test_partitions_are_listed_with_the_config_that_declares_them(database, db, tmp_path):
    db.execute("CREATE TABLE public.reading (at timestamptz NOT NULL, value integer) PARTITION BY RANGE (at)")
    for month in ("2025_11", "2025_12", "2026_01"):
        start = month.replace("_", "-") + "-01"
        db.execute(sql.SQL("CREATE TABLE public.{} PARTITION OF public.reading FOR VALUES FROM ({}) TO ({})").format(
            sql.Identifier(f"reading_{month}"), sql.Literal(start), sql.SQL("({}::date + interval '1 month')").format(
                sql.Literal(start))))
    result = scaffold(database, tmp_path / "out", "--schema", "public", "--module", "readings")
    assert result.returncode == 1
    assert left_out(result.stderr) == [
        f"partition public.reading_{month}: partitions come from stack config (modules[i].partitions), not from "
        f"files: for these monthly ones, modules[i].partitions: {{reading: {{interval: month, start: \"2025-11\"}}}}"
        for month in ("2025_11", "2025_12", "2026_01")]
    module = parsed(tmp_path / "out" / "readings", "public")
    assert [(t.name, t.partition_by) for t in module.tables] == [("reading", "RANGE (at)")]


# --- the password, and bad requests -------------------------------------------------------------

@pytest.fixture
def reader(pg_server, database):
    """A login role that may only connect: the catalog is readable by every role."""
    name, password = f"reader_{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    with psycopg.connect(**pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
    yield dict(database, user=name, password=password)
    with psycopg.connect(**pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database["dbname"])))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_the_password_is_never_on_the_command_line_nor_in_any_output(seed_db, reader, tmp_path):
    result = scaffold(reader, tmp_path / "out", "--schema", "public", "--module", "crm")
    assert result.returncode == 0, result.stderr
    written = "".join(p.read_text() for p in (tmp_path / "out" / "crm").glob("*.sql"))
    assert reader["password"] not in result.stdout + result.stderr + written
    # There is no option to pass it.
    refused = scaffold(reader, tmp_path / "other", "--schema", "public", "--module", "crm",
                       "--password", reader["password"])
    assert refused.returncode == 2 and "unrecognized arguments: --password" in refused.stderr
    # A wrong one is refused without being repeated, and nothing is written.
    wrong = f"wrong-{uuid.uuid4().hex}"
    failed = scaffold(reader, tmp_path / "failed", "--schema", "public", "--module", "crm", password=wrong)
    assert failed.returncode == 2
    assert failed.stderr.startswith(f"scaffold: cannot connect to {reader['host']}:{reader['port']}/"
                                    f"{reader['dbname']} as {reader['user']}: ")
    assert wrong not in failed.stdout + failed.stderr
    assert not (tmp_path / "failed").exists()


def test_the_password_prompt(monkeypatch):
    monkeypatch.delenv(cli.PASSWORD_ENV, raising=False)
    prompts = []
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: prompts.append(prompt) or "s3cret")
    connection = cli.stack_connection(PROJECT, "dev", cli.arguments(
        ["--stack", "dev", "--schema", "public", "--module", "m", "--port", "5999"]))
    assert cli.read_password(connection) == "s3cret"
    assert prompts == [f"Password for postgres@127.0.0.1:5999/postgres (or set {cli.PASSWORD_ENV}): "]
    monkeypatch.setenv(cli.PASSWORD_ENV, "")
    assert cli.read_password(connection) is None  # empty: no password (trust or peer authentication)


@pytest.mark.parametrize(("args", "message"), [
    (["--schema", "nowhere", "--module", "m"], "scaffold: --schema: there is no schema nowhere in database "),
    (["--schema", "public", "--tables", "clients,nope", "--module", "m"], "scaffold: --tables: public.nope: no such "
     "table (tables of public: clients, growth_brain, lead_actions, lead_memory, prospect_candidates, "
     "prospect_outreach_log)"),
    (["--schema", "public", "--module", "Bad-Name"], "scaffold: --module: 'Bad-Name' is not a valid lower-case "
     "PostgreSQL identifier"),
])
def test_bad_requests_write_nothing(seed_db, tmp_path, args, message):
    result = scaffold(seed_db, tmp_path / "out", *args)
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
    assert not (tmp_path / "out").exists()


def test_an_existing_module_folder_is_never_overwritten(seed_db, tmp_path):
    folder = tmp_path / "out" / "crm"
    folder.mkdir(parents=True)
    (folder / "001_mine.sql").write_text("-- mine\n")
    result = scaffold(seed_db, tmp_path / "out", "--schema", "public", "--module", "crm")
    assert result.returncode == 2
    assert result.stderr == (f"scaffold: {folder} already has .sql files: remove them, or choose another --module "
                             f"or --out\n")
    assert file_order(folder) == ["001_mine.sql"]


# --- pure parts ---------------------------------------------------------------------------------

def test_names_are_quoted_only_where_postgresql_needs_it():
    assert Name("clients").as_string(None) == "clients"
    assert Name("public", "lead_memory").as_string(None) == "public.lead_memory"
    assert Name("Display Name").as_string(None) == '"Display Name"'
    assert Name("user").as_string(None) == '"user"'  # a reserved word
    assert Name('odd"name').as_string(None) == '"odd""name"'


def test_server_definitions_lose_the_schema_and_nothing_else():
    index, problems = statements.index("CREATE INDEX ei ON ONLY analytics.event USING btree (occurred_at)",
                                       "analytics")
    assert (index, problems) == ("CREATE INDEX ei ON event USING btree (occurred_at)", [])
    other, _ = statements.index("CREATE INDEX i ON other.t USING btree (a)", "analytics")
    assert other == "CREATE INDEX i ON other.t USING btree (a)"
    assert statements.trigger(
        "CREATE TRIGGER t BEFORE UPDATE ON analytics.funnel FOR EACH ROW EXECUTE FUNCTION analytics.f()",
        "analytics") == "CREATE TRIGGER t BEFORE UPDATE ON funnel FOR EACH ROW EXECUTE FUNCTION f()"
    body = "$function$\nBEGIN RAISE 'analytics.f: %', 'OR REPLACE'; END\n$function$"
    assert statements.function(
        f"CREATE OR REPLACE FUNCTION analytics.f()\n RETURNS trigger\n LANGUAGE plpgsql\nAS {body}\n",
        "analytics") == f"CREATE FUNCTION f()\n RETURNS trigger\n LANGUAGE plpgsql\nAS {body}"
    _, problems = statements.index('CREATE UNIQUE INDEX u ON s.t USING btree (a COLLATE "C") NULLS NOT DISTINCT', "s")
    assert problems == ["COLLATE in an index is not supported", "NULLS NOT DISTINCT is not supported"]


def test_module_config_file_is_read_for_the_connection(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: x\n")
    (tmp_path / "Pulumi.test.yaml").write_text(json.dumps({"config": {
        "pgstack:db_host": "db.example.com", "pgstack:db_port": "6543", "pgstack:db_name": "app",
        "pgstack:db_password": {"secure": "v1:abc"}}}))
    args = cli.arguments(["--stack", "test", "--schema", "s", "--module", "m", "--user", "me"])
    connection = cli.stack_connection(tmp_path, "test", args)
    assert (connection.host, connection.port, connection.dbname, connection.user) == (
        "db.example.com", 6543, "app", "me")

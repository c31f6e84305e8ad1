"""Preview-time validation (components/stack/validation/): SQL the parser accepts but
PostgreSQL rejects stops the program with its file:line and PostgreSQL's message before any
resource is declared, so nothing reaches the target database, even at `up`.

The program runs under mocks through the engine stand-in, with validation on the tests' own
server (tests/support/engine.py: mode `server`), except where a test is about another mode."""

import fcntl
import json
import logging
import re
import shutil
import uuid
from pathlib import Path

import pulumi
import pytest
import yaml
from pulumi.runtime import settings as runtime_settings

from components.settings import ConfigError, Validation, read_settings
from components.stack.program import build
from components.stack.validation import ValidationFailed, ValidationUnavailable, check, remembered, scratch
from tests.support.engine import PROJECT_DIR, EngineDouble, stack_file_config, validation_config

BASE = """-- a small module of its own
CREATE TABLE orders (id bigint PRIMARY KEY, owner_id uuid, name text, total integer);
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
"""
SHOP_STACK = {"pgstack:modules": json.dumps([{"name": "shop", "schema": "shop"}]), "pgstack:grants": "[]"}
BAD_FILE = "sql/shop/002_bad.sql"

# Each passes the parser (a statement of a kind it supports, naming only declared tables and
# columns) and is rejected by PostgreSQL: what PostgreSQL says.
CASES = {
    "policy on a missing table": ("CREATE POLICY p ON orders USING (EXISTS (SELECT FROM nope WHERE nope.id = id));",
                                  'relation "nope" does not exist'),
    "policy without FROM": ("CREATE POLICY p ON orders USING (other.id = id);",
                            'missing FROM-clause entry for table "other"'),
    "unknown function": ("CREATE POLICY p ON orders USING (owner_id = auth.nope());",
                         r"function auth\.nope\(\) does not exist"),
    "text = integer": ("CREATE POLICY p ON orders USING (name = 1);", "operator does not exist: text = integer"),
    "aggregate in a policy": ("CREATE POLICY p ON orders USING (count(*) > 0);",
                              "aggregate functions are not allowed in policy expressions"),
    "WITH CHECK on FOR SELECT": ("CREATE POLICY p ON orders FOR SELECT USING (true) WITH CHECK (true);",
                                 "WITH CHECK cannot be applied to SELECT or DELETE"),
    "USING on FOR INSERT": ("CREATE POLICY p ON orders FOR INSERT USING (true);",
                            "only WITH CHECK expression allowed for INSERT"),
    "CHECK with a sub-select": ("CREATE TABLE refunds (amount integer CONSTRAINT refunds_amount_check "
                                "CHECK (amount IN (SELECT total FROM orders)));",
                                "cannot use subquery in check constraint"),
    "unknown column type": ("CREATE TABLE refunds (amount no_such_type);", 'type "no_such_type" does not exist'),
    "DEFAULT of the wrong type": ("CREATE TABLE refunds (amount integer DEFAULT 'abc');",
                                  'invalid input syntax for type integer: "abc"'),
    "language not installed": ("CREATE FUNCTION total() RETURNS integer LANGUAGE plpython3u AS $$ return 1 $$;",
                               'language "plpython3u" does not exist'),
    "PL/pgSQL syntax error": ("CREATE FUNCTION total() RETURNS integer LANGUAGE plpgsql AS $$ BEGIN RETURN 1 END $$;",
                              "syntax error"),
    "SQL function on a missing table": ("CREATE FUNCTION total() RETURNS bigint LANGUAGE sql "
                                        "AS $$ SELECT count(*) FROM nope $$;", 'relation "nope" does not exist'),
    "view on a missing table": ("CREATE VIEW open_orders AS SELECT * FROM nope;", 'relation "nope" does not exist'),
    "missing extension": ("CREATE EXTENSION no_such_extension;", 'extension "no_such_extension" is not available'),
    # Enum types are applied too: what uses one is checked against its values.
    "enum default not a value": ("CREATE TYPE state AS ENUM ('new', 'paid'); "
                                 "CREATE TABLE refunds (state state DEFAULT 'old');",
                                 'invalid input value for enum state: "old"'),
    "enum compared with a missing value": ("CREATE TYPE state AS ENUM ('new'); CREATE TABLE refunds (state state); "
                                           "CREATE INDEX refunds_paid ON refunds (state) WHERE state = 'paid';",
                                           'invalid input value for enum state: "paid"'),
}


@pytest.fixture
def shop(tmp_path):
    """A project with one small module, shop (sql/shop/001_orders.sql); a test adds 002_bad.sql."""
    root = tmp_path / "project" / "sql"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "001_orders.sql").write_text(BASE)
    return root


def on_the_test_server(database) -> dict:
    """Validation on the tests' server, without Pulumi.prod.yaml's skip_extensions (for pgcrypto,
    which these small stacks do not declare)."""
    return validation_config(database, {})


def write_bad(root, statement: str) -> None:
    # the statement is on line 3
    (root / "shop" / "002_bad.sql").write_text(f"-- {statement[:20]}\n\n{statement}\n")


def target_schemas(db) -> set[str]:
    return {r[0] for r in db.execute("SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                                     "AND nspname <> 'information_schema'")}


def scratch_databases(db) -> list[str]:
    return [r[0] for r in db.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                     (f"{scratch.SCRATCH_PREFIX}%",))]


def caret_points_at(message: str, text: str) -> bool:
    """Whether the excerpt in `message` has its caret under the start of `text`."""
    lines = message.splitlines()
    for above, caret in zip(lines, lines[1:], strict=False):
        if caret.strip() == "^":
            return above[caret.index("^"):].startswith(text)
    return False


@pytest.mark.parametrize("case", CASES)
def test_sql_postgresql_rejects_stops_up_before_the_target_database(case, database, db, shop):
    statement, message = CASES[case]
    write_bad(shop, statement)
    before = target_schemas(db)
    engine = EngineDouble(database, stack="dev", sql_root=shop, config=SHOP_STACK)
    with engine, pytest.raises(ValidationFailed, match=rf"^{BAD_FILE}:3: .*{message}") as info:
        engine.up()
    assert engine.state == {}  # no operation ran
    assert "nothing reached the target database" in str(info.value)
    # Without validation, the auth schema, the roles and the shop schema were created first.
    assert target_schemas(db) == before
    assert scratch_databases(db) == []


def test_the_error_shows_where_with_hint_and_caret(database, shop):
    write_bad(shop, "CREATE POLICY p ON orders USING (owner_id = auth.nope());")
    with EngineDouble(database, stack="dev", sql_root=shop, config=SHOP_STACK) as engine, \
            pytest.raises(ValidationFailed) as info:
        engine.preview()
    error = info.value
    assert error.source == f"{BAD_FILE}:3" and error.sqlstate == "42883"
    assert "HINT: No function matches the given name and argument types" in str(error)
    # CREATE POLICY reports no position; validation finds it in the expression
    assert caret_points_at(str(error), "auth.nope()"), str(error)

    write_bad(shop, "CREATE TABLE refunds (amount integer DEFAULT 'abc', reason text);")
    with EngineDouble(database, stack="dev", sql_root=shop, config=SHOP_STACK) as engine, \
            pytest.raises(ValidationFailed) as info:
        engine.preview()
    assert caret_points_at(str(info.value), "'abc'"), str(info.value)
    assert 'CREATE TABLE "shop"."refunds"' in str(info.value)  # the statement as `up` runs it


def test_sample_data_postgresql_rejects_names_its_file_and_line(database, db, tmp_path):
    root = tmp_path / "project" / "sql"
    (root / "shop" / "sample").mkdir(parents=True)
    (root / "shop" / "001_orders.sql").write_text(BASE.replace("total integer", "total integer CHECK (total >= 0)"))
    (root / "shop" / "sample" / "001_orders.sql").write_text(
        "INSERT INTO orders (id, total) VALUES (1, 10) ON CONFLICT DO NOTHING;\n"
        "INSERT INTO orders (id, total) VALUES (2, -1) ON CONFLICT DO NOTHING;\n")
    config = {**SHOP_STACK, "pgstack:modules": json.dumps([{"name": "shop", "schema": "shop", "sample_data": True}])}
    rejected = r'^sql/shop/sample/001_orders\.sql:2: insert into orders: new row for relation "orders" violates check'
    with EngineDouble(database, stack="dev", sql_root=root, config=config) as engine, \
            pytest.raises(ValidationFailed, match=rejected):
        engine.up()
    assert "shop" not in target_schemas(db)


def test_the_whole_dev_stack_is_checked_in_config_order(database, db, tmp_path):
    """A bad policy in the last module of the shipped dev stack: every module before it (auth
    functions, site, tracking, growth with pgvector, crm, analytics with its partitions and
    sample data) was applied to the scratch database first, and nothing to the target."""
    root = tmp_path / "project" / "sql"
    shutil.copytree(PROJECT_DIR / "sql", root)
    funnel = root / "analytics" / "013_funnel_step_match.sql"
    text = funnel.read_text()
    line = text.count("\n") + 2
    funnel.write_text(text + "\nCREATE POLICY p ON funnel_step_match USING (tenant_id = auth.uid());\n")
    before = target_schemas(db)
    rejected = rf"^sql/analytics/013_funnel_step_match\.sql:{line}: create policy p on funnel_step_match: operator"
    with EngineDouble(database, stack="dev", sql_root=root) as engine, pytest.raises(ValidationFailed, match=rejected):
        engine.up()
    assert target_schemas(db) == before


def test_policies_may_call_supabase_auth_functions_on_a_supabase_target(database, shop):
    """On `target: supabase` auth.uid() is Supabase's: the scratch database has compatible
    ones, so policies calling it validate, and a misspelt one does not."""
    write_bad(shop, "CREATE POLICY p ON orders TO authenticated USING (owner_id = (SELECT auth.uid()));")
    config = {**SHOP_STACK, "pgstack:roles": "[]", **on_the_test_server(database)}
    with EngineDouble(database, stack="prod", sql_root=shop, config=config) as engine:
        assert "shop/shop.orders.p" in engine.preview().operations["create"]
        write_bad(shop, "CREATE POLICY p ON orders TO authenticated USING (owner_id = (SELECT auth.user_id()));")
        with pytest.raises(ValidationFailed, match=r"function auth\.user_id\(\) does not exist"):
            engine.preview()


def test_objects_on_a_table_outside_the_stack(database, db, tmp_path, caplog):
    """A table outside the stack (external_tables) is stood in for with the columns the stack's
    foreign keys reference: what the stack adds to it is checked; a column only the target knows
    is noted as not validated, not refused."""
    root = tmp_path / "project" / "sql"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "001_orders.sql").write_text(
        "CREATE TABLE orders (id bigint PRIMARY KEY, lead_id uuid REFERENCES leads (id));\n"
        "ALTER TABLE leads ADD COLUMN shop_note text;\n"
        "CREATE INDEX idx_leads_email ON leads (email);\n")
    config = {"pgstack:modules": json.dumps([{"name": "shop", "schema": "public", "external_tables": ["leads"]}]),
              "pgstack:grants": "[]", "pgstack:roles": "[]", **on_the_test_server(database)}
    with EngineDouble(database, stack="prod", sql_root=root, config=config) as engine, \
            caplog.at_level(logging.WARNING):
        assert "shop/public.idx_leads_email" in engine.preview().operations["create"]
        assert any(re.match(r"sql/shop/001_orders\.sql:3: create index idx_leads_email on leads( \(.*\))?: not validated: "
                            r'column "email" does not exist', r.getMessage()) for r in caplog.records)
        (root / "shop" / "001_orders.sql").write_text(
            "CREATE TABLE orders (id bigint PRIMARY KEY, lead_id uuid REFERENCES leads (id));\n"
            "ALTER TABLE leads ADD COLUMN shop_note integer DEFAULT 'none';\n")
        with pytest.raises(ValidationFailed, match=r"^sql/shop/001_orders\.sql:2: add column leads\.shop_note: "
                                                   r'invalid input syntax for type integer: "none"'):
            engine.preview()


def test_a_pass_is_remembered_and_a_rejection_never(database, tmp_path, caplog, monkeypatch):
    """A run of exactly the statements a run passed (same server, same roles) reports that pass,
    with its warnings, and applies nothing; a rejected statement is applied and refused on every
    run; another statement, or `cache: false`, validates again."""
    applied = []
    real_apply = check.apply
    monkeypatch.setattr(check, "apply", lambda *args: applied.append(1) or real_apply(*args))
    root = tmp_path / "project" / "sql"
    (root / "shop").mkdir(parents=True)
    table = f"orders_{uuid.uuid4().hex[:8]}"  # statements no earlier run (of any session) passed
    (root / "shop" / "001_orders.sql").write_text(
        f"CREATE TABLE {table} (id bigint PRIMARY KEY, lead_id uuid REFERENCES leads (id));\n"
        f"CREATE INDEX {table}_email ON leads (email);\n")
    modules = [{"name": "shop", "schema": "public", "external_tables": ["leads"]}]
    config = {"pgstack:modules": json.dumps(modules), "pgstack:grants": "[]", "pgstack:roles": "[]",
              **on_the_test_server(database)}
    not_validated = rf'sql/shop/001_orders\.sql:2: create index {table}_email on leads.*: not validated'
    with EngineDouble(database, stack="prod", sql_root=root, config=config) as engine, \
            caplog.at_level(logging.INFO):
        for run in range(2):
            caplog.clear()
            assert f"shop/public.{table}" in engine.preview().operations["create"]
            assert any(re.match(not_validated, r.getMessage()) for r in caplog.records), run
            assert ["remembered from an earlier run" in r.getMessage() for r in caplog.records
                    if r.getMessage().startswith("validated ")] == [run == 1]
        assert applied == [1]

        (root / "shop" / "002_bad.sql").write_text(f"CREATE POLICY p ON {table} USING (lead_id = 1);\n")
        for _ in range(2):
            with pytest.raises(ValidationFailed, match=r"operator does not exist: uuid = integer"):
                engine.preview()
        assert applied == [1, 1, 1]
        (root / "shop" / "002_bad.sql").write_text(f"CREATE POLICY p ON {table} USING (lead_id IS NOT NULL);\n")
        engine.preview()
        assert applied == [1, 1, 1, 1]

    validation = {**json.loads(config["pgstack:validation"]), "cache": False}
    config["pgstack:validation"] = json.dumps(validation)
    with EngineDouble(database, stack="prod", sql_root=root, config=config) as engine:
        engine.preview()
        engine.preview()
    assert applied == [1] * 6


def test_off_turns_it_off(database, shop):
    write_bad(shop, "CREATE POLICY p ON orders USING (name = 1);")
    config = {**SHOP_STACK, "pgstack:validation": json.dumps({"mode": "off"})}
    with EngineDouble(database, stack="dev", sql_root=shop, config=config) as engine:
        assert "shop/shop.orders.p" in engine.preview().operations["create"]


def stopped(pid_file: Path) -> bool:
    """Whether the embedded server is stopped, looked at while holding the lock that validation
    runs take turns on: another test process may be validating with it meanwhile."""
    with open(pid_file.parent.parent / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return not pid_file.exists()


def test_embedded_mode_starts_its_own_server_and_stops_it(database, db, shop):
    """The default: a throwaway embedded PostgreSQL, its data cached between runs, stopped after
    each run and its scratch database gone."""
    config = {**SHOP_STACK, "pgstack:validation": json.dumps({"mode": "embedded", "cache": False})}
    pid_file = scratch.cache_folder() / "data" / "postmaster.pid"
    with EngineDouble(database, stack="dev", sql_root=shop, config=config) as engine:
        assert "shop/shop.orders" in engine.preview().operations["create"]
        assert stopped(pid_file)
        write_bad(shop, "CREATE VIEW open_orders AS SELECT * FROM nope;")
        with pytest.raises(ValidationFailed, match=rf"^{BAD_FILE}:3: create or replace view shop\.open_orders: "):
            engine.preview()
        assert stopped(pid_file)


def test_an_unreachable_server_is_a_clear_error(database, shop):
    config = {**SHOP_STACK, "pgstack:validation": json.dumps(
        {"mode": "server", "host": "127.0.0.1", "port": 1, "password": {"secret": "validation_password"}}),
        "pgstack:validation_password": database["password"]}
    unreachable = r"cannot connect to the validation server 127\.0\.0\.1:1 "
    with EngineDouble(database, stack="dev", sql_root=shop, config=config) as engine, \
            pytest.raises(ValidationUnavailable, match=unreachable) as info:
        engine.preview()
    assert database["password"] not in str(info.value)


def test_the_validation_server_needs_rights_to_create_a_database(database, db, shop):
    db.execute("DROP ROLE IF EXISTS validation_nobody")
    db.execute("CREATE ROLE validation_nobody LOGIN PASSWORD 'nobody-pw'")
    try:
        config = {**SHOP_STACK, "pgstack:validation": json.dumps(
            {"mode": "server", "host": database["host"], "port": database["port"], "user": "validation_nobody",
             "sslmode": "disable", "password": {"secret": "validation_password"}}),
            "pgstack:validation_password": "nobody-pw"}
        with EngineDouble(database, stack="dev", sql_root=shop, config=config) as engine, \
                pytest.raises(ValidationUnavailable, match="validation needs a superuser"):
            engine.preview()
    finally:
        db.execute("DROP ROLE validation_nobody")
    assert scratch_databases(db) == []


# --- config ------------------------------------------------------------------------------------

class _Mocks(pulumi.runtime.Mocks):
    def __init__(self):
        self.registered: list[str] = []

    def new_resource(self, args):
        self.registered.append(args.name)
        return f"{args.name}-id", args.inputs

    def call(self, args):
        return {}


def run_program(mocks: _Mocks, config: dict, drop: tuple[str, ...] = ()) -> None:
    """The dev program under mocks, with `config` over Pulumi.dev.yaml and without the `drop`
    keys; `mocks.registered` lists what it declared."""
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project="pgstack", stack="dev", preview=True)
    values = {**stack_file_config("dev"), "pgstack:db_password": "pw", **config}
    values = {k: v for k, v in values.items() if k not in drop}
    pulumi.runtime.set_all_config(values, secret_keys=[k for k in values if k.endswith("password")])

    @pulumi.runtime.test
    def program():
        build()

    program()


BAD_CONFIG = [
    ({"pgstack:safety": '{"statement_timeout": "99999999999h"}'},
     r"pgstack:safety\.statement_timeout: '99999999999h' is longer than PostgreSQL accepts"),
    ({"pgstack:db_port": "70000"}, r"pgstack:db_port: must be a port number from 1 to 65535, not '70000'"),
    ({"pgstack:db_sslmode": "sometimes"}, r"pgstack:db_sslmode: must be one of disable, allow, prefer"),
    ({"pgstack:db_password": ""}, r"pgstack:db_password: is not set"),
    ({"pgstack:safty": "{}"}, r"pgstack:safty: unknown key: did you mean pgstack:safety\?"),
    ({"pgstack:validation": '{"mode": "sometimes"}'},
     r"pgstack:validation\.mode: must be one of embedded, server, off, not 'sometimes'"),
    ({"pgstack:validation": '{"mode": "embedded", "host": "db.example"}'},
     r"pgstack:validation\.host: is only read with mode: server \(mode is embedded\)"),
    ({"pgstack:validation": '{"mode": "server", "prot": 5432}'}, r"pgstack:validation\.prot: unknown key: did you "
                                                                 r"mean port\?"),
    ({"pgstack:validation": '{"mode": "server", "port": 70000}'}, r"pgstack:validation\.port: must be a port number"),
    ({"pgstack:validation": '{"mode": "server", "password": {"secret": "validation_password"}}'},
     r"pgstack:validation_password: holds the password of the validation server \(validation\.password\) and "
     r"is not set"),
    ({"pgstack:validation": '{"mode": "server", "password": "hunter2"}'}, r"pgstack:validation\.password"),
    ({"pgstack:validation": '{"skip_extensions": ["pgcrypt"]}'},
     r"pgstack:validation\.skip_extensions\[0\]: no module declares extension pgcrypt \(declared: pgcrypto, vector\)"),
]


@pytest.mark.parametrize("config, message", BAD_CONFIG)
def test_bad_config_names_the_key_before_any_resource(config, message):
    mocks = _Mocks()
    with pytest.raises(ConfigError, match=message) as info:
        run_program(mocks, config)
    assert mocks.registered == []
    assert "hunter2" not in str(info.value)


def test_a_missing_db_password_names_the_key():
    mocks = _Mocks()
    with pytest.raises(ConfigError, match=r"pgstack:db_password: is not set"):
        run_program(mocks, {"pgstack:validation": '{"mode": "off"}'}, drop=("pgstack:db_password",))
    assert mocks.registered == []


def test_off_unquoted_in_yaml_and_the_password_key_are_read():
    """`mode: off` unquoted in a stack file is YAML 1.1's false; the secret key the password
    comes from is not an unknown key."""
    raw = yaml.safe_load("mode: off")
    config = {"modules": json.dumps([{"name": "shop", "schema": "shop"}]), "validation": json.dumps(raw)}
    assert read_settings(config.get).validation.mode == "off"
    config["validation"] = json.dumps({"mode": "server", "password": {"secret": "scratch_pw"}})
    settings = read_settings(config.get, ["pgstack:modules", "pgstack:validation", "pgstack:scratch_pw"])
    assert settings.validation.password_key == "scratch_pw"


def test_what_is_remembered_is_tied_to_the_validations_own_code(tmp_path, monkeypatch):
    """A checkout whose validation code changed (a new check) does not reuse what the older code
    passed, whatever the package's version says: the key holds the SHA-256 of that code."""
    package = Path(remembered.__file__).parent
    same, edited = tmp_path / "same", tmp_path / "edited"
    for copy in (same, edited):
        shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (edited / "check.py").write_text((edited / "check.py").read_text() + "\n# a new check\n")
    assert remembered.code_digest(same) == remembered.code_digest(package) != remembered.code_digest(edited)

    validation = Validation()
    key = remembered.digest([], ["anon"], "owner", [], validation, ["18.0"])
    assert key == remembered.digest([], ["anon"], "owner", [], validation, ["18.0"])
    edited_code = remembered.code_digest(edited)
    monkeypatch.setattr(remembered, "code_digest", lambda: edited_code)
    assert remembered.digest([], ["anon"], "owner", [], validation, ["18.0"]) != key

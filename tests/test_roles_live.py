"""Roles and grants, live: the dev and prod stacks applied through the engine stand-in (once
each for this module; every test works on its own copy of the database), then each role
connects (or is switched to, the way Supabase's authenticator does) and is refused what its
grants do not allow."""

import json
import uuid
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import errors

from components.model.declared import DeclaredTables
from components.model.parser import parse_module
from components.supabase import AUTH_SQL_DIR
from tests.support.databases import drop_database, new_database
from tests.support.engine import EngineDouble, stack_file_config

TRACKING = ("visitors", "conversions", "conversion_queue", "tracking_events")


def password_of(engine: EngineDouble, role: str) -> str:
    """The generated password, from the stack state (where it is a secret)."""
    return next(e.outputs["result"] for e in engine.state.values() if e.name == f"{role}-password")


def connect(database: dict, user: str, password: str) -> psycopg.Connection:
    return psycopg.connect(**dict(database, user=user, password=password), autocommit=True)


def as_role(conn: psycopg.Connection, role: str, claims: dict | None = None) -> psycopg.Connection:
    """What PostgREST does per request: SET ROLE, and the JWT claims as a setting."""
    conn.execute(f"SET ROLE {role}")  # role names here are fixed test literals
    conn.execute("SELECT set_config('request.jwt.claims', %s, false)", (json.dumps(claims) if claims else "",))
    return conn


def seed_rows(db) -> None:
    visitor = db.execute("INSERT INTO visitors (visitor_id) VALUES ('v1') RETURNING id").fetchone()[0]
    lead = db.execute("INSERT INTO leads (email, visitor_id) VALUES ('a@b.c', %s) RETURNING id", (visitor,)).fetchone()[0]
    conversion = db.execute(
        "INSERT INTO conversions (lead_id, crm_deal_id, conversion_type, idempotency_key, converted_at) "
        "VALUES (%s, 'd1', 'qualified', 'd1:qualified', now()) RETURNING id", (lead,)).fetchone()[0]
    db.execute("INSERT INTO conversion_queue (conversion_id) VALUES (%s)", (conversion,))
    db.execute("INSERT INTO tracking_events (visitor_id, event_name) VALUES (%s, 'page_view')", (visitor,))


@dataclass(frozen=True)
class Deployed:
    template: str  # the database the stack was applied to and seeded, copied for each test
    engine: EngineDouble  # its engine stand-in, closed after the `up`: its state and config


@pytest.fixture(scope="module")
def dev_deployed(pg_server):
    """The dev stack up once for this module, with one row in each tracking table.

    Not conftest's session-wide dev stack: roles are cluster-wide, and another test's `up` of a
    stack declaring them (another state) generates new passwords for them, so the passwords in
    this state hold only until the next such `up`. None runs while this module's tests do."""
    database = new_database(pg_server)
    with EngineDouble(database, stack="dev") as engine:
        engine.up()
    with psycopg.connect(**database, autocommit=True) as db:
        seed_rows(db)
    yield Deployed(database["dbname"], engine)
    drop_database(pg_server, database)


@pytest.fixture
def database(request, copy_of):
    """This test's copy of the stack it uses (`dev` or `prod`), deployed and seeded; conftest's
    `db` connects to it."""
    stack = "prod" if "prod" in request.fixturenames else "dev"
    return copy_of(request.getfixturevalue(f"{stack}_deployed").template)


@pytest.fixture
def dev(dev_deployed, database):
    """The dev stack's engine stand-in (its state and config), the test's `database` a copy of its database."""
    return dev_deployed.engine


def test_dev_roles_attributes_and_ownership(dev, db):
    roles = {r[0]: r[1:] for r in db.execute(
        "SELECT rolname, rolcanlogin, rolinherit, rolbypassrls, rolconnlimit FROM pg_roles "
        "WHERE rolname IN ('anon', 'authenticated', 'service_role', 'authenticator', 'developer', 'pgstack_owner')")}
    assert roles == {
        "anon": (False, True, False, -1), "authenticated": (False, True, False, -1),
        "service_role": (False, True, True, -1), "authenticator": (True, False, False, -1),
        "developer": (True, True, False, 10), "pgstack_owner": (False, True, False, -1),
    }
    members = set(db.execute(
        "SELECT m.rolname, g.rolname FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member "
        "JOIN pg_roles g ON g.oid = a.roleid WHERE g.rolname IN "
        "('anon', 'authenticated', 'service_role', 'pgstack_owner')").fetchall())
    assert members == {("authenticator", "anon"), ("authenticator", "authenticated"),
                       ("authenticator", "service_role"), ("developer", "anon"), ("developer", "authenticated"),
                       ("developer", "service_role"), ("postgres", "pgstack_owner")}
    owners = set(db.execute(
        "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
        "AND relkind IN ('r', 'i')").fetchall())
    assert owners == {("pgstack_owner",)}
    assert set(db.execute("SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE pronamespace = 'auth'::regnamespace")) \
        == {("pgstack_owner",)}
    assert db.execute("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'auth'").fetchone()[0] \
        == "pgstack_owner"


def test_anon_gets_nothing_on_tracking(dev, database, db):
    with connect(database, "authenticator", password_of(dev, "authenticator")) as conn:
        as_role(conn, "anon")
        for table in TRACKING:
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(f"SELECT count(*) FROM {table}")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("INSERT INTO visitors (visitor_id) VALUES ('anon-write')")
        # Even where anon were granted SELECT (as Supabase's defaults do for tables made in the
        # dashboard), RLS with no policy for it would still show no row.
        db.execute("GRANT SELECT ON visitors TO anon")
        assert conn.execute("SELECT count(*) FROM visitors").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM visitors WHERE visitor_id = 'anon-write'").fetchone()[0] == 0


def test_service_role_reads_and_writes_everything(dev, database):
    with connect(database, "authenticator", password_of(dev, "authenticator")) as conn:
        as_role(conn, "service_role")
        for table in TRACKING + ("leads",):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 1, table
        conn.execute("INSERT INTO visitors (visitor_id) VALUES ('v2')")
        conn.execute("UPDATE visitors SET gclid = 'g' WHERE visitor_id = 'v2'")
        conn.execute("DELETE FROM visitors WHERE visitor_id = 'v2'")
        with pytest.raises(errors.InsufficientPrivilege):  # no TRUNCATE granted
            conn.execute("TRUNCATE tracking_events")


def test_authenticated_has_no_grant_on_tracking_and_authenticator_none_of_its_own(dev, database):
    with connect(database, "authenticator", password_of(dev, "authenticator")) as conn:
        with pytest.raises(errors.InsufficientPrivilege):  # NOINHERIT: nothing until SET ROLE
            conn.execute("SELECT count(*) FROM visitors")
        as_role(conn, "authenticated", {"sub": str(uuid.uuid4()), "role": "authenticated"})
        for table in TRACKING:
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(f"SELECT count(*) FROM {table}")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SET ROLE pgstack_owner")


def test_auth_functions_read_the_jwt_claims(dev, database):
    user = uuid.uuid4()
    with connect(database, "authenticator", password_of(dev, "authenticator")) as conn:
        as_role(conn, "authenticated", {"sub": str(user), "role": "authenticated", "tenant_id": 7})
        assert conn.execute("SELECT auth.uid(), auth.role(), auth.jwt() ->> 'tenant_id'").fetchone() == \
            (user, "authenticated", "7")
        as_role(conn, "anon")  # no claims at all
        assert conn.execute("SELECT auth.uid(), auth.role(), auth.jwt()").fetchone() == (None, None, None)


def test_developer_has_its_grants_and_nothing_more(dev, database, db):
    with connect(database, "developer", password_of(dev, "developer")) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "1min"
        # Every table privilege, but no BYPASSRLS: RLS with no policy shows it no row ...
        assert conn.execute("SELECT count(*) FROM visitors").fetchone()[0] == 0
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO visitors (visitor_id) VALUES ('dev-write')")
        # ... until it deliberately acts as service_role, which it is a member of.
        conn.execute("SET ROLE service_role")
        assert conn.execute("SELECT count(*) FROM visitors").fetchone()[0] == 1
        conn.execute("RESET ROLE")
        # Not the owner: no DDL, no switching to the owner, nothing created in the schema.
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE visitors DISABLE ROW LEVEL SECURITY")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("DROP TABLE tracking_events")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SET ROLE pgstack_owner")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE scratch (id int)")
    assert db.execute("SELECT relrowsecurity FROM pg_class WHERE relname = 'visitors'").fetchone()[0] is True


def test_a_table_added_later_gets_the_default_privileges(dev, db, database):
    # Default privileges are declared for objects the owner creates, as the provider does.
    db.execute("SET ROLE pgstack_owner")
    db.execute("CREATE TABLE later (id int)")
    db.execute("RESET ROLE")
    privileges = set(db.execute(
        "SELECT grantee, privilege_type FROM information_schema.role_table_grants WHERE table_name = 'later' "
        "AND grantee <> 'pgstack_owner'").fetchall())
    assert {("service_role", p) for p in ("SELECT", "INSERT", "UPDATE", "DELETE")} <= privileges
    assert ("developer", "TRUNCATE") in privileges
    assert not any(grantee in ("anon", "authenticated") for grantee, _ in privileges)


# --- prod: Supabase's roles exist, the site's leads table exists, the analyst is read-only ----

@pytest.fixture(scope="module")
def prod_deployed(pg_server):
    """The prod stack up once for this module on a database prepared like a Supabase project:
    API roles, auth.uid() and schema extensions exist, and the site's leads table exists, owned by the connecting
    user. Then one row in each tracking table."""
    database = new_database(pg_server)
    with psycopg.connect(**database, autocommit=True) as db:
        for role, extra in (("anon", ""), ("authenticated", ""), ("service_role", " BYPASSRLS")):
            db.execute(f"DO $$ BEGIN CREATE ROLE {role} NOLOGIN{extra}; "
                       "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        db.execute("CREATE SCHEMA auth")
        # Supabase keeps extensions there; the prod stack installs its own there too.
        db.execute("CREATE SCHEMA extensions")
        db.execute("GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role")
        for function in parse_module("auth", "auth", AUTH_SQL_DIR, DeclaredTables()).functions:
            db.execute(function.definition)
        db.execute("GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role")
        db.execute("CREATE TABLE leads (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text NOT NULL)")
    # The embedded PostgreSQL has no pgcrypto (Supabase has): leave it out here, as dev does.
    modules = json.loads(stack_file_config("prod")["pgstack:modules"])
    for module in modules:
        if module["name"] == "analytics":
            module["skip_extensions"] = ["pgcrypto"]
    config = {"pgstack:analyst_password": "analyst-" + uuid.uuid4().hex, "pgstack:modules": json.dumps(modules)}
    with EngineDouble(database, stack="prod", config=config) as engine:
        engine.up()
    with psycopg.connect(**database, autocommit=True) as db:
        seed_rows(db)
    yield Deployed(database["dbname"], engine)
    drop_database(pg_server, database)


@pytest.fixture
def prod(prod_deployed, database):
    """The prod stack's engine stand-in (its state and config), the test's `database` a copy of its database."""
    return prod_deployed.engine


def test_prod_declares_no_supabase_role_and_keeps_the_site_table(prod, db):
    assert not any(e.type.endswith("role:Role") and e.name in ("anon", "authenticated", "service_role", "authenticator")
                   for e in prod.state.values())
    assert not any(e.name.startswith("supabase_auth/") for e in prod.state.values())
    owner = dict(db.execute("SELECT relname, pg_get_userbyid(relowner) FROM pg_class "
                            "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'").fetchall())
    assert owner == {"leads": "postgres", **{t: "pgstack_owner" for t in TRACKING}}


def test_prod_analyst_reads_under_rls_and_writes_nothing(prod, database):
    password = prod.config["pgstack:analyst_password"]
    with connect(database, "analyst", password) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "30s"
        for table in TRACKING:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table  # RLS applies
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("INSERT INTO visitors (visitor_id) VALUES ('x')")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("DELETE FROM tracking_events")
        with pytest.raises(errors.InsufficientPrivilege):  # the site's own table: not granted
            conn.execute("SELECT count(*) FROM leads")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SET ROLE service_role")

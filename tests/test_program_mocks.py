"""The dev and prod programs under Pulumi's mock monitor: which resources they declare, with
which parents and dependencies. No database is touched.

Each program runs once per session (conftest's `declared`) for the tests that only read what it
declares; a test that changes the config runs its own (tests/support/program.py)."""

import json

import pytest

from components.settings import ConfigError
from tests.support.program import CONFIG_SECRET, GENERATED, EchoMocks, RecordingMonitor, of_type, run_program

TRACKING_TABLES = {"visitors", "conversions", "conversion_queue", "tracking_events", "leads"}
TRACKING_INDEXES = {"idx_visitors_gclid", "idx_leads_visitor_id", "idx_conversions_lead_id",
                    "idx_conversions_type_converted_at", "idx_queue_status_next_retry",
                    "idx_tracking_events_visitor_occurred", "idx_tracking_events_name_occurred"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_tracking_declared_once_under_its_module(declared, stack):
    monitor = declared(stack)
    module = next(r for r in monitor.registrations if r["type"] == "pgstack:index:SchemaModule" and r["name"] == "tracking")
    tables = [r for r in of_type(monitor, ":Table") if r["name"].startswith("tracking/")]
    indexes = [r for r in of_type(monitor, ":Index") if r["name"].startswith("tracking/")]

    assert sorted(r["inputs"]["name"] for r in tables) == sorted(TRACKING_TABLES)
    assert sorted(r["inputs"]["name"] for r in indexes) == sorted(TRACKING_INDEXES)
    for resource in tables + indexes:
        assert resource["parent"] == module["urn"]
    for table in tables:
        if table["inputs"]["name"] == "leads":
            assert table["inputs"]["managed"] == "columns"
            assert "rls_enabled" not in table["inputs"]  # the module does not own leads' RLS
        else:
            assert table["inputs"]["managed"] == "table"
            assert table["inputs"]["rls_enabled"] is True
    # deny-all: no policy lets anon (or anyone) in
    assert [r for r in of_type(monitor, ":Policy") if r["name"].startswith("tracking/")] == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_data_dependencies(declared, stack):
    monitor = declared(stack)
    urn = {r["name"]: r["urn"] for r in monitor.registrations}
    for index in of_type(monitor, ":Index"):
        if not index["name"].startswith("tracking/"):
            continue
        table = f"tracking/public.{index['inputs']['table']}"
        assert urn[table] in index["dependencies"], index["name"]
    conversions = next(r for r in monitor.registrations if r["name"] == "tracking/public.conversions")
    queue = next(r for r in monitor.registrations if r["name"] == "tracking/public.conversion_queue")
    events = next(r for r in monitor.registrations if r["name"] == "tracking/public.tracking_events")
    assert urn["tracking/public.conversions"] in queue["dependencies"]
    assert urn["tracking/public.visitors"] in events["dependencies"]
    leads_extension = next(r for r in monitor.registrations if r["name"] == "tracking/public.leads")
    assert urn["tracking/public.visitors"] in leads_extension["dependencies"]
    if stack == "dev":  # the dev stand-in for leads is created first, then extended and referenced
        assert urn["site/public.leads"] in leads_extension["dependencies"]
        assert urn["tracking/public.leads"] in conversions["dependencies"]
    else:  # prod: leads exists outside the stack
        assert not any(r["name"].startswith("site/") for r in monitor.registrations)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_password_in_plain_inputs_or_outputs(declared, stack):
    monitor = declared(stack)
    passwords = (CONFIG_SECRET, GENERATED)
    for resource in monitor.registrations:
        for key, value in resource["inputs"].items():
            if any(p in str(value) for p in passwords):
                assert key in resource["secret_inputs"], (resource["name"], key)
    roles = {r["inputs"]["name"]: r for r in of_type(monitor, "role:Role")}
    for role in roles.values():
        if role["inputs"].get("login"):
            assert "password" in role["secret_inputs"], role["name"]
    value, secret = monitor.exports["role_passwords"]
    assert secret and set(value) == ({"authenticator", "developer"} if stack == "dev" else {"analyst"})
    for name, (value, secret) in monitor.exports.items():
        assert secret or not any(p in str(value) for p in passwords), name
    provider = next(r for r in monitor.registrations if r["type"] == "pulumi:providers:postgresql")
    assert provider["inputs"]["sslmode"] == ("disable" if stack == "dev" else "require")
    assert "password" in provider["secret_inputs"]


def _roles(monitor) -> dict:
    return {r["inputs"]["name"]: {k: v for k, v in r["inputs"].items() if k not in ("name", "password")}
            for r in of_type(monitor, "role:Role")}


def _memberships(monitor) -> set:
    return {(r["inputs"]["role"], r["inputs"]["grantRole"]) for r in of_type(monitor, "grantRole:GrantRole")}


def _grants(monitor, schemas=("public", "auth")) -> set:
    """(role, object type, schema, objects, privileges): a module's grants of one role on its
    tables or functions, which the program declares one per object, seen together."""
    grouped: dict[tuple, set] = {}
    for r in of_type(monitor, "grant:Grant"):
        inputs = r["inputs"]
        if inputs["schema"] not in schemas:
            continue
        objects = inputs.get("objects", ())
        if inputs["objectType"] in ("table", "function") and inputs["role"] != "pgstack_owner":
            assert len(objects) == 1, f"{r['name']}: one Grant per object, so adding one replaces none"
        group = (r["name"].split(":")[0], inputs["role"], inputs["objectType"], inputs["schema"],
                 tuple(inputs["privileges"]))
        grouped.setdefault(group, set()).update(objects)
    return {(role, kind, schema, tuple(sorted(objects)), privileges)
            for (_, role, kind, schema, privileges), objects in grouped.items()}


def _default_privileges(monitor, schemas=("public", "auth")) -> set:
    return {(r["inputs"]["owner"], r["inputs"]["role"], r["inputs"]["schema"], r["inputs"]["objectType"],
             tuple(r["inputs"]["privileges"])) for r in of_type(monitor, "defaultPrivileges:DefaultPrivileges")
            if r["inputs"]["schema"] in schemas}


# `[all]` on tables: every privilege but TRIGGER (settings/access.py ALL).
ALL_TABLE = ("DELETE", "INSERT", "REFERENCES", "SELECT", "TRUNCATE", "UPDATE")
WRITE = ("DELETE", "INSERT", "SELECT", "UPDATE")
TRACKING_OWNED = tuple(sorted(TRACKING_TABLES - {"leads"}))


def test_dev_roles_memberships_and_grants(declared):
    monitor = declared("dev")
    assert _roles(monitor) == {
        "pgstack_owner": {"login": False},
        "anon": {"login": False}, "authenticated": {"login": False},
        "service_role": {"login": False, "bypassRowLevelSecurity": True},
        "authenticator": {"login": True, "inherit": False},
        "developer": {"login": True, "connectionLimit": 10.0, "statementTimeout": 60000.0},
    }
    assert _memberships(monitor) == {
        ("postgres", "pgstack_owner"),
        ("authenticator", "anon"), ("authenticator", "authenticated"), ("authenticator", "service_role"),
        ("developer", "anon"), ("developer", "authenticated"), ("developer", "service_role"),
    }
    assert _grants(monitor) == {
        ("pgstack_owner", "schema", "public", (), ("CREATE", "USAGE")),
        *{(role, "schema", "auth", (), ("USAGE",)) for role in ("anon", "authenticated", "service_role")},
        *{(role, "function", "auth", ("jwt", "role", "uid"), ("EXECUTE",))
          for role in ("anon", "authenticated", "service_role")},
        ("service_role", "schema", "public", (), ("USAGE",)),
        ("service_role", "table", "public", ("leads",), WRITE),
        ("service_role", "table", "public", TRACKING_OWNED, WRITE),
        ("developer", "schema", "public", (), ("USAGE",)),
        ("developer", "sequence", "public", (), ("SELECT", "UPDATE", "USAGE")),
        ("developer", "table", "public", ("leads",), ALL_TABLE),
        ("developer", "table", "public", TRACKING_OWNED, ALL_TABLE),
    }
    assert _default_privileges(monitor) == {
        *{("pgstack_owner", role, "auth", "function", ("EXECUTE",)) for role in ("anon", "authenticated", "service_role")},
        ("pgstack_owner", "service_role", "public", "table", WRITE),
        ("pgstack_owner", "developer", "public", "table", ALL_TABLE),
        ("pgstack_owner", "developer", "public", "sequence", ("SELECT", "UPDATE", "USAGE")),
    }
    # anon gets nothing on the tracking module.
    assert not any(g[0] == "anon" and g[2] == "public" for g in _grants(monitor) | _default_privileges(monitor))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_tenant_modules_are_granted_to_authenticated_and_never_to_anon(declared, stack):
    monitor = declared(stack)
    for schema in ("growth", "crm"):
        tables = sorted(r["inputs"]["name"] for r in of_type(monitor, ":Table") if r["inputs"]["schema"] == schema)
        grants = _grants(monitor, (schema,))
        for role in ("authenticated", "service_role"):
            assert (role, "table", schema, tuple(tables), WRITE) in grants
            assert (role, "schema", schema, (), ("USAGE",)) in grants
        assert not any(g[0] == "anon" for g in grants | _default_privileges(monitor, (schema,)))


def test_prod_roles_memberships_and_grants(declared):
    monitor = declared("prod")
    assert ("pgstack_owner", "schema", "extensions", (), ("USAGE",)) in _grants(monitor, ("extensions",))
    # Supabase's roles exist there: none is declared, only referred to.
    assert _roles(monitor) == {
        "pgstack_owner": {"login": False},
        "analyst": {"login": True, "connectionLimit": 5.0, "statementTimeout": 30000.0},
    }
    assert next(r for r in of_type(monitor, "role:Role") if r["name"] == "pgstack_owner")["protect"] is True
    assert _memberships(monitor) == {("postgres", "pgstack_owner")}
    assert not [r for r in monitor.registrations if r["type"].startswith("random:")]
    assert _grants(monitor) == {
        ("pgstack_owner", "schema", "public", (), ("CREATE", "USAGE")),
        ("pgstack_owner", "table", "public", ("leads",), ("REFERENCES",)),  # the site's table, outside the stack
        ("service_role", "schema", "public", (), ("USAGE",)),
        ("service_role", "table", "public", TRACKING_OWNED, WRITE),
        ("analyst", "schema", "public", (), ("USAGE",)),
        ("analyst", "table", "public", TRACKING_OWNED, ("SELECT",)),
    }
    assert _default_privileges(monitor) == {
        ("pgstack_owner", "service_role", "public", "table", WRITE),
        ("pgstack_owner", "analyst", "public", "table", ("SELECT",)),
    }
    assert not any(r["name"].startswith("supabase_auth/") for r in monitor.registrations)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_objects_are_created_as_the_owner_role(declared, stack):
    monitor = declared(stack)
    for resource in monitor.registrations:
        if not resource["type"].startswith("pulumi-python:dynamic/"):
            continue
        if resource["type"].endswith(":Policy"):  # no owner; created as the connecting user
            assert "owner" not in resource["inputs"], resource["name"]
            continue
        on_site_table = resource["inputs"].get("table") == "leads" or resource["inputs"].get("name") == "leads"
        if stack == "prod" and on_site_table:
            assert "owner" not in resource["inputs"], resource["name"]  # leads belongs to the site
        else:
            assert resource["inputs"]["owner"] == "pgstack_owner", resource["name"]
    urn = {r["name"]: r["urn"] for r in monitor.registrations}
    visitors = next(r for r in monitor.registrations if r["name"] == "tracking/public.visitors")
    assert urn["pgstack_owner"] in visitors["dependencies"]


DEVELOPER = '{"name": "developer", "login": true, "password": "generate"}'
BAD_CONFIG = [
    ({"pgstack:grants": '[{"module": "tracking", "role": "analyts", "tables": ["select"]}]'},
     r"pgstack:grants\[0\]\.role: unknown role 'analyts'"),
    ({"pgstack:grants": '[{"module": "trackin", "role": "developer", "tables": ["select"]}]'},
     r"pgstack:grants\[0\]\.module: unknown module 'trackin'"),
    ({"pgstack:grants": '[{"module": "tracking", "role": "developer", "tables": ["select", "execute"]}]'},
     r"pgstack:grants\[0\]\.tables\[1\]: privilege 'execute' does not exist for tables"),
    ({"pgstack:grants": '[{"module": "tracking", "role": "developer", "schema": ["select"]}]'},
     r"pgstack:grants\[0\]\.schema\[0\]: privilege 'select' does not exist for schema"),
    # TRIGGER lets the grantee run code as whoever writes the table: only with a written reason.
    ({"pgstack:grants": '[{"module": "tracking", "role": "developer", "tables": ["select", "trigger"]}]'},
     r"pgstack:grants\[0\]\.tables: TRIGGER lets developer attach its own functions .* add `trigger_reason: "),
    ({"pgstack:grants": '[{"module": "tracking", "role": "developer", "tables": ["trigger"], "trigger_reason": " "}]'},
     r"pgstack:grants\[0\]\.trigger_reason: must say why developer needs TRIGGER"),
    ({"pgstack:grants": '[{"module": "tracking", "role": "developer", "tables": ["all"], "trigger_reason": "audit"}]'},
     r"pgstack:grants\[0\]\.trigger_reason: is only read with `trigger` in tables"),
    ({"pgstack:roles": '[{"name": "app", "login": true}]'},
     r"pgstack:roles\[0\]\.password: login role app needs a password"),
    ({"pgstack:roles": f'[{DEVELOPER}, {{"name": "app", "login": true, "password": {{"secret": "app_password"}}}}]'},
     r"pgstack:app_password: holds the password of role app \(roles\[1\]\.password\) and is not set"),
    ({"pgstack:roles": '[{"name": "app", "member_of": ["pgstack_owner"]}]'},
     r"pgstack:roles\[0\]\.member_of\[0\]: no role may be a member of the owner role"),
    ({"pgstack:roles": '[{"name": "app", "bypassrls": true}]'},
     r"pgstack:roles\[0\]\.bypassrls: unknown key .* only service_role does"),
    ({"pgstack:roles": '[{"name": "service_role"}]'}, r"pgstack:roles\[0\]\.name: service_role is managed"),
    ({"pgstack:roles": '[{"name": "app", "statement_timeout": "soon"}]'}, r"pgstack:roles\[0\]\.statement_timeout"),
]


@pytest.mark.parametrize("config, message", BAD_CONFIG)
def test_bad_access_config_fails_before_any_resource(config, message):
    monitor = RecordingMonitor(EchoMocks())
    with pytest.raises(ConfigError, match=message):
        run_program("dev", config, monitor)
    assert monitor.registrations == []


@pytest.mark.parametrize("stack, schema", [("dev", None), ("prod", "extensions")])
def test_extensions_go_where_the_target_keeps_them(stack, schema):
    """On Supabase in schema `extensions` (its linter's extension_in_public), where the owner gets
    USAGE (test_prod_roles_memberships_and_grants); on plain PostgreSQL where PostgreSQL puts them."""
    extensions = {r["inputs"]["name"]: r["inputs"].get("schema") for r in of_type(run_program(stack), ":Extension")}
    assert extensions == {"vector": schema, "pgcrypto": schema} if stack == "prod" else {"vector": None}


def test_trigger_is_granted_only_by_name_and_with_a_reason():
    grants = '[{"module": "tracking", "role": "developer", "schema": ["usage"], "tables": ["select", "trigger"], ' \
             '"trigger_reason": "the audit tool attaches its own triggers"}]'
    monitor = run_program("dev", {"pgstack:grants": grants})
    assert ("developer", "table", "public", TRACKING_OWNED, ("SELECT", "TRIGGER")) in _grants(monitor)
    assert ("pgstack_owner", "developer", "public", "table", ("SELECT", "TRIGGER")) in _default_privileges(monitor)


def test_bad_config_names_the_key():
    with pytest.raises(ConfigError, match=r"pgstack:modules\[0\]\.schema"):
        run_program("dev", {"pgstack:modules": '[{"name": "tracking", "schema": "Bad Name"}]'})
    with pytest.raises(ConfigError, match=r"pgstack:safety\.allow_data_los"):
        run_program("dev", {"pgstack:safety": '{"allow_data_los": true}'})


def test_growth_retention_is_exported_for_a_deletion_job(declared):
    monitor = declared("dev")
    retention, secret = monitor.exports["retention"]
    assert not secret
    assert retention["growth"]["seo_rankings"] == {"column": "tracked_at", "keep": "365 days"}
    assert retention["growth"]["knowledge_base"] == {"column": None, "keep": None}


ENUM_MODULES = {
    "base": {"001_types.sql": "CREATE TYPE tier AS ENUM ('free', 'paid');\n"},
    "shop": {"001_types.sql": "CREATE TYPE state AS ENUM ('new', 'done');\n",
             "002_orders.sql": "CREATE TABLE orders (id integer PRIMARY KEY, tier tier, state state);\n"
                               "CREATE INDEX orders_state ON orders (state);\n"
                               "CREATE FUNCTION is_done(s state) RETURNS boolean LANGUAGE sql AS $$ SELECT s = 'done' $$;\n"},
    "more": {"001_extra.sql": "ALTER TABLE shop.orders ADD COLUMN paid_tier tier;\n"},
}


def test_objects_wait_for_the_enum_types_they_may_use(tmp_path):
    """Every object of a module waits for the module's enums; a table also for the enums of an
    earlier module its columns use (here one in public, which the search path finds)."""
    for module, files in ENUM_MODULES.items():
        (tmp_path / "sql" / module).mkdir(parents=True)
        for name, text in files.items():
            (tmp_path / "sql" / module / name).write_text(text)
    modules = [{"name": "base", "schema": "public"}, {"name": "shop", "schema": "shop"},
               {"name": "more", "schema": "shop", "create_schema": False}]
    monitor = run_program("dev", {"pgstack:modules": json.dumps(modules), "pgstack:grants": "[]"},
                          sql_root=tmp_path / "sql")
    urn = {r["name"]: r["urn"] for r in monitor.registrations}
    enums = {r["name"]: r["inputs"] for r in of_type(monitor, ":Enum")}
    assert enums.keys() == {"base/public.tier", "shop/shop.state"}
    assert {k: v for k, v in enums["shop/shop.state"].items() if k != "__provider"} == {
        "schema": "shop", "name": "state", "source": "sql/shop/001_types.sql:1", "values": ["new", "done"],
        "owner": "pgstack_owner"}
    depends = {r["name"]: r["dependencies"] for r in monitor.registrations}
    assert {urn["base/public.tier"], urn["shop/shop.state"]} <= depends["shop/shop.orders"]
    assert urn["shop/shop.state"] in depends["shop/shop.is_done(state)"]
    assert urn["base/public.tier"] in depends["more/shop.orders"]
    table = next(r for r in of_type(monitor, ":Table") if r["name"] == "shop/shop.orders")
    assert [c["type"] for c in table["inputs"]["columns"]] == ["integer", "tier", "state"]


VIEW_MODULES = {
    "scratch": {"001_t.sql": "CREATE TABLE t (id integer PRIMARY KEY);\nCREATE VIEW v AS SELECT id FROM t;\n"},
    "report": {"001_views.sql": "CREATE VIEW over_t AS SELECT id FROM scratch.t;\n"
                                "CREATE VIEW over_v AS SELECT id FROM scratch.v;\n"},
}


def test_a_view_waits_for_the_tables_and_views_of_earlier_modules_it_reads(tmp_path):
    """Issue 10 item 7: a view over an earlier module's table failed with `relation "scratch.t"
    does not exist`: it had no dependency on that table's resource, so the engine could create it
    first."""
    for module, files in VIEW_MODULES.items():
        (tmp_path / "sql" / module).mkdir(parents=True)
        for name, text in files.items():
            (tmp_path / "sql" / module / name).write_text(text)
    modules = [{"name": "scratch", "schema": "scratch"}, {"name": "report", "schema": "report"}]
    monitor = run_program("dev", {"pgstack:modules": json.dumps(modules), "pgstack:grants": "[]"},
                          sql_root=tmp_path / "sql")
    urn = {r["name"]: r["urn"] for r in monitor.registrations}
    depends = {r["name"]: r["dependencies"] for r in monitor.registrations}
    assert urn["scratch/scratch.t"] in depends["report/report.over_t"]
    assert urn["scratch/scratch.v"] in depends["report/report.over_v"]
    assert urn["scratch/scratch.t"] in depends["scratch/scratch.v"]
    views = {r["name"]: r["inputs"]["definition"] for r in of_type(monitor, ":View")}
    assert all("WITH (security_invoker = true)" in d for d in views.values()), views


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_schemas_and_extensions_wait_for_the_deployers_membership_in_the_owner(declared, stack):
    """Issue 10 item 7: where the deploying user is no superuser (Supabase's postgres),
    `ALTER SCHEMA ... OWNER TO pgstack_owner` needs its membership in the owner first."""
    monitor = declared(stack)
    membership = next(r["urn"] for r in of_type(monitor, "grantRole:GrantRole")
                      if r["inputs"]["grantRole"] == "pgstack_owner")
    schemas = of_type(monitor, "schema:Schema") + of_type(monitor, "extension:Extension")
    assert schemas
    assert all(membership in r["dependencies"] for r in schemas), [r["name"] for r in schemas]

"""The access matrix (components/review) from the programs' declared resources, under mocks: the
shipped stacks, PostgreSQL's rules on a stack made for them, edits that widen, narrow and remove
access, and `python -m components.review access-diff` between git revisions, word for word.

That the matrix is what PostgreSQL enforces is proved live in test_access_matrix_live.py."""

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import yaml
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime.proto import source_pb2

from components.review.access import COMMANDS, Cell, access_matrix
from components.review.record import Declared, record
from components.review.report import describe, diff, render_diff, render_matrix
from tests.support.review import PROJECT_DIR, project_copy, shipped
from tests.support.zygote import run_command

SHOP = "shop_domain = (SELECT current_setting('app.current_shop', TRUE))"
CLIENT = "client_id = (SELECT CAST(NULLIF(current_setting('app.current_client_id', TRUE), '') AS uuid))"
TENANT = "tenant_id = (SELECT CAST(NULLIF(auth.jwt() ->> 'tenant_id', '') AS bigint))"
WRITES = ("SELECT", "INSERT", "UPDATE", "DELETE")


@pytest.fixture(scope="module")
def dev():
    return access_matrix("dev", list(shipped("dev")))


@pytest.fixture(scope="module")
def prod():
    return access_matrix("prod", list(shipped("prod")))


def cells(matrix, relation: str, role: str) -> dict[str, str]:
    return {command: describe(matrix.cell(relation, role, command)) for command in COMMANDS}


# --- the shipped stacks ------------------------------------------------------------------------

def test_dev_roles_and_relations(dev):
    assert dev.roles == ("anon", "authenticated", "service_role", "authenticator", "developer")
    relations = [r.qualified for r in dev.relations]
    assert len(relations) == 38 and "public.leads" in relations  # dev's stand-in for the site's table
    assert not any(r.startswith("analytics.event_") for r in relations)  # partitions: through their table


def test_prod_roles_and_relations(prod):
    assert prod.roles == ("anon", "authenticated", "service_role", "authenticator", "analyst")
    assert len(prod.relations) == 37 and "public.leads" not in [r.qualified for r in prod.relations]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_anon_and_authenticator_are_denied_everything(stack, dev, prod):
    matrix = dev if stack == "dev" else prod
    for relation in matrix.relations:
        for role in ("anon", "authenticator"):  # authenticator is NOINHERIT: only after SET ROLE
            assert set(cells(matrix, relation.qualified, role).values()) == {"denied"}, (relation, role)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_service_role_bypasses_rls_but_may_not_truncate(stack, dev, prod):
    matrix = dev if stack == "dev" else prod
    for relation in matrix.relations:
        assert cells(matrix, relation.qualified, "service_role") == {
            "SELECT": "all rows", "INSERT": "all rows", "UPDATE": "all rows", "DELETE": "all rows",
            "TRUNCATE": "denied"}, relation


def test_tenant_scoped_tables_are_the_tenants_rows(dev):
    assert dev.cell("growth.seo_audits", "authenticated", "UPDATE") == Cell("rows", rows=SHOP)
    assert cells(dev, "growth.seo_audits", "authenticated") == {
        **dict.fromkeys(WRITES, "rows where shop_domain = app.current_shop"), "TRUNCATE": "denied"}
    assert describe(dev.cell("growth.onboarding_progress", "authenticated", "SELECT")) == \
        "rows where auth.uid() = user_id"
    assert dev.cell("analytics.event", "authenticated", "DELETE") == Cell("rows", rows=TENANT)
    # restrictive policies are ANDed with the permissive one
    assert describe(dev.cell("growth.ceo_briefings", "authenticated", "SELECT")) == \
        "rows where shop_domain = app.current_shop AND auth.jwt() -> 'app_metadata' -> 'shop_roles' ->> shop_domain = " \
        "'ceo'"


def test_crm_commands_without_a_policy_reach_no_rows(dev):
    assert cells(dev, "crm.clients", "authenticated") == {
        "SELECT": "rows where client_id = app.current_client_id", "INSERT": "no rows", "UPDATE": "no rows",
        "DELETE": "no rows", "TRUNCATE": "denied"}
    assert dev.cell("crm.lead_memory", "authenticated", "UPDATE") == Cell("rows", rows=CLIENT)
    insert = describe(dev.cell("crm.lead_actions", "authenticated", "INSERT"))
    assert insert.startswith("rows where client_id = app.current_client_id AND (lead_id IS NULL OR EXISTS (")


def test_dev_developer_inherits_the_api_roles_but_not_bypassrls(dev):
    # member of authenticated: its policies apply; its own grant (tables: [all]) adds TRUNCATE
    assert cells(dev, "growth.seo_audits", "developer") == {
        **dict.fromkeys(WRITES, "rows where shop_domain = app.current_shop"), "TRUNCATE": "all rows"}
    # deny-all tables: RLS on, no policy, and developer does not bypass it
    assert cells(dev, "public.visitors", "developer") == {**dict.fromkeys(WRITES, "no rows"), "TRUNCATE": "all rows"}


def test_prod_analyst_reads_nothing_through_rls(prod):
    """analyst may SELECT (grant) but no policy names it: RLS lets no row through."""
    for relation in prod.relations:
        assert cells(prod, relation.qualified, "analyst") == {
            "SELECT": "no rows", "INSERT": "denied", "UPDATE": "denied", "DELETE": "denied", "TRUNCATE": "denied"}


def test_render_matrix(dev):
    text = render_matrix(dev)
    assert "growth.seo_audits  (RLS on)\n  role           SELECT    INSERT    UPDATE    DELETE    TRUNCATE\n" \
           "  anon           denied    denied    denied    denied    denied\n" \
           "  authenticated  P1        P1        P1        P1        denied\n" in text
    assert "  P1: shop_domain = app.current_shop\n" in text


# --- PostgreSQL's rules, on a stack made for them -------------------------------------------------

RULES_MODULE = """
CREATE TABLE notes (id uuid PRIMARY KEY, a int, b int, c int);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_a ON notes FOR SELECT TO authenticated USING (a = 1);
CREATE POLICY read_b ON notes FOR SELECT TO reporter USING (b = 2);
CREATE POLICY only_c ON notes AS RESTRICTIVE FOR ALL TO authenticated USING (c = 3);
CREATE POLICY move ON notes FOR UPDATE TO authenticated USING (a = 1) WITH CHECK (a = 2);
CREATE POLICY add ON notes FOR INSERT TO authenticated WITH CHECK (b > 0);
CREATE POLICY bare ON notes FOR DELETE TO authenticated;

CREATE TABLE open (id uuid PRIMARY KEY);

CREATE TABLE audit (id uuid PRIMARY KEY, a int);
ALTER TABLE audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit FORCE ROW LEVEL SECURITY;
CREATE POLICY mine ON audit TO public USING (a = 1);

CREATE VIEW my_notes AS SELECT id FROM notes;
-- pgstack: accept security_definer_view: the matrix shows what such a view lets through
CREATE VIEW all_notes WITH (security_invoker = false) AS SELECT id FROM notes;
"""


@pytest.fixture(scope="module")
def rules_declared(tmp_path_factory):
    """A stack whose one module exercises the combination rules, with `reporter` a member of
    authenticated and `auditor` in nothing."""
    project = project_copy(tmp_path_factory.mktemp("rules"))
    shutil.rmtree(project / "sql")
    (project / "sql" / "m").mkdir(parents=True)
    (project / "sql" / "m" / "001_notes.sql").write_text(RULES_MODULE)
    config = yaml.safe_load((project / "Pulumi.dev.yaml").read_text())
    config["config"].update({
        "pgstack:modules": [{"name": "m", "schema": "app"}],
        "pgstack:roles": [{"name": "reporter", "member_of": ["authenticated"]}, {"name": "auditor"}],
        "pgstack:grants": [
            {"module": "m", "role": "authenticated", "schema": ["usage"], "tables": ["select", "insert", "update",
                                                                                     "delete"]},
            {"module": "m", "role": "reporter", "tables": ["truncate"]},
            {"module": "m", "role": "auditor", "schema": ["usage"], "tables": ["select"]},
        ]})
    (project / "Pulumi.dev.yaml").write_text(yaml.safe_dump(config))
    return record(project, "dev")


@pytest.fixture(scope="module")
def rules_matrix(rules_declared):
    return access_matrix("dev", rules_declared)


def test_permissive_or_then_restrictive_and_per_command(rules_matrix):
    m = rules_matrix
    assert m.cell("app.notes", "authenticated", "SELECT") == Cell("rows", rows="a = 1 AND c = 3")
    # reporter has authenticated's rights and policies, and its own
    assert m.cell("app.notes", "reporter", "SELECT") == Cell("rows", rows="(a = 1 OR b = 2) AND c = 3")
    # UPDATE: the rows USING selects; the new values must meet WITH CHECK (restrictive: its USING)
    assert m.cell("app.notes", "authenticated", "UPDATE") == Cell("rows", rows="a = 1 AND c = 3",
                                                                  new_rows="a = 2 AND c = 3")
    assert describe(m.cell("app.notes", "authenticated", "UPDATE")) == \
        "rows where a = 1 AND c = 3, new values where a = 2 AND c = 3"
    assert m.cell("app.notes", "authenticated", "INSERT") == Cell("rows", rows="b > 0 AND c = 3")
    # a permissive policy without USING adds no row
    assert m.cell("app.notes", "authenticated", "DELETE") == Cell("none")


def test_grants_schema_usage_and_truncate(rules_matrix):
    m = rules_matrix
    assert m.cell("app.notes", "reporter", "TRUNCATE") == Cell("all")  # TRUNCATE ignores RLS
    assert m.cell("app.notes", "authenticated", "TRUNCATE") == Cell("denied")
    assert m.cell("app.notes", "auditor", "SELECT") == Cell("none")  # granted, no policy for it
    assert m.cell("app.notes", "auditor", "UPDATE") == Cell("denied")
    # no RLS on open: every granted command reaches every row
    assert cells(m, "app.open", "authenticated") == {**dict.fromkeys(WRITES, "all rows"), "TRUNCATE": "denied"}


def test_the_owner_bypasses_rls_unless_it_is_forced(rules_declared):
    """Config lets no role be a member of the owner; were one, it would have the owner's rights."""
    member = Declared("postgresql:index/grantRole:GrantRole", "auditor in owner", "urn:member", "",
                      {"role": "auditor", "grantRole": "pgstack_owner"}, {})
    m = access_matrix("dev", [*rules_declared, member])
    assert cells(m, "app.notes", "auditor") == dict.fromkeys(COMMANDS, "all rows")
    assert cells(m, "app.audit", "auditor") == {**dict.fromkeys(WRITES, "rows where a = 1"), "TRUNCATE": "all rows"}


def test_views_have_their_own_grants_and_their_tables_rows(rules_matrix):
    m = rules_matrix
    assert [r.qualified for r in m.relations if r.kind == "view"] == ["app.all_notes", "app.my_notes"]
    # security_invoker (every view's default): the caller's policies on notes decide; a view that
    # opts out with a reason reads them all as the owner
    assert describe(m.cell("app.my_notes", "authenticated", "SELECT")) == "the rows its tables' policies allow"
    assert m.cell("app.all_notes", "authenticated", "SELECT") == Cell("all")
    assert m.cell("app.all_notes", "auditor", "UPDATE") == Cell("denied")
    assert m.cell("app.my_notes", "reporter", "TRUNCATE") == Cell("denied")  # no TRUNCATE on a view


# --- edits, and how the diff says them -------------------------------------------------------------

def edited(tmp_path: Path, edit) -> Path:
    project = project_copy(tmp_path)
    edit(project)
    return project


def test_edits_that_add_access_and_that_change_only_the_sql(tmp_path):
    """Base: growth without UPDATE for authenticated (stack config), and seo_rankings' policy
    reading the setting per row; head: the shipped stacks. The sentence for a predicate whose
    readable form did not change shows the SQL."""
    project = project_copy(tmp_path)
    stack = project / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace(
        "{module: growth, role: authenticated, schema: [usage], tables: [select, insert, update, delete]}",
        "{module: growth, role: authenticated, schema: [usage], tables: [select, insert, delete]}"))
    rankings = project / "sql" / "growth" / "002_seo_rankings.sql"
    rankings.write_text(rankings.read_text().replace("(select current_setting('app.current_shop', true))",
                                                     "current_setting('app.current_shop', true)"))
    base, head = access_matrix("dev", record(project, "dev")), access_matrix("dev", list(shipped("dev")))
    texts = [c.text for c in diff(base, head)]
    assert "authenticated gains UPDATE on growth.seo_audits, rows where shop_domain = app.current_shop" in texts
    assert "authenticated gains UPDATE on growth.feature_tours, rows where auth.uid() = user_id" in texts
    assert [t for t in texts if "seo_rankings" in t] == [
        "authenticated's SELECT, INSERT, DELETE on growth.seo_rankings changes from rows where "
        "shop_domain = current_setting('app.current_shop', TRUE) to rows where "
        "shop_domain = (SELECT current_setting('app.current_shop', TRUE))",
        "authenticated gains UPDATE on growth.seo_rankings, rows where shop_domain = app.current_shop",
        "developer's SELECT, INSERT, UPDATE, DELETE on growth.seo_rankings changes from rows where "
        "shop_domain = current_setting('app.current_shop', TRUE) to rows where "
        "shop_domain = (SELECT current_setting('app.current_shop', TRUE))"]
    assert len(texts) == 12 + 2  # UPDATE on each growth table; seo_rankings' predicate for two roles


def test_recording_validates_nothing_and_needs_no_database(tmp_path):
    """The review records what a program declares; validating its SQL is the preview's job. A
    stack whose validation server is unreachable, with a password the review does not have,
    records exactly what the shipped one does."""
    project = project_copy(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # nothing listens there once the socket is closed
    stack = project / "Pulumi.dev.yaml"
    config = yaml.safe_load(stack.read_text())
    config["config"]["pgstack:validation"] = {"mode": "server", "host": "127.0.0.1", "port": closed,
                                              "user": "validator", "password": {"secret": "validation_password"}}
    stack.write_text(yaml.safe_dump(config))
    def declared(resources):  # the built-in auth functions' source is shown from outside this copy
        return {d.urn: ({k: v for k, v in d.inputs.items() if k != "source"}, d.dependencies) for d in resources}

    assert declared(record(project, "dev")) == declared(shipped("dev"))


def test_recording_extracts_no_stack_trace_and_puts_the_sdk_back(monkeypatch):
    """Under mocks the source position of a registration is thrown away: recording does not
    make the SDK walk the Python stack for each one, and the SDK is as it was afterwards."""
    calls = []

    def stack_trace():
        calls.append(1)
        return source_pb2.StackTrace()

    monkeypatch.setattr(runtime_resource, "_get_stack_trace", stack_trace)
    assert len(record(PROJECT_DIR, "dev")) > 300
    assert calls == []
    assert runtime_resource._get_stack_trace is stack_trace


def test_no_change_says_so():
    matrix = access_matrix("dev", list(shipped("dev")))
    assert render_diff("dev", "a", "b", diff(matrix, matrix)) == (
        "### Access changes on stack `dev`\n\n`a` → `b`\n\nNo role gains or loses access to any table or view.\n")


# --- the command, between git revisions -------------------------------------------------------------

def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A git repository of the project (its program and SQL): the shipped state, then three
    edits, one commit each."""
    repo = tmp_path_factory.mktemp("repo")
    project_copy(repo)
    shutil.copytree(PROJECT_DIR / "components", repo / "components", ignore=shutil.ignore_patterns("__pycache__"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "shipped")

    seo = repo / "sql" / "growth" / "001_seo_audits.sql"
    seo.write_text(seo.read_text() + "\nCREATE POLICY seo_audits_read_all ON seo_audits\n"
                                     "    FOR SELECT TO authenticated USING (true);\n")
    git(repo, "commit", "-q", "-am", "widen: every signed-in user reads every audit")

    memory = repo / "sql" / "crm" / "002_lead_memory.sql"
    text = memory.read_text()
    start = text.index("CREATE POLICY lead_memory_delete_own")
    memory.write_text(text[:start] + text[text.index(";", start) + 2:])
    git(repo, "commit", "-q", "-am", "narrow: clients may no longer delete their leads")

    stack = repo / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace(
        "{module: growth, role: authenticated, schema: [usage], tables: [select, insert, update, delete]}",
        "{module: growth, role: authenticated, schema: [usage], tables: [select, insert, delete]}"))
    git(repo, "commit", "-q", "-am", "remove: no UPDATE on growth for signed-in users")
    return repo


def access_diff(repo: Path, base: str, head: str) -> str:
    done = run_command("components.review", "access-diff", "--stack", "dev", "--project", str(repo),
                       "--base", base, "--head", head)
    assert done.returncode == 0, done.stderr
    return done.stdout


def header(repo: Path, base: str, head: str) -> str:
    return (f"### Access changes on stack `dev`\n\n`{git(repo, 'rev-parse', base)[:12]}` → "
            f"`{git(repo, 'rev-parse', head)[:12]}`\n\n")


def test_access_diff_of_a_widening_edit(repo):
    assert access_diff(repo, "HEAD~3", "HEAD~2") == header(repo, "HEAD~3", "HEAD~2") + (
        "- authenticated's SELECT on growth.seo_audits widens from rows where shop_domain = app.current_shop "
        "to all rows\n"
        "- developer's SELECT on growth.seo_audits widens from rows where shop_domain = app.current_shop "
        "to all rows\n")


def test_access_diff_of_a_narrowing_edit(repo):
    assert access_diff(repo, "HEAD~2", "HEAD~1") == header(repo, "HEAD~2", "HEAD~1") + (
        "- authenticated's DELETE on crm.lead_memory narrows from rows where client_id = app.current_client_id "
        "to no rows\n"
        "- developer's DELETE on crm.lead_memory narrows from rows where client_id = app.current_client_id "
        "to no rows\n")


def test_access_diff_of_an_edit_that_removes_access(repo):
    tables = ["ad_campaigns", "ad_performance", "ceo_briefings", "experiment_results", "experiments",
              "feature_tours", "knowledge_base", "onboarding_progress", "seo_audits", "seo_rankings",
              "social_analytics", "social_posts"]
    rows = {t: "rows where shop_domain = app.current_shop" for t in tables}
    rows.update({t: "rows where auth.uid() = user_id" for t in ("feature_tours", "onboarding_progress")})
    rows["ceo_briefings"] += " AND auth.jwt() -> 'app_metadata' -> 'shop_roles' ->> shop_domain = 'ceo'"
    assert access_diff(repo, "HEAD~1", "HEAD") == header(repo, "HEAD~1", "HEAD") + "".join(
        f"- authenticated loses UPDATE on growth.{t} (had {rows[t]})\n" for t in tables)


def test_access_diff_names_a_revision_that_does_not_exist(repo):
    done = run_command("components.review", "access-diff", "--stack", "dev", "--project", str(repo),
                       "--base", "no-such-rev")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"review: {repo} has no commit 'no-such-rev'\n"

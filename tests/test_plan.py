"""The plan without the Pulumi CLI (components/plan/): the real program under mocks declares the
stack, the real provider plans each object from the live catalog and its journal, nothing is
changed. On a deployed copy of the dev stack: nothing to do; an edited SQL file shows exactly
that object's statements; a policy dropped by hand shows as its CREATE POLICY; a removed object
as its DROP. And the command line: its exit status, the password never on the command line."""

import io
import json
import os
import shutil
import subprocess
import sys

import psycopg
import pytest
import yaml

from components.plan import cli, objects
from components.plan.report import changes, render
from components.provider.errors import AlreadyExists
from tests.support.engine import (
    DEV_STACK_TODAY, PROJECT_DIR, EngineDouble, connection_config, stack_file_config, validation_config,
)
from tests.support.zygote import run_command


@pytest.fixture
def project(tmp_path):
    """A copy of the project's stack files and sql/, to edit."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT_DIR / "sql", root / "sql")
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        shutil.copy2(PROJECT_DIR / name, root / name)
    return root


def dev_config(database: dict, **overrides: str) -> dict:
    """The engine's config for the dev stack on `database`, validated on the tests' server."""
    return {**connection_config(database), **validation_config(database, stack_file_config("dev")), **overrides}


def dev_plan(project, database, **overrides) -> list[objects.ObjectPlan]:
    return objects.plan_stack(project, "dev", dev_config(database, **overrides), today=DEV_STACK_TODAY)


def journal(database) -> list[tuple]:
    with psycopg.connect(**database) as conn:
        return conn.execute("SELECT resource, definition, applied FROM pgstack.journal ORDER BY 1").fetchall()


def statements(plan: objects.ObjectPlan) -> list[str]:
    return [step.statement.as_string(None) for step in plan.steps]


def test_a_deployed_stack_plans_nothing(dev_stack, project):
    plans = dev_plan(project, dev_stack.database)
    assert changes(plans) == []
    kinds = {p.kind for p in plans}
    assert {"table", "index", "policy", "function", "trigger", "partition", "sample data"} <= kinds
    assert all(p.declared for p in plans) and len(plans) > 150
    text = render(plans, "title")
    assert f"No changes: the database holds what the stack declares ({len(plans)} objects)." in text


def test_an_edited_file_plans_exactly_that_objects_statements_and_changes_nothing(dev_stack, project):
    before = journal(dev_stack.database)
    visitors = project / "sql" / "tracking" / "001_visitors.sql"
    text = visitors.read_text()
    assert "    user_agent    text," in text
    visitors.write_text(text.replace("    user_agent    text,", "    user_agent    text,\n    country_code  text,"))
    [plan] = changes(dev_plan(project, dev_stack.database))
    assert (plan.kind, plan.name, plan.declared, plan.refusal) == ("table", "public.visitors", True, None)
    assert plan.source.startswith("sql/tracking/001_visitors.sql:")
    assert [s.description for s in plan.steps] == ["add column visitors.country_code"]
    assert statements(plan) == ['ALTER TABLE "public"."visitors" ADD COLUMN "country_code" text']
    with psycopg.connect(**dev_stack.database) as conn:
        assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'visitors' "
                            "AND column_name = 'country_code'").fetchone()[0] == 0
    assert journal(dev_stack.database) == before


def test_an_index_whose_definition_changes_is_rebuilt(dev_stack, project):
    events = project / "sql" / "tracking" / "005_tracking_events.sql"
    text = events.read_text()
    start = text.index("CREATE INDEX idx_tracking_events_name_occurred")
    end = text.index(";", start)
    events.write_text(text[:start] + text[start:end] + " WHERE event_name IS NOT NULL" + text[end:])
    [plan] = changes(dev_plan(project, dev_stack.database))
    assert (plan.kind, plan.name, plan.refusal) == ("index", "public.idx_tracking_events_name_occurred", None)
    assert statements(plan) == [
        'DROP INDEX IF EXISTS "public"."idx_tracking_events_name_occurred"',
        'CREATE INDEX "idx_tracking_events_name_occurred" ON "public"."tracking_events" USING "btree" ("event_name", '
        '"occurred_at" DESC) WHERE event_name IS NOT NULL']


def test_a_replacement_is_its_delete_then_its_create(dev_stack, project):
    """A partition detached by hand reads back with other bounds, which no ALTER restores: the
    engine replaces it (deleting first), as the plan says."""
    with psycopg.connect(**dev_stack.database, autocommit=True) as conn:
        conn.execute("ALTER TABLE analytics.event DETACH PARTITION analytics.event_2026_02")
    [plan] = changes(dev_plan(project, dev_stack.database))
    assert (plan.kind, plan.name) == ("partition", "analytics.event_2026_02")
    assert statements(plan) == [
        'DROP TABLE "analytics"."event_2026_02"',
        'CREATE TABLE "analytics"."event_2026_02" PARTITION OF "analytics"."event" FOR VALUES FROM '
        "('2026-02-01 00:00:00+00') TO ('2026-03-01 00:00:00+00')",
        'ALTER TABLE "analytics"."event_2026_02" ENABLE ROW LEVEL SECURITY']


def test_drift_shows_a_policy_dropped_by_hand_and_a_disabled_rls(dev_stack, project):
    with psycopg.connect(**dev_stack.database, autocommit=True) as conn:
        conn.execute("DROP POLICY ceo_briefings_ceo_only ON growth.ceo_briefings")
        conn.execute("ALTER TABLE crm.clients DISABLE ROW LEVEL SECURITY")
    plans = {p.name: p for p in changes(dev_plan(project, dev_stack.database))}
    assert plans.keys() == {"growth.ceo_briefings.ceo_briefings_ceo_only", "crm.clients"}
    policy = plans["growth.ceo_briefings.ceo_briefings_ceo_only"]
    assert policy.kind == "policy" and policy.source.startswith("sql/growth/")
    assert [s.description for s in policy.steps] == ["create policy ceo_briefings_ceo_only on ceo_briefings"]
    assert statements(policy)[0].startswith('CREATE POLICY "ceo_briefings_ceo_only" ON "growth"."ceo_briefings"')
    assert statements(plans["crm.clients"]) == ['ALTER TABLE "crm"."clients" ENABLE ROW LEVEL SECURITY']


def test_an_object_no_longer_declared_is_a_deletion(dev_stack, project):
    events = project / "sql" / "tracking" / "005_tracking_events.sql"
    text = events.read_text()
    start = text.index("CREATE INDEX idx_tracking_events_name_occurred")
    events.write_text(text[:start] + text[text.index(";", start) + 1:])
    [plan] = changes(dev_plan(project, dev_stack.database))
    assert (plan.kind, plan.name, plan.declared) == ("index", "public.idx_tracking_events_name_occurred", False)
    assert plan.source.startswith("sql/tracking/005_tracking_events.sql:")  # where it was, per the journal
    assert statements(plan) == ['DROP INDEX IF EXISTS "public"."idx_tracking_events_name_occurred"']
    assert "- index public.idx_tracking_events_name_occurred (sql/tracking/005_tracking_events.sql:" \
           in render([plan], "title")


def test_a_data_losing_step_shows_with_its_hazard_and_the_refusal_of_a_strict_stack(dev_stack, project):
    with psycopg.connect(**dev_stack.database, autocommit=True) as conn:  # an empty table loses nothing
        conn.execute("INSERT INTO public.visitors (visitor_id, user_agent) VALUES ('v1', 'curl')")
    visitors = project / "sql" / "tracking" / "001_visitors.sql"
    visitors.write_text(visitors.read_text().replace("    user_agent    text,\n", ""))
    # The dev stack made strict (which also means no sample data: its removal runs nothing).
    stack = yaml.safe_load((project / "Pulumi.dev.yaml").read_text())
    stack["config"]["pgstack:modules"][4]["sample_data"] = False
    strict = json.dumps({"allow_data_loss": False})
    [plan] = changes(dev_plan(project, dev_stack.database, **{"pgstack:safety": strict,
                                                              "pgstack:modules": json.dumps(stack["config"]["pgstack:modules"])}))
    assert statements(plan) == ['ALTER TABLE "public"."visitors" DROP COLUMN "user_agent"']
    assert [str(h) for h in plan.steps[0].hazards] == ["data_loss"]
    assert plan.refusal is not None and "refusing to drop column public.visitors.user_agent" in plan.refusal
    text = render([plan], "title")
    assert "! table public.visitors (sql/tracking/001_visitors.sql:" in text and "hazards: data_loss" in text
    # The dev stack allows it: the same step, no refusal.
    [plan] = changes(dev_plan(project, dev_stack.database))
    assert plan.refusal is None and statements(plan) == ['ALTER TABLE "public"."visitors" DROP COLUMN "user_agent"']


def test_an_object_pgstack_did_not_create_is_refused_as_up_would(database, project):
    with psycopg.connect(**database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.visitors (id uuid)")
    plans = {p.name: p for p in dev_plan(project, database)}
    visitors = plans["public.visitors"]
    assert visitors.steps == [] and visitors.refusal == str(AlreadyExists("table", "public.visitors", visitors.source))
    # On an empty database everything else is a create, and the journal does not exist yet.
    assert statements(plans["public.conversions"])[0].startswith('CREATE TABLE "public"."conversions"')


# --- the command line -------------------------------------------------------------------------------

SMALL_STACK = """
CREATE TYPE ticket_state AS ENUM ('open', 'closed');
CREATE TABLE tickets (id integer PRIMARY KEY, state ticket_state NOT NULL DEFAULT 'open');
ALTER TABLE tickets ENABLE ROW LEVEL SECURITY;
CREATE POLICY tickets_read ON tickets FOR SELECT TO authenticated USING (state = 'open');
"""


@pytest.fixture
def small(tmp_path, database):
    """A project of one module (an enum, a table, a policy) deployed on `database`, and its
    stack file `Pulumi.test.yaml` pointing at that database (no password in it)."""
    root = tmp_path / "small"
    (root / "sql" / "app").mkdir(parents=True)
    (root / "sql" / "app" / "001_tickets.sql").write_text(SMALL_STACK)
    shutil.copy2(PROJECT_DIR / "Pulumi.yaml", root / "Pulumi.yaml")
    config = {"pgstack:modules": [{"name": "app", "schema": "app"}], "pgstack:roles": [], "pgstack:grants": [],
              "pgstack:safety": {"allow_data_loss": False}}
    stack = {**{k: v for k, v in connection_config(database).items() if k != "pgstack:db_password"}, **config,
             "pgstack:validation": {"mode": "off"}}
    (root / "Pulumi.test.yaml").write_text(yaml.safe_dump({"config": stack}))
    with EngineDouble(database, sql_root=root / "sql",
                      config={k: json.dumps(v) for k, v in config.items()}) as engine:
        engine.up()
    return root


def plan_command(project, *args, password: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != cli.PASSWORD_ENV}
    if password is not None:
        env[cli.PASSWORD_ENV] = password
    return run_command("components.plan", *args, cwd=project, env=env)


def test_a_command_run_from_the_zygote_ends_as_python_m_does(tmp_path):
    """Test hygiene: the command tests run each command forked from a process that imported it
    once (tests/support/zygote.py). What they see is what `python -m` gives: the exit status,
    stdout and stderr, the environment and working directory they pass."""
    env = {k: v for k, v in os.environ.items() if k != cli.PASSWORD_ENV}
    (tmp_path / "ends.py").write_text("import os, sys\nprint(os.getcwd(), os.environ['ENDS'])\n"
                                      "if os.environ['ENDS'] == 'raise': raise ValueError('boom')\n"
                                      "sys.exit(int(os.environ['ENDS']) if os.environ['ENDS'].isdigit() else "
                                      "os.environ['ENDS'])\n")

    def same_end(module: str, *args: str, **variables: str) -> None:
        run_env = {**env, **variables}
        real = subprocess.run([sys.executable, "-m", module, *args], cwd=tmp_path, env=run_env, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=120)
        forked = run_command(module, *args, cwd=tmp_path, env=run_env)
        assert (forked.returncode, forked.stdout) == (real.returncode, real.stdout), (module, args, variables)
        # A traceback's frames above the module differ (runpy's entry point); its end does not.
        assert forked.stderr.splitlines()[-1:] == real.stderr.splitlines()[-1:], (module, args, variables)
        assert ("Traceback" in forked.stderr) == ("Traceback" in real.stderr)

    same_end("components.plan", "--help")
    same_end("components.plan", "--stack", "nope")
    same_end("components.plan", "--bogus")
    for ends in ("0", "3", "a message", "raise"):
        same_end("ends", ENDS=ends)


def test_the_command_exits_0_when_nothing_would_change_and_2_when_something_would(small, database):
    password = database["password"]
    result = plan_command(small, "--stack", "test", password=password)
    assert (result.returncode, result.stderr) == (0, "")
    assert "No changes" in result.stdout
    # A new value in the middle of the enum, and a removed one: the first is planned, the
    # second refused, naming the file and line.
    tickets = small / "sql" / "app" / "001_tickets.sql"
    tickets.write_text(SMALL_STACK.replace("('open', 'closed')", "('open', 'waiting', 'closed')"))
    result = plan_command(small, "--stack", "test", password=password)
    assert result.returncode == 2, result.stderr
    assert "~ enum app.ticket_state (sql/app/001_tickets.sql:2)" in result.stdout
    assert """ALTER TYPE "app"."ticket_state" ADD VALUE 'waiting' AFTER 'open'""" in result.stdout
    tickets.write_text(SMALL_STACK.replace("('open', 'closed')", "('open')"))
    result = plan_command(small, "--stack", "test", password=password)
    assert result.returncode == 2, result.stderr
    assert "! enum app.ticket_state (sql/app/001_tickets.sql:2): up refuses it" in result.stdout
    assert "does not declare 'closed'" in " ".join(result.stdout.split())
    assert password not in result.stdout + result.stderr


def test_the_command_never_takes_the_password_on_the_command_line(small, database):
    result = plan_command(small, "--stack", "test", "--password", database["password"], password=None)
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr  # argparse's usage error
    result = plan_command(small, "--stack", "test", password=None)  # no variable, no terminal to ask on
    assert (result.returncode, result.stderr.strip()) == (
        1, "plan: no password: set PGSTACK_DB_PASSWORD (dev: ./dev-up keeps it in .pgdata.secret)")
    result = plan_command(small, "--stack", "test", password="wrong-" + database["password"])
    assert result.returncode == 1 and result.stderr.startswith("plan: cannot connect to ")
    assert database["password"] not in result.stderr
    result = plan_command(small, "--stack", "nope", password=database["password"])
    assert (result.returncode, result.stderr.strip()) == (1, f"plan: --stack nope: there is no Pulumi.nope.yaml in "
                                                             f"{small}")


def test_run_prints_the_plan_and_returns_the_status(small, database):
    out = io.StringIO()
    assert cli.run(small, "test", database["password"], out=out) == 0
    assert out.getvalue().startswith(f"Plan for stack test on {database['user']}@{database['host']}:"
                                     f"{database['port']}/{database['dbname']}: ")
    assert out.getvalue().rstrip().endswith("(pulumi_postgresql resources) are not part of this plan.")

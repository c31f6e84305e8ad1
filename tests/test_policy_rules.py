"""The policy pack (policy/): each rule on a failing and a passing module of real SQL (parsed by the
project's parser into the inputs the program declares), its level, what an acceptance in the SQL
file does, values unknown at preview, and every rule over everything the dev and prod programs
declare under mocks."""

from dataclasses import replace

import pytest
import yaml
from pgstack_policy import POLICIES, RULES
from pulumi_policy import EnforcementLevel
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from components.model.annotations import ADVISORY_RULES, MANDATORY_RULES, OPT_IN_RULES
from components.review.record import record
from tests.support.review import declared_from_sql, policy_resources, project_copy, run_rule, shipped

BY_NAME = {rule.name: rule for rule in RULES}
TABLE = "CREATE TABLE t (id uuid PRIMARY KEY, owner_id uuid NOT NULL);\n"
RLS = "ALTER TABLE t ENABLE ROW LEVEL SECURITY;\n"
OWN_ROWS = "CREATE POLICY own ON t FOR ALL TO authenticated USING (owner_id = (select auth.uid()));\n"
OWNER_INDEX = "CREATE INDEX idx_t_owner ON t (owner_id);\n"
SAFE = TABLE + OWNER_INDEX + RLS + OWN_ROWS
DEFINER = ("-- pgstack: accept security_definer_function: reads the caller's id only\n"
           "CREATE FUNCTION me() RETURNS uuid LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, auth\n"
           "    AS $$ SELECT auth.uid() $$;\n")

# rule -> (schema, a module the rule reports, a module it passes, words of the finding)
CASES = {
    "rls_disabled_in_public": ("public", TABLE, SAFE,
                               "table public.t (sql/m/001_test.sql:1): row level security is not enabled"),
    "rls_disabled": ("app", TABLE, SAFE, "table app.t (sql/m/001_test.sql:1): row level security is not enabled"),
    "policy_exists_rls_disabled": ("app", TABLE + OWNER_INDEX + OWN_ROWS, SAFE,
                                   "has policies (own) but row level security is not enabled"),
    "rls_enabled_no_policy": ("app", TABLE + RLS, SAFE, "row level security is enabled and no policy exists"),
    "rls_policy_always_true": (
        "app", SAFE + "CREATE POLICY anyone_edits ON t AS RESTRICTIVE FOR SELECT USING (true);\n"
                      "CREATE POLICY edit ON t FOR UPDATE TO authenticated USING (1 = 1);\n",
        SAFE + "CREATE POLICY public_read ON t FOR SELECT TO anon USING (true);\n",
        "policy edit on app.t (sql/m/001_test.sql:6): lets authenticated UPDATE any row: USING (1 = 1) is always true "
        "and WITH CHECK (1 = 1) is always true"),
    "rls_references_user_metadata": (
        "app", SAFE + "CREATE POLICY admins ON t AS RESTRICTIVE FOR DELETE TO authenticated\n"
                      "    USING (((select auth.jwt()) -> 'user_metadata' ->> 'role') = 'admin');\n",
        SAFE + "CREATE POLICY admins ON t AS RESTRICTIVE FOR DELETE TO authenticated\n"
               "    USING (((select auth.jwt()) -> 'app_metadata' ->> 'role') = 'admin');\n",
        "policy admins on app.t (sql/m/001_test.sql:5): reads the JWT's user_metadata"),
    "auth_rls_initplan": (
        "app", TABLE + OWNER_INDEX + RLS + "CREATE POLICY own ON t TO authenticated USING (\n"
                                           "    owner_id = auth.uid() AND current_setting('app.x', true) = 'y');\n",
        SAFE, "policy own on app.t (sql/m/001_test.sql:4): calls auth.uid(), current_setting() for every row"),
    "multiple_permissive_policies": (
        "app", SAFE + "CREATE POLICY shared ON t FOR SELECT TO authenticated USING (owner_id IS NULL);\n",
        SAFE + "CREATE POLICY not_null ON t AS RESTRICTIVE FOR SELECT TO authenticated USING (owner_id IS NOT NULL);\n",
        "several permissive policies apply to the same role and command: authenticated SELECT (own, shared)"),
    "unindexed_foreign_keys": (
        "app", SAFE + "CREATE TABLE c (id uuid PRIMARY KEY, t_id uuid REFERENCES t (id));\n"
                      "ALTER TABLE c ENABLE ROW LEVEL SECURITY;\n",
        SAFE + "CREATE TABLE c (id uuid PRIMARY KEY, t_id uuid REFERENCES t (id));\n"
               "CREATE INDEX idx_c_t ON c (t_id) WHERE t_id IS NOT NULL;\n",
        "table app.c (sql/m/001_test.sql:5): foreign key c_t_id_fkey (t_id) has no index leading with its columns"),
    "unindexed_policy_columns": (
        "app", TABLE + RLS + OWN_ROWS, SAFE,
        "policy own on app.t (sql/m/001_test.sql:3): filters on owner_id (USING), which no index leads with"),
    "duplicate_index": (
        "app", SAFE + "CREATE INDEX idx_t_owner_again ON t USING btree (owner_id ASC NULLS LAST);\n",
        SAFE + "CREATE INDEX idx_t_owner_desc ON t (owner_id DESC);\n",
        "index idx_t_owner_again on app.t (sql/m/001_test.sql:5): is identical to index idx_t_owner"),
    "no_primary_key": ("app", "CREATE TABLE t (id uuid);\n", "CREATE TABLE t (id uuid PRIMARY KEY);\n",
                       "table app.t (sql/m/001_test.sql:1): has no primary key"),
    "function_search_path_mutable": (
        "app", "CREATE FUNCTION now_utc() RETURNS timestamp LANGUAGE sql STABLE\n"
               "    AS $$ SELECT now() AT TIME ZONE 'UTC' $$;\n",
        "CREATE FUNCTION now_utc() RETURNS timestamp LANGUAGE sql STABLE SET search_path = ''\n"
        "    AS $$ SELECT now() AT TIME ZONE 'UTC' $$;\n",
        "function app.now_utc() (sql/m/001_test.sql:1): does not fix its search_path"),
    # The parser refuses what these three report (model/rights.py): their failing modules are
    # what the program would declare without the SQL file's acceptance (and search_path).
    "security_definer_function_search_path": ("app", DEFINER, DEFINER,
        "function app.me() (sql/m/001_test.sql:2): is SECURITY DEFINER (runs with its owner's rights) and does not "
        "fix its search_path"),
    "security_definer_function": (
        "app", DEFINER,
        "CREATE FUNCTION me() RETURNS uuid LANGUAGE sql SET search_path = pg_catalog, auth AS $$ SELECT auth.uid() $$;\n",
        "function app.me() (sql/m/001_test.sql:2): is SECURITY DEFINER: it runs with its owner's rights"),
    "security_definer_view": (
        "app", SAFE + "-- pgstack: accept security_definer_view: counts only\n"
                      "CREATE VIEW mine WITH (security_invoker = off) AS SELECT id FROM t;\n",
        SAFE + "CREATE VIEW mine AS SELECT id FROM t;\n",
        "view app.mine (sql/m/001_test.sql:6): runs with its owner's rights"),
}
OPT_IN = {"security_definer_view", "security_definer_function", "security_definer_function_search_path"}


def without_acceptance(rule_name: str, sql_text: str, schema: str) -> list:
    """What the program would declare for `sql_text` if its acceptances (and, for the search_path
    rule, the function's SET search_path) were not there: what the parser refuses."""
    stripped = []
    for d in declared_from_sql(sql_text, schema):
        inputs = {k: v for k, v in d.inputs.items() if k != "accepted"}
        if rule_name == "security_definer_function_search_path" and "definition" in inputs:
            inputs["definition"] = inputs["definition"].replace(" SET search_path TO 'pg_catalog', 'auth'", "")
        stripped.append(replace(d, inputs=inputs))
    return stripped


def findings(rule_name: str, sql_text: str, schema: str = "app") -> list[str]:
    return run_rule(BY_NAME[rule_name], policy_resources(declared_from_sql(sql_text, schema)))


@pytest.mark.parametrize("rule_name", sorted(CASES))
def test_rule_reports_the_failing_module_and_passes_the_fixed_one(rule_name):
    schema, failing, passing, words = CASES[rule_name]
    if rule_name in OPT_IN:
        reported = run_rule(BY_NAME[rule_name], policy_resources(without_acceptance(rule_name, failing, schema)))
    else:
        reported = findings(rule_name, failing, schema)
    assert len(reported) == 1, reported
    assert words in reported[0]
    assert " Fix: " in reported[0]
    assert findings(rule_name, passing, schema) == []


def test_an_index_identical_to_a_constraints_index_is_a_duplicate():
    reported = findings("duplicate_index", SAFE + "CREATE UNIQUE INDEX idx_t_id ON t (id);\n")
    assert [m.split(" Fix:")[0] for m in reported] == [
        "index idx_t_id on app.t (sql/m/001_test.sql:5): is identical to constraint t_pkey: both are written on every "
        "change and only one is ever used."]


def test_every_rule_has_cases_and_the_levels_the_parser_knows():
    assert set(CASES) | {"anon_grants", "unapproved_hazard"} == set(BY_NAME)
    advisory = {r.name for r in RULES if r.level == EnforcementLevel.ADVISORY}
    mandatory = {r.name for r in RULES if r.level == EnforcementLevel.MANDATORY and not r.opt_in}
    opt_in = {r.name for r in RULES if r.level == EnforcementLevel.MANDATORY and r.opt_in}
    assert advisory == set(ADVISORY_RULES)
    assert mandatory == MANDATORY_RULES
    assert opt_in == set(OPT_IN_RULES)
    issue_mandatory = {"rls_disabled_in_public", "rls_disabled", "policy_exists_rls_disabled", "rls_policy_always_true"}
    assert issue_mandatory <= mandatory
    assert [p.name for p in POLICIES] == [r.name for r in RULES]
    assert all(p.enforcement_level == r.level for p, r in zip(POLICIES, RULES, strict=True))


def test_an_advisory_finding_is_accepted_with_a_reason_and_says_how():
    failing = CASES["rls_enabled_no_policy"][1]
    reported = findings("rls_enabled_no_policy", failing)
    assert reported[0].endswith("accept it above the CREATE TABLE statement: "
                                "`-- pgstack: accept rls_enabled_no_policy: <reason>`.")
    accepted = TABLE + "-- pgstack: accept rls_enabled_no_policy: deny-all, service role only\n" + RLS
    assert findings("rls_enabled_no_policy", accepted) == []
    # An acceptance answers one rule on one object only.
    other = accepted + "CREATE TABLE u (id uuid PRIMARY KEY);\nALTER TABLE u ENABLE ROW LEVEL SECURITY;\n"
    assert [m.split(" (")[0] for m in findings("rls_enabled_no_policy", other)] == ["table app.u"]


def test_an_opt_in_finding_is_reported_unless_its_sql_accepts_it_with_a_reason():
    """A view with its owner's rights: mandatory, unless the SQL file accepts it (which the parser
    requires); the message says how."""
    accepted = CASES["security_definer_view"][1]
    reported = run_rule(BY_NAME["security_definer_view"],
                        policy_resources(without_acceptance("security_definer_view", accepted, "app")))
    assert reported[0].endswith("accept it above the CREATE VIEW statement: "
                                "`-- pgstack: accept security_definer_view: <reason>`.")
    assert findings("security_definer_view", accepted) == []
    # The search_path rule has no opt-in: its finding says nothing of accepting.
    reported = run_rule(BY_NAME["security_definer_function_search_path"], policy_resources(
        without_acceptance("security_definer_function_search_path", DEFINER, "app")))
    assert "accept" not in reported[0]


def test_mandatory_findings_say_nothing_of_accepting():
    reported = findings("rls_disabled", TABLE)
    assert "accept" not in reported[0]


def test_values_unknown_at_preview_do_not_stop_a_rule():
    """At preview a created schema's name and a new table's name are unknown: the rules still tie
    a policy to its table through the property dependency, and skip only what they cannot know."""
    declared = declared_from_sql(TABLE + OWN_ROWS)  # policy on a table without RLS
    unknown = []
    for d in declared:
        inputs = dict(d.inputs)
        if "Table" in d.type:
            inputs["schema"] = UNKNOWN_STRING_VALUE
        if "Policy" in d.type:
            inputs["table"] = UNKNOWN_STRING_VALUE
        unknown.append(replace(d, inputs=inputs))
    resources = policy_resources(unknown)
    for rule in RULES:
        run_rule(rule, resources)  # no UnknownValueError escapes
    assert run_rule(BY_NAME["policy_exists_rls_disabled"], resources) == [
        "table t (sql/m/001_test.sql:1): has policies (own) but row level security is not enabled, so none of "
        "them is enforced. Fix: add `ALTER TABLE t ENABLE ROW LEVEL SECURITY;` next to its CREATE TABLE, and a "
        "policy for each role that needs rows."]
    assert [m.split(":")[0] for m in run_rule(BY_NAME["rls_disabled"], resources)] == ["table t (sql/m/001_test.sql"]


# --- the shipped stacks ------------------------------------------------------------------------
# Recorded with each stack's validation at preview, which applies the schema on the embedded
# PostgreSQL: these need the real server (tests/support/review.py).

@pytest.mark.live
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_shipped_stacks_pass_every_rule(stack):
    resources = policy_resources(shipped(stack))
    assert {rule.name: run_rule(rule, resources) for rule in RULES} == {rule.name: [] for rule in RULES}


@pytest.mark.live
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_acceptance_in_the_shipped_modules_answers_a_finding(stack):
    """Without the SQL files' acceptances, the advisory rules report exactly the accepted objects:
    no acceptance is stale, and nothing else is reported."""
    declared = shipped(stack)
    accepted = sorted((rule, d.inputs["source"]) for d in declared for rule in d.inputs.get("accepted", {}))
    assert accepted  # the deny-all tables at least
    stripped = policy_resources([replace(d, inputs={k: v for k, v in d.inputs.items() if k != "accepted"})
                                 for d in declared])
    reported = sorted((rule.name, message.split("(", 1)[1].split(")", 1)[0])
                      for rule in RULES if rule.level == EnforcementLevel.ADVISORY
                      for message in run_rule(rule, stripped))
    assert sorted(set(reported)) == accepted
    assert all(reason.strip() for d in declared for reason in d.inputs.get("accepted", {}).values())


@pytest.mark.live
def test_anon_grants_on_the_real_program(tmp_path):
    """A grant to anon on crm's tables (stack config), with a policy for anon on one of them: the
    other tables are reported, on the grant, and that one is not."""
    project = project_copy(tmp_path)
    stack_file = project / "Pulumi.dev.yaml"
    config = yaml.safe_load(stack_file.read_text())
    config["config"]["pgstack:grants"].append({"module": "crm", "role": "anon", "schema": ["usage"],
                                               "tables": ["select"]})
    stack_file.write_text(yaml.safe_dump(config))
    clients = project / "sql" / "crm" / "001_clients.sql"
    clients.write_text(clients.read_text() + "\nCREATE POLICY clients_anon_signup_check ON clients FOR SELECT TO anon"
                                             " USING (false);\n")
    reported = run_rule(BY_NAME["anon_grants"], policy_resources(record(project, "dev")))
    tables = ("api_key_rotation_log", "growth_brain", "lead_actions", "lead_memory", "prospect_candidates",
              "prospect_outreach_log", "relationship_insights")
    assert sorted(m.split(" (")[0] for m in reported) == [f"table crm.{t}" for t in tables]
    for table, message in zip(tables, sorted(reported), strict=True):
        assert f"anon is granted SELECT on it (crm: anon on crm.{table}; crm: anon on future tables) but no " \
               f"policy applies to anon." in message
    assert run_rule(BY_NAME["anon_grants"], policy_resources(shipped("dev"))) == []


def test_an_unapproved_hazard_in_production_is_reported():
    """The provider's check puts each planned step, with its hazards, in the `plan` input; in a
    production stack a hazard the SQL file does not approve is a finding."""
    from components.model import plan
    from components.provider.base import describe

    def reported(text: str, stack: str) -> list[str]:
        declared = declared_from_sql(text)
        index = next(d for d in declared if d.name == "m/app.idx_t_owner")
        steps = [describe(step) for step in plan.create_index(index.inputs, online=True)]
        planned = [replace(d, urn=d.urn.replace("urn:pulumi:test::", f"urn:pulumi:{stack}::"),
                           inputs=dict(d.inputs, plan=steps) if d is index else d.inputs) for d in declared]
        return run_rule(BY_NAME["unapproved_hazard"], policy_resources(planned))

    (finding,) = reported(SAFE, "prod")
    assert finding.startswith("index idx_t_owner on app.t (sql/m/001_test.sql:2): the change would create index "
                              "idx_t_owner on t concurrently, which carries the hazard index_build in a production stack")
    assert "`-- pgstack: approve index_build: <why it is safe>`" in finding
    approved = SAFE.replace("CREATE INDEX", "-- pgstack: approve index_build: a new, small table\nCREATE INDEX")
    assert reported(approved, "prod") == []
    assert reported(SAFE, "dev") == []

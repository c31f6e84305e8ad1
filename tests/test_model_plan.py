"""Plans (components.model.plan): the DDL steps from one definition to another, their order and
their hazards. Pure unit tests on inputs dicts, no database."""

import copy

import pytest

from components.model import plan
from components.model.hazards import (
    ACCESS_EXCLUSIVE, DATA_LOSS, FULL_SCAN, INDEX_BUILD, INDEX_DROPPED, SHARE_LOCK, TABLE_REWRITE,
)
from components.model.types import is_widening

TABLE = {
    "schema": "app", "name": "accounts", "source": "sql/m/001_accounts.sql:1", "managed": "table",
    "columns": [
        {"name": "id", "type": "integer", "not_null": True},
        {"name": "tenant", "type": "bigint", "not_null": True},
        {"name": "email", "type": "text", "not_null": False},
        {"name": "status", "type": "text", "not_null": True, "default": "'new'"},
        {"name": "balance", "type": "numeric(12,2)", "not_null": False},
    ],
    "constraints": [
        {"name": "accounts_pkey", "kind": "primary_key", "columns": ["id"]},
        {"name": "accounts_status_check", "kind": "check", "columns": ["status"],
         "expression": "status IN ('new', 'active')"},
    ],
    "rls_enabled": False, "rls_forced": False,
}


def sql_of(steps) -> list[str]:
    return [step.statement.as_string(None) for step in steps]


def changed(**changes) -> dict:
    """A copy of TABLE; `column_<name>={...}` updates that column, other keys replace the key."""
    table = copy.deepcopy(TABLE)
    for key, value in changes.items():
        if key.startswith("column_"):
            col = next(c for c in table["columns"] if c["name"] == key.removeprefix("column_"))
            col.update(value)
            for k in [k for k, v in col.items() if v is None]:
                del col[k]
        else:
            table[key] = value
    return table


def only_step(old, new):
    steps = plan.alter_table(old, new)
    assert len(steps) == 1, sql_of(steps)
    return steps[0]


def test_no_change_no_steps():
    assert plan.alter_table(TABLE, copy.deepcopy(TABLE)) == []


def test_add_column():
    new = changed(columns=TABLE["columns"] + [
        {"name": "plan", "type": "text", "not_null": True, "default": "'free'", "comment": "billing plan"}])
    steps = plan.alter_table(TABLE, new)
    assert sql_of(steps) == [
        'ALTER TABLE "app"."accounts" ADD COLUMN "plan" text DEFAULT \'free\' NOT NULL',
        'COMMENT ON COLUMN "app"."accounts"."plan" IS \'billing plan\'',
    ]
    assert all(DATA_LOSS not in s.hazards for s in steps)


def test_add_identity_column_rewrites_the_table():
    new = changed(columns=TABLE["columns"] + [{"name": "seq", "type": "bigint", "not_null": True, "identity": "always"}])
    step = only_step(TABLE, new)
    assert step.statement.as_string(None) == (
        'ALTER TABLE "app"."accounts" ADD COLUMN "seq" bigint GENERATED ALWAYS AS IDENTITY NOT NULL')
    assert TABLE_REWRITE in step.hazards


def test_drop_column_is_data_loss():
    new = changed(columns=[c for c in TABLE["columns"] if c["name"] != "email"])
    step = only_step(TABLE, new)
    assert step.statement.as_string(None) == 'ALTER TABLE "app"."accounts" DROP COLUMN "email"'
    assert DATA_LOSS in step.hazards


def test_widening_type_change_rewrites_without_data_loss():
    step = only_step(TABLE, changed(column_id={"type": "bigint"}))
    assert step.statement.as_string(None) == 'ALTER TABLE "app"."accounts" ALTER COLUMN "id" TYPE bigint USING "id"::bigint'
    assert TABLE_REWRITE in step.hazards
    assert DATA_LOSS not in step.hazards


@pytest.mark.parametrize("column, old_type, new_type", [
    ("tenant", "bigint", "integer"),
    ("email", "text", "character varying(10)"),
    ("balance", "numeric(12,2)", "numeric(8,2)"),
])
def test_narrowing_type_change_is_data_loss(column, old_type, new_type):
    old = changed(**{f"column_{column}": {"type": old_type}})
    step = only_step(old, changed(**{f"column_{column}": {"type": new_type}}))
    assert step.statement.as_string(None) == (
        f'ALTER TABLE "app"."accounts" ALTER COLUMN "{column}" TYPE {new_type} USING "{column}"::{new_type}')
    assert TABLE_REWRITE in step.hazards and DATA_LOSS in step.hazards


def test_default_set_changed_and_dropped():
    step = only_step(TABLE, changed(column_email={"default": "''"}))
    assert step.statement.as_string(None) == 'ALTER TABLE "app"."accounts" ALTER COLUMN "email" SET DEFAULT \'\''
    step = only_step(TABLE, changed(column_status={"default": "'active'"}))
    assert step.statement.as_string(None) == 'ALTER TABLE "app"."accounts" ALTER COLUMN "status" SET DEFAULT \'active\''
    step = only_step(TABLE, changed(column_status={"default": None}))
    assert step.statement.as_string(None) == 'ALTER TABLE "app"."accounts" ALTER COLUMN "status" DROP DEFAULT'
    assert step.hazards == []


def test_not_null_on_and_off():
    step = only_step(TABLE, changed(column_email={"not_null": True}))
    assert step.statement.as_string(None) == 'ALTER TABLE "app"."accounts" ALTER COLUMN "email" SET NOT NULL'
    assert FULL_SCAN in step.hazards
    step = only_step(TABLE, changed(column_status={"not_null": False}))
    assert step.statement.as_string(None) == 'ALTER TABLE "app"."accounts" ALTER COLUMN "status" DROP NOT NULL'
    assert step.hazards == []


def test_missing_not_null_counts_as_false():
    old = changed(column_email={"not_null": None})
    assert plan.alter_table(old, TABLE) == []


def test_changed_check_is_dropped_then_added():
    constraints = copy.deepcopy(TABLE["constraints"])
    constraints[1]["expression"] = "status IN ('new', 'active', 'closed')"
    steps = plan.alter_table(TABLE, changed(constraints=constraints))
    assert sql_of(steps) == [
        'ALTER TABLE "app"."accounts" DROP CONSTRAINT IF EXISTS "accounts_status_check"',
        'ALTER TABLE "app"."accounts" ADD CONSTRAINT "accounts_status_check" '
        "CHECK (status IN ('new', 'active', 'closed'))",
    ]
    assert FULL_SCAN in steps[1].hazards


def test_added_and_removed_constraints():
    constraints = [TABLE["constraints"][0], {"name": "accounts_email_key", "kind": "unique", "columns": ["email"]},
                   {"name": "accounts_tenant_fkey", "kind": "foreign_key", "columns": ["tenant"],
                    "references": {"schema": "app", "table": "tenants", "columns": ["id"]}, "on_delete": "cascade"}]
    steps = plan.alter_table(TABLE, changed(constraints=constraints))
    assert sql_of(steps) == [
        'ALTER TABLE "app"."accounts" DROP CONSTRAINT IF EXISTS "accounts_status_check"',
        'ALTER TABLE "app"."accounts" ADD CONSTRAINT "accounts_email_key" UNIQUE ("email")',
        'ALTER TABLE "app"."accounts" ADD CONSTRAINT "accounts_tenant_fkey" FOREIGN KEY ("tenant") '
        'REFERENCES "app"."tenants" ("id") ON DELETE CASCADE',
    ]
    assert INDEX_BUILD in steps[1].hazards
    assert FULL_SCAN in steps[2].hazards


def test_comment_changes():
    step = only_step(TABLE, changed(comment="all accounts"))
    assert step.statement.as_string(None) == 'COMMENT ON TABLE "app"."accounts" IS \'all accounts\''
    step = only_step(changed(comment="all accounts"), TABLE)
    assert step.statement.as_string(None) == 'COMMENT ON TABLE "app"."accounts" IS NULL'
    step = only_step(TABLE, changed(column_email={"comment": "it's the email"}))
    assert step.statement.as_string(None) == 'COMMENT ON COLUMN "app"."accounts"."email" IS \'it\'\'s the email\''
    step = only_step(changed(column_email={"comment": "old"}), TABLE)
    assert step.statement.as_string(None) == 'COMMENT ON COLUMN "app"."accounts"."email" IS NULL'


def test_rls_enable_force_and_back():
    steps = plan.alter_table(TABLE, changed(rls_enabled=True, rls_forced=True))
    assert sql_of(steps) == [
        'ALTER TABLE "app"."accounts" ENABLE ROW LEVEL SECURITY',
        'ALTER TABLE "app"."accounts" FORCE ROW LEVEL SECURITY',
    ]
    steps = plan.alter_table(changed(rls_enabled=True, rls_forced=True), TABLE)
    assert sql_of(steps) == [
        'ALTER TABLE "app"."accounts" DISABLE ROW LEVEL SECURITY',
        'ALTER TABLE "app"."accounts" NO FORCE ROW LEVEL SECURITY',
    ]


def test_columns_managed_table_leaves_comment_and_rls_alone():
    old = changed(managed="columns", constraints=[])
    new = changed(managed="columns", constraints=[], comment="x", rls_enabled=True)
    assert plan.alter_table(old, new) == []


def test_step_order_constraint_drops_column_drops_column_adds_constraint_adds():
    new = copy.deepcopy(TABLE)
    new["columns"] = [c for c in new["columns"] if c["name"] != "email"]
    new["columns"].append({"name": "state", "type": "text", "not_null": False})
    new["constraints"] = [TABLE["constraints"][0],
                          {"name": "accounts_state_check", "kind": "check", "columns": ["state"],
                           "expression": "state <> ''"}]
    steps = plan.alter_table(TABLE, new)
    assert sql_of(steps) == [
        'ALTER TABLE "app"."accounts" DROP CONSTRAINT IF EXISTS "accounts_status_check"',
        'ALTER TABLE "app"."accounts" DROP COLUMN "email"',
        'ALTER TABLE "app"."accounts" ADD COLUMN "state" text',
        'ALTER TABLE "app"."accounts" ADD CONSTRAINT "accounts_state_check" CHECK (state <> \'\')',
    ]


def test_full_order_with_column_changes_comments_and_rls():
    new = copy.deepcopy(TABLE)
    new["columns"] = [c for c in new["columns"] if c["name"] != "email"]
    new["columns"][0]["type"] = "bigint"
    new["columns"].append({"name": "state", "type": "text", "not_null": False, "comment": "state"})
    new["constraints"][1]["expression"] = "status <> ''"
    new["comment"] = "accounts"
    new["rls_enabled"] = True
    descriptions = [s.description for s in plan.alter_table(TABLE, new)]
    kinds = [d.split(" ")[0] + " " + d.split(" ")[1] for d in descriptions]
    assert kinds == [
        "drop constraint", "drop column", "add column", "change type", "add check",
        "comment on", "comment on", "enable row",
    ]


def test_create_table_steps():
    table = changed(comment="accounts", rls_enabled=True, column_email={"comment": "email"})
    assert sql_of(plan.create_table(table)) == [
        'CREATE TABLE "app"."accounts" ("id" integer NOT NULL, "tenant" bigint NOT NULL, "email" text, '
        '"status" text DEFAULT \'new\' NOT NULL, "balance" numeric(12,2), '
        'CONSTRAINT "accounts_pkey" PRIMARY KEY ("id"), '
        'CONSTRAINT "accounts_status_check" CHECK (status IN (\'new\', \'active\')))',
        'COMMENT ON TABLE "app"."accounts" IS \'accounts\'',
        'ALTER TABLE "app"."accounts" ENABLE ROW LEVEL SECURITY',
        'COMMENT ON COLUMN "app"."accounts"."email" IS \'email\'',
    ]


def test_create_and_drop_of_a_columns_managed_table_touch_only_its_columns():
    table = {"schema": "public", "name": "leads", "source": "x:1", "managed": "columns",
             "columns": [{"name": "visitor_id", "type": "uuid", "not_null": False, "comment": "v"}],
             "constraints": [{"name": "leads_visitor_id_fkey", "kind": "foreign_key", "columns": ["visitor_id"],
                              "references": {"schema": "public", "table": "visitors", "columns": ["id"]},
                              "on_delete": "set null"}]}
    assert sql_of(plan.create_table(table)) == [
        'ALTER TABLE "public"."leads" ADD COLUMN "visitor_id" uuid',
        'ALTER TABLE "public"."leads" ADD CONSTRAINT "leads_visitor_id_fkey" FOREIGN KEY ("visitor_id") '
        'REFERENCES "public"."visitors" ("id") ON DELETE SET NULL',
        'COMMENT ON COLUMN "public"."leads"."visitor_id" IS \'v\'',
    ]
    steps = plan.drop_table(table)
    assert sql_of(steps) == ['ALTER TABLE "public"."leads" DROP COLUMN "visitor_id"']
    assert DATA_LOSS in steps[0].hazards


def test_create_partitioned_table():
    table = dict(TABLE, partition_by="RANGE (id)")
    assert sql_of(plan.create_table(table))[0].endswith(') PARTITION BY RANGE (id)')
    assert "PARTITION BY" not in sql_of(plan.create_table(TABLE))[0]


@pytest.mark.parametrize("old, new", [
    (None, "RANGE (id)"),           # a plain table made partitioned
    ("RANGE (id)", None),           # a partitioned table made plain
    ("RANGE (id)", "LIST (tenant)"),  # another partition key
])
def test_partitioning_change_is_refused_not_replaced(old, new):
    before, after = dict(TABLE, partition_by=old), dict(TABLE, partition_by=new)
    with pytest.raises(plan.PlanRefused, match=r"app\.accounts .*cannot change PARTITION BY.*drop its rows"):
        plan.alter_table(before, after)


def test_other_changes_of_a_partitioned_table_are_alters():
    old = dict(TABLE, partition_by="RANGE (id)")
    new = changed(partition_by="RANGE (id)", column_email={"not_null": True})
    assert sql_of(plan.alter_table(old, new)) == ['ALTER TABLE "app"."accounts" ALTER COLUMN "email" SET NOT NULL']


def test_drop_table_is_data_loss():
    steps = plan.drop_table(TABLE)
    assert sql_of(steps) == ['DROP TABLE "app"."accounts"']
    assert DATA_LOSS in steps[0].hazards


# --- indexes ------------------------------------------------------------------------------------

INDEX = {"schema": "app", "name": "idx_accounts_email", "table": "accounts", "source": "x:2",
         "elements": [{"column": "email"}, {"expression": "lower(status)", "order": "DESC", "nulls": "LAST"}],
         "unique": True, "method": "btree", "include": ["tenant"], "where": "email IS NOT NULL",
         "with_params": ["fillfactor=90"]}


def test_create_index_in_a_transaction():
    steps = plan.create_index(INDEX, online=False)
    assert sql_of(steps) == [
        'CREATE UNIQUE INDEX "idx_accounts_email" ON "app"."accounts" USING "btree" '
        '("email", (lower(status)) DESC NULLS LAST) INCLUDE ("tenant") WITH (fillfactor=90) WHERE email IS NOT NULL'
    ]
    assert steps[0].transactional is True
    assert INDEX_BUILD in steps[0].hazards


def test_create_index_concurrently_is_not_transactional():
    steps = plan.create_index(INDEX, online=True)
    assert sql_of(steps)[0].startswith('CREATE UNIQUE INDEX CONCURRENTLY "idx_accounts_email" ON "app"."accounts"')
    assert steps[0].transactional is False
    # Still an index build (it reads the whole table), but writes continue: no share lock.
    assert steps[0].hazards == [INDEX_BUILD]
    assert plan.create_index(INDEX, online=False)[0].hazards == [INDEX_BUILD, SHARE_LOCK]


def test_drop_index_concurrently_or_not():
    assert sql_of(plan.drop_index(INDEX, online=False)) == ['DROP INDEX IF EXISTS "app"."idx_accounts_email"']
    steps = plan.drop_index(INDEX, online=True)
    assert sql_of(steps) == ['DROP INDEX CONCURRENTLY IF EXISTS "app"."idx_accounts_email"']
    assert steps[0].transactional is False


def test_index_on_a_partitioned_table_is_built_on_only_then_per_partition_online():
    index = dict(INDEX, partitioned=True)
    create = plan.create_index(index, online=True, partitions=["accounts_2026_01"])
    assert sql_of(create) == [
        'CREATE UNIQUE INDEX "idx_accounts_email" ON ONLY "app"."accounts" USING "btree" '
        '("email", (lower(status)) DESC NULLS LAST) INCLUDE ("tenant") WITH (fillfactor=90) WHERE email IS NOT NULL',
        'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "accounts_2026_01_idx_accounts_email" ON '
        '"app"."accounts_2026_01" USING "btree" ("email", (lower(status)) DESC NULLS LAST) INCLUDE ("tenant") '
        'WITH (fillfactor=90) WHERE email IS NOT NULL',
        'ALTER INDEX "app"."idx_accounts_email" ATTACH PARTITION "app"."accounts_2026_01_idx_accounts_email"',
    ]
    assert [s.transactional for s in create] == [True, False, False]
    assert [s.hazards for s in create] == [[], [INDEX_BUILD], []]
    # Offline it is one statement that builds on every partition and blocks writes.
    assert plan.create_index(index, online=False)[0].hazards == [INDEX_BUILD, SHARE_LOCK]
    # A partitioned index cannot be dropped CONCURRENTLY.
    drop = plan.drop_index(index, online=True)
    assert sql_of(drop) == ['DROP INDEX IF EXISTS "app"."idx_accounts_email"'] and drop[0].transactional is True
    assert drop[0].hazards == [INDEX_DROPPED, ACCESS_EXCLUSIVE]


def test_index_with_operator_class():
    index = {"schema": "app", "name": "idx_emb", "table": "docs", "method": "ivfflat",
             "elements": [{"column": "embedding", "opclass": "vector_cosine_ops"}], "with_params": ["lists=100"]}
    assert sql_of(plan.create_index(index, online=False)) == [
        'CREATE INDEX "idx_emb" ON "app"."docs" USING "ivfflat" ("embedding" "vector_cosine_ops") WITH (lists=100)']


# --- partitions ---------------------------------------------------------------------------------

PARTITION = {"schema": "app", "table": "event", "name": "event_2026_01", "source": "pgstack:modules[0].partitions.event",
             "from": "2026-01-01 00:00:00+00", "to": "2026-02-01 00:00:00+00", "rls_enabled": True}


def test_create_partition_with_rls():
    steps = plan.create_partition(PARTITION)
    assert sql_of(steps) == [
        'CREATE TABLE "app"."event_2026_01" PARTITION OF "app"."event" '
        "FOR VALUES FROM ('2026-01-01 00:00:00+00') TO ('2026-02-01 00:00:00+00')",
        'ALTER TABLE "app"."event_2026_01" ENABLE ROW LEVEL SECURITY',
    ]
    assert all(not s.hazards and s.transactional for s in steps)


def test_drop_partition_is_data_loss():
    steps = plan.drop_partition(PARTITION)
    assert sql_of(steps) == ['DROP TABLE "app"."event_2026_01"']
    assert steps[0].hazards == [DATA_LOSS]


def test_alter_partition_only_restores_rls():
    assert plan.alter_partition(PARTITION, dict(PARTITION)) == []
    assert sql_of(plan.alter_partition(dict(PARTITION, rls_enabled=False), PARTITION)) == [
        'ALTER TABLE "app"."event_2026_01" ENABLE ROW LEVEL SECURITY']


# --- policies -----------------------------------------------------------------------------------

POLICY = {"schema": "app", "table": "accounts", "name": "tenant_isolation", "source": "x:3",
          "command": "all", "permissive": True, "roles": ["authenticated"],
          "using": "tenant = 1", "with_check": "tenant = 1"}


def test_create_policy():
    assert sql_of(plan.create_policy(POLICY)) == [
        'CREATE POLICY "tenant_isolation" ON "app"."accounts" AS PERMISSIVE FOR ALL TO "authenticated" '
        'USING (tenant = 1) WITH CHECK (tenant = 1)']


def test_alter_policy_using_change_is_one_alter():
    new = dict(POLICY, using="tenant = 2")
    assert sql_of(plan.alter_policy(POLICY, new)) == [
        'ALTER POLICY "tenant_isolation" ON "app"."accounts" TO "authenticated" USING (tenant = 2) WITH CHECK (tenant = 1)']


def test_alter_policy_roles_change_is_one_alter():
    new = dict(POLICY, roles=["public", "anon"])
    assert sql_of(plan.alter_policy(POLICY, new)) == [
        'ALTER POLICY "tenant_isolation" ON "app"."accounts" TO PUBLIC, "anon" USING (tenant = 1) WITH CHECK (tenant = 1)']


def test_alter_policy_adding_with_check_is_one_alter():
    old = {k: v for k, v in POLICY.items() if k != "with_check"}
    steps = plan.alter_policy(old, POLICY)
    assert len(steps) == 1 and sql_of(steps)[0].startswith("ALTER POLICY")


def test_alter_policy_command_change_is_drop_and_create():
    new = dict(POLICY, command="select", with_check=None)
    new = {k: v for k, v in new.items() if v is not None}
    assert sql_of(plan.alter_policy(POLICY, new)) == [
        'DROP POLICY IF EXISTS "tenant_isolation" ON "app"."accounts"',
        'CREATE POLICY "tenant_isolation" ON "app"."accounts" AS PERMISSIVE FOR SELECT TO "authenticated" '
        'USING (tenant = 1)',
    ]


def test_alter_policy_permissive_change_is_drop_and_create():
    steps = plan.alter_policy(POLICY, dict(POLICY, permissive=False))
    assert sql_of(steps)[0].startswith("DROP POLICY")
    assert "AS RESTRICTIVE" in sql_of(steps)[1]


def test_alter_policy_removing_with_check_is_drop_and_create():
    new = {k: v for k, v in POLICY.items() if k != "with_check"}
    assert sql_of(plan.alter_policy(POLICY, new)) == [
        'DROP POLICY IF EXISTS "tenant_isolation" ON "app"."accounts"',
        'CREATE POLICY "tenant_isolation" ON "app"."accounts" AS PERMISSIVE FOR ALL TO "authenticated" '
        'USING (tenant = 1)',
    ]


# --- functions, triggers, views -----------------------------------------------------------------

def test_create_or_replace_and_drops():
    function = {"schema": "app", "name": "add", "arguments": "integer, integer", "returns": "integer",
                "definition": "CREATE OR REPLACE FUNCTION app.add(x integer, y integer) RETURNS integer "
                              "LANGUAGE sql AS $$SELECT x + y$$"}
    assert sql_of(plan.create_or_replace("function", function)) == [function["definition"]]
    assert sql_of(plan.drop_function(function)) == ['DROP FUNCTION IF EXISTS "app"."add"(integer, integer)']
    trigger = {"schema": "app", "table": "accounts", "name": "touch", "function": "app.touch", "definition": "x"}
    assert sql_of(plan.drop_trigger(trigger)) == ['DROP TRIGGER IF EXISTS "touch" ON "app"."accounts"']
    view = {"schema": "app", "name": "v", "definition": "x"}
    assert sql_of(plan.drop_view(view)) == ['DROP VIEW IF EXISTS "app"."v"']


# --- types.is_widening --------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, widening", [
    ("integer", "integer", True),
    ("smallint", "integer", True),
    ("integer", "bigint", True),
    ("smallint", "bigint", True),
    ("bigint", "integer", False),
    ("integer", "smallint", False),
    ("integer", "numeric", True),
    ("bigint", "numeric", True),
    ("integer", "numeric(10,2)", False),
    ("character varying(10)", "character varying(20)", True),
    ("character varying(20)", "character varying(10)", False),
    ("character varying(10)", "text", True),
    ("character varying(10)", "character varying", True),
    ("character varying", "text", True),
    ("text", "character varying", True),
    ("text", "character varying(10)", False),
    ("character varying", "character varying(10)", False),
    ("numeric(8,2)", "numeric(12,2)", True),
    ("numeric(12,2)", "numeric(8,2)", False),
    ("numeric(12,2)", "numeric(12,4)", False),
    ("numeric(10,2)", "numeric(12,4)", True),
    ("numeric(12,2)", "numeric", True),
    ("numeric", "numeric(12,2)", False),
    ("numeric(5,0)", "numeric(6,0)", True),
    ("real", "double precision", True),
    ("double precision", "real", False),
    ("timestamp without time zone", "timestamp with time zone", False),
    ("timestamp with time zone", "timestamp without time zone", False),
    ("text[]", "text[]", True),
    ("integer[]", "bigint[]", False),
    ("integer", "integer[]", False),
    ("bigint", "text", False),
    ("text", "uuid", False),
    ("uuid", "text", False),
    ("jsonb", "json", False),
])
def test_is_widening(old, new, widening):
    assert is_widening(old, new) is widening


@pytest.mark.parametrize("kind, obj, expected", [
    ("table", {"schema": "public", "name": "visitors", "owner": "pgstack_owner"},
     'ALTER TABLE "public"."visitors" OWNER TO "pgstack_owner"'),
    ("view", {"schema": "crm", "name": "active", "owner": "o"}, 'ALTER VIEW "crm"."active" OWNER TO "o"'),
    ("function", {"schema": "auth", "name": "uid", "arguments": "", "owner": "o"},
     'ALTER FUNCTION "auth"."uid"() OWNER TO "o"'),
    ("function", {"schema": "s", "name": "f", "arguments": "integer, text", "owner": "o"},
     'ALTER FUNCTION "s"."f"(integer, text) OWNER TO "o"'),
])
def test_change_owner(kind, obj, expected):
    step = plan.change_owner(kind, obj)
    assert step.statement.as_string(None) == expected
    assert step.hazards == [] and step.transactional
    assert obj["owner"] in step.description


# --- enum types ----------------------------------------------------------------------------------

ENUM = {"schema": "app", "name": "mood", "source": "sql/m/001_types.sql:3", "values": ["sad", "ok", "happy"]}


def test_create_and_drop_enum():
    assert sql_of(plan.create_enum(ENUM)) == ['CREATE TYPE "app"."mood" AS ENUM (\'sad\', \'ok\', \'happy\')']
    assert sql_of(plan.drop_enum(ENUM)) == ['DROP TYPE IF EXISTS "app"."mood"']
    assert [s.hazards for s in plan.create_enum(ENUM) + plan.drop_enum(ENUM)] == [[], []]


@pytest.mark.parametrize("values, expected", [
    (["sad", "ok", "happy"], []),
    (["sad", "ok", "happy", "ecstatic"], ["ADD VALUE 'ecstatic' AFTER 'happy'"]),
    (["miserable", "sad", "ok", "happy"], ["ADD VALUE 'miserable' BEFORE 'sad'"]),
    # Each new value right after the one before it in the file, which exists by then.
    (["gloomy", "sad", "meh", "ok", "happy", "glad", "elated"],
     ["ADD VALUE 'gloomy' BEFORE 'sad'", "ADD VALUE 'meh' AFTER 'sad'", "ADD VALUE 'glad' AFTER 'happy'",
      "ADD VALUE 'elated' AFTER 'glad'"]),
])
def test_new_enum_values_are_added_at_their_place(values, expected):
    steps = plan.alter_enum(ENUM, dict(ENUM, values=values))
    assert sql_of(steps) == [f'ALTER TYPE "app"."mood" {clause}' for clause in expected]
    assert all(step.transactional and not step.hazards for step in steps)


def test_values_of_an_empty_enum_are_appended():
    steps = plan.alter_enum(dict(ENUM, values=[]), dict(ENUM, values=["a", "b"]))
    assert sql_of(steps) == ['ALTER TYPE "app"."mood" ADD VALUE \'a\'', 'ALTER TYPE "app"."mood" ADD VALUE \'b\' AFTER \'a\'']


@pytest.mark.parametrize("values, problem", [
    (["sad", "happy"], "does not declare 'ok'"),
    (["sad", "okay", "happy"], "does not declare 'ok'"),  # a rename is a removal and an addition
    (["sad", "happy", "ok"], "orders the values 'sad', 'happy', 'ok', the type has them as 'sad', 'ok', 'happy'"),
    (["ok", "sad", "happy", "new"], "orders the values"),
])
def test_removing_or_reordering_enum_values_is_refused_with_the_source(values, problem):
    with pytest.raises(plan.PlanRefused) as info:
        plan.alter_enum(ENUM, dict(ENUM, values=values))
    message = str(info.value)
    assert message.startswith("enum app.mood (sql/m/001_types.sql:3): ")
    assert problem in message
    assert "RENAME VALUE" in message and "declare a new type" in message


def test_a_type_change_drops_the_default_first_and_sets_the_declared_one_after():
    """A default is cast along with its column, which fails where there is no cast (text to an
    enum) and keeps depending on the old type otherwise (an enum that could not be dropped)."""
    steps = plan.alter_table(TABLE, changed(column_status={"type": "ticket_state"}))
    assert sql_of(steps) == [
        'ALTER TABLE "app"."accounts" ALTER COLUMN "status" DROP DEFAULT',
        'ALTER TABLE "app"."accounts" ALTER COLUMN "status" TYPE ticket_state USING "status"::ticket_state',
        'ALTER TABLE "app"."accounts" ALTER COLUMN "status" SET DEFAULT \'new\'',
    ]
    steps = plan.alter_table(TABLE, changed(column_status={"type": "character varying(20)", "default": None}))
    assert sql_of(steps)[0].endswith("DROP DEFAULT") and len(steps) == 2

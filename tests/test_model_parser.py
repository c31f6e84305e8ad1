"""The SQL parser (components.model.parser): pure unit tests, no database.

Every supported statement becomes the expected model object (asserted on `.inputs()`, the dict
the Pulumi resource receives), and every bad input fails with the file, the line and a message
that says what is wrong.
"""

from pathlib import Path

import pytest

from components.model.errors import SqlModelError
from components.model.declared import DeclaredTables
from components.model.parser import ModuleParser, parse_module

ROOT = Path(__file__).resolve().parent.parent
FILE = "sql/m/001_test.sql"


def parse(text: str, *, schema: str = "app", known: DeclaredTables | None = None, roles=()):
    parser = ModuleParser("m", schema, known or DeclaredTables(), set(roles))
    parser.parse_text(FILE, text)
    return parser.module


def external(*names: str, schema: str = "app", columns=None) -> DeclaredTables:
    """Tables declared external in stack config, with primary key (id)."""
    return DeclaredTables(
        tables={(schema, n): (set(columns) if columns is not None else None) for n in names},
        primary_keys={(schema, n): ["id"] for n in names},
    )


def one_table(sql_text: str, **kwargs) -> dict:
    module = parse(sql_text, **kwargs)
    assert len(module.tables) == 1
    return module.tables[0].inputs()


def constraint(table: dict, name: str) -> dict:
    found = [c for c in table["constraints"] if c["name"] == name]
    assert found, f"no constraint {name} in {[c['name'] for c in table['constraints']]}"
    return found[0]


def column(table: dict, name: str) -> dict:
    return next(c for c in table["columns"] if c["name"] == name)


# --- schemas and extensions ---------------------------------------------------------------------

def test_create_schema():
    module = parse("-- schema\nCREATE SCHEMA app;\n")
    assert [(s.name, s.source) for s in module.schemas] == [("app", f"{FILE}:2")]


def test_create_extension_without_and_with_schema():
    module = parse("CREATE EXTENSION pgcrypto;\nCREATE EXTENSION vector SCHEMA extensions;\n")
    assert [(e.name, e.schema, e.source) for e in module.extensions] == [
        ("pgcrypto", None, f"{FILE}:1"),
        ("vector", "extensions", f"{FILE}:2"),
    ]


# --- CREATE TABLE -------------------------------------------------------------------------------

@pytest.mark.parametrize("declared, canonical", [
    ("timestamptz", "timestamp with time zone"),
    ("timestamp with time zone", "timestamp with time zone"),
    ("timestamp", "timestamp without time zone"),
    ("timestamp(3)", "timestamp(3) without time zone"),
    ("timestamptz(3)", "timestamp(3) with time zone"),
    ("time", "time without time zone"),
    ("int", "integer"),
    ("integer", "integer"),
    ("int4", "integer"),
    ("smallint", "smallint"),
    ("int8", "bigint"),
    ("bigint", "bigint"),
    ("bool", "boolean"),
    ("float8", "double precision"),
    ("double precision", "double precision"),
    ("real", "real"),
    ("varchar(20)", "character varying(20)"),
    ("character varying(20)", "character varying(20)"),
    ("varchar", "character varying"),
    ("char(2)", "character(2)"),
    ("char", "character(1)"),
    ("numeric(12,2)", "numeric(12,2)"),
    ("decimal(12,2)", "numeric(12,2)"),
    ("numeric", "numeric"),
    # format_type() always spells the scale: numeric(5) reads back as numeric(5,0).
    ("numeric(5)", "numeric(5,0)"),
    ("text", "text"),
    ("text[]", "text[]"),
    ("int[]", "integer[]"),
    ("varchar(20)[]", "character varying(20)[]"),
    ("integer[][]", "integer[]"),  # format_type() keeps no dimensions
    ("integer[3]", "integer[]"),
    ("uuid", "uuid"),
    ("jsonb", "jsonb"),
    ("vector(1536)", "vector(1536)"),
    ("pg_catalog.int4", "integer"),
])
def test_column_types_are_normalized_to_format_type(declared, canonical):
    table = one_table(f"CREATE TABLE t (c {declared});")
    assert table["columns"] == [{"name": "c", "type": canonical, "not_null": False}]


def test_table_inputs_defaults_not_null_and_source():
    table = one_table(
        "-- accounts\n"
        "CREATE TABLE accounts (\n"
        "    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),\n"
        "    email text NOT NULL,\n"
        "    status text NOT NULL DEFAULT 'new',\n"
        "    note text NULL,\n"
        "    params jsonb NOT NULL DEFAULT '{}'::jsonb,\n"
        "    created_at timestamptz NOT NULL DEFAULT now()\n"
        ");\n"
    )
    assert table == {
        "schema": "app", "name": "accounts", "source": f"{FILE}:2", "managed": "table",
        "columns": [
            {"name": "id", "type": "uuid", "not_null": True, "default": "gen_random_uuid()"},
            {"name": "email", "type": "text", "not_null": True},
            {"name": "status", "type": "text", "not_null": True, "default": "'new'"},
            {"name": "note", "type": "text", "not_null": False},
            {"name": "params", "type": "jsonb", "not_null": True, "default": "CAST('{}' AS jsonb)"},
            {"name": "created_at", "type": "timestamp with time zone", "not_null": True, "default": "now()"},
        ],
        "constraints": [{"name": "accounts_pkey", "kind": "primary_key", "columns": ["id"]}],
        "rls_enabled": False, "rls_forced": False,
    }


def test_primary_key_makes_columns_not_null_column_and_table_level():
    table = one_table("CREATE TABLE t (a integer, b text, PRIMARY KEY (a, b));")
    assert column(table, "a")["not_null"] and column(table, "b")["not_null"]
    assert constraint(table, "t_pkey") == {"name": "t_pkey", "kind": "primary_key", "columns": ["a", "b"]}
    table = one_table("CREATE TABLE t (id bigint PRIMARY KEY);")
    assert column(table, "id")["not_null"] is True


def test_generated_constraint_names_follow_postgresql():
    table = one_table(
        "CREATE TABLE t (\n"
        "    id integer PRIMARY KEY,\n"
        "    a integer UNIQUE CHECK (a > 0) REFERENCES t (id),\n"
        "    b integer,\n"
        "    c integer,\n"
        "    UNIQUE (a, b),\n"
        "    CHECK (b < c)\n"
        ");"
    )
    assert [(c["name"], c["kind"]) for c in table["constraints"]] == [
        ("t_pkey", "primary_key"),
        ("t_a_key", "unique"),
        ("t_a_check", "check"),
        ("t_a_fkey", "foreign_key"),
        ("t_a_b_key", "unique"),
        ("t_check", "check"),  # table-level CHECK over several columns
    ]
    assert constraint(table, "t_a_check")["expression"] == "a > 0"
    assert constraint(table, "t_check")["expression"] == "b < c"


def test_check_names_come_from_the_one_column_the_expression_uses():
    # PostgreSQL (AddRelationNewConstraints) names a CHECK tab_col_check when its expression uses
    # exactly one column, wherever it is written, and tab_check otherwise; repeats get a number.
    table = one_table(
        "CREATE TABLE t (\n"
        "    a integer CHECK (a > 0),\n"
        "    b integer CHECK (b > a),\n"
        "    CHECK (a < 100),\n"
        "    CHECK (b IS NOT NULL)\n"
        ");"
    )
    assert [c["name"] for c in table["constraints"]] == ["t_a_check", "t_check", "t_a_check1", "t_b_check"]


def test_explicit_constraint_names_are_kept_and_long_generated_names_are_truncated():
    long_table, long_column = "t" * 40, "c" * 40
    table = one_table(
        f"CREATE TABLE {long_table} (\n"
        f"    a integer CONSTRAINT a_positive CHECK (a > 0),\n"
        f"    {long_column} text UNIQUE\n"
        f");"
    )
    names = [c["name"] for c in table["constraints"]]
    assert names[0] == "a_positive"
    # makeObjectName(): shorten the longer part first until name_col_key fits in 63 bytes.
    assert names[1] == "t" * 29 + "_" + "c" * 29 + "_key"
    assert len(names[1]) == 63


def test_foreign_keys_with_actions_column_and_table_level():
    module = parse(
        "CREATE TABLE parents (id uuid PRIMARY KEY, code text UNIQUE);\n"
        "CREATE TABLE children (\n"
        "    id uuid PRIMARY KEY,\n"
        "    parent_id uuid NOT NULL REFERENCES parents ON DELETE CASCADE,\n"
        "    other_id uuid,\n"
        "    code text,\n"
        "    FOREIGN KEY (other_id) REFERENCES parents (id) ON DELETE SET NULL,\n"
        "    CONSTRAINT children_code_ref FOREIGN KEY (code) REFERENCES parents (code) ON UPDATE CASCADE\n"
        ");\n"
    )
    children = module.table("children").inputs()
    assert constraint(children, "children_parent_id_fkey") == {
        "name": "children_parent_id_fkey", "kind": "foreign_key", "columns": ["parent_id"],
        "references": {"schema": "app", "table": "parents", "columns": ["id"]},  # the primary key
        "on_delete": "cascade",
    }
    assert constraint(children, "children_other_id_fkey")["on_delete"] == "set null"
    assert constraint(children, "children_other_id_fkey")["references"]["columns"] == ["id"]
    code_ref = constraint(children, "children_code_ref")
    assert code_ref["references"]["columns"] == ["code"]
    assert code_ref["on_update"] == "cascade" and "on_delete" not in code_ref


def test_foreign_key_to_an_external_table_uses_its_declared_primary_key():
    table = one_table(
        "CREATE TABLE notes (id uuid PRIMARY KEY, lead_id uuid REFERENCES leads ON DELETE CASCADE);",
        known=external("leads"),
    )
    assert constraint(table, "notes_lead_id_fkey")["references"] == {"schema": "app", "table": "leads", "columns": ["id"]}


def test_self_referencing_foreign_key():
    table = one_table("CREATE TABLE nodes (id uuid PRIMARY KEY, parent_id uuid REFERENCES nodes (id));")
    assert constraint(table, "nodes_parent_id_fkey")["references"]["table"] == "nodes"


def test_identity_columns():
    table = one_table(
        "CREATE TABLE t (\n"
        "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
        "    seq integer GENERATED BY DEFAULT AS IDENTITY\n"
        ");"
    )
    assert column(table, "id") == {"name": "id", "type": "bigint", "not_null": True, "identity": "always"}
    assert column(table, "seq") == {"name": "seq", "type": "integer", "not_null": True, "identity": "by default"}


def test_partitioned_table_keeps_its_partition_spec():
    table = one_table(
        "CREATE TABLE e (\n"
        "    tenant_id bigint NOT NULL,\n"
        "    id uuid NOT NULL,\n"
        "    occurred_at timestamptz NOT NULL,\n"
        "    PRIMARY KEY (tenant_id, id, occurred_at)\n"
        ") PARTITION BY range (occurred_at);"
    )
    assert table["partition_by"] == "RANGE (occurred_at)"  # as pg_get_partkeydef() spells it
    assert "partition_key" not in table  # derived, for the program; not a resource input


def test_partition_spec_list_hash_and_expression():
    assert one_table("CREATE TABLE l (region text) PARTITION BY LIST (region);")["partition_by"] == "LIST (region)"
    assert one_table("CREATE TABLE h (a int, b int) PARTITION BY HASH (a, b);")["partition_by"] == "HASH (a, b)"
    module = parse("CREATE TABLE x (at timestamptz) PARTITION BY RANGE ((at::date));")
    assert module.tables[0].partition_by.startswith("RANGE (")
    assert module.tables[0].partition_key == []  # an expression, not a column


def test_plain_table_has_no_partition_input():
    assert "partition_by" not in one_table("CREATE TABLE t (a integer);")


# --- CREATE INDEX -------------------------------------------------------------------------------

TABLE_T = "CREATE TABLE t (id uuid PRIMARY KEY, a integer, b text, c timestamptz, tags text[], embedding vector(3));\n"


def test_plain_index():
    module = parse(TABLE_T + "CREATE INDEX idx_t_a ON t (a);\n")
    assert module.indexes[0].inputs() == {
        "schema": "app", "name": "idx_t_a", "table": "t", "source": f"{FILE}:2",
        "elements": [{"column": "a"}], "unique": False, "method": "btree", "include": [], "with_params": [],
    }


def test_unique_index_with_expression_order_include_and_where():
    module = parse(TABLE_T + "CREATE UNIQUE INDEX idx_t_b ON t (lower(b), c DESC NULLS LAST) INCLUDE (a) WHERE a > 0;\n")
    assert module.indexes[0].inputs() == {
        "schema": "app", "name": "idx_t_b", "table": "t", "source": f"{FILE}:2",
        "elements": [{"expression": "lower(b)"}, {"column": "c", "order": "DESC", "nulls": "LAST"}],
        "unique": True, "method": "btree", "include": ["a"], "where": "a > 0", "with_params": [],
    }


def test_index_method_operator_class_and_with_params():
    module = parse(
        TABLE_T
        + "CREATE INDEX idx_t_tags ON t USING gin (tags);\n"
        + "CREATE INDEX idx_t_embedding ON t USING ivfflat (embedding vector_cosine_ops) WITH (lists=100);\n"
        + "CREATE INDEX idx_t_b_pattern ON t (b text_pattern_ops ASC NULLS FIRST);\n"
    )
    gin, ivf, pattern = (i.inputs() for i in module.indexes)
    assert gin["method"] == "gin" and gin["elements"] == [{"column": "tags"}]
    assert ivf["method"] == "ivfflat"
    assert ivf["elements"] == [{"column": "embedding", "opclass": "vector_cosine_ops"}]
    assert ivf["with_params"] == ["lists=100"]
    assert pattern["elements"] == [{"column": "b", "opclass": "text_pattern_ops", "order": "ASC", "nulls": "FIRST"}]


def test_index_on_a_partitioned_table_is_marked():
    module = parse("CREATE TABLE e (tenant_id bigint, at date) PARTITION BY RANGE (at);\n"
                   "CREATE INDEX idx_e_tenant ON e (tenant_id);\n"
                   "CREATE UNIQUE INDEX idx_e_tenant_at ON e (tenant_id, at);\n" + TABLE_T
                   + "CREATE INDEX idx_t_a ON t (a);\n")
    on_e, unique_on_e, on_t = (i.inputs() for i in module.indexes)
    assert on_e["partitioned"] is True and unique_on_e["partitioned"] is True
    assert "partitioned" not in on_t  # unchanged inputs for indexes on plain tables


# --- ALTER TABLE --------------------------------------------------------------------------------

def test_enable_and_force_row_level_security():
    module = parse(
        TABLE_T
        + "CREATE TABLE u (id uuid PRIMARY KEY);\n"
        + "ALTER TABLE t ENABLE ROW LEVEL SECURITY;\n"
        + "ALTER TABLE t FORCE ROW LEVEL SECURITY;\n"
        + "ALTER TABLE u ENABLE ROW LEVEL SECURITY;\n"
    )
    t, u = module.table("t").inputs(), module.table("u").inputs()
    assert (t["rls_enabled"], t["rls_forced"]) == (True, True)
    assert (u["rls_enabled"], u["rls_forced"]) == (True, False)


def test_add_column_to_an_external_table_manages_only_the_added_columns():
    module = parse(
        "CREATE TABLE visitors (id uuid PRIMARY KEY);\n"
        "\n"
        "ALTER TABLE leads\n"
        "    ADD COLUMN visitor_id uuid REFERENCES visitors (id) ON DELETE SET NULL,\n"
        "    ADD COLUMN score integer NOT NULL DEFAULT 0 CHECK (score >= 0);\n"
        "COMMENT ON COLUMN leads.score IS 'lead score';\n",
        known=external("leads"),
    )
    leads = module.table("leads")
    assert leads.managed == "columns"
    assert leads.inputs() == {
        "schema": "app", "name": "leads", "source": f"{FILE}:3", "managed": "columns",
        "columns": [
            {"name": "visitor_id", "type": "uuid", "not_null": False},
            {"name": "score", "type": "integer", "not_null": True, "default": "0", "comment": "lead score"},
        ],
        "constraints": [
            {"name": "leads_visitor_id_fkey", "kind": "foreign_key", "columns": ["visitor_id"],
             "references": {"schema": "app", "table": "visitors", "columns": ["id"]}, "on_delete": "set null"},
            {"name": "leads_score_check", "kind": "check", "columns": ["score"], "expression": "score >= 0"},
        ],
    }
    # The module does not own leads: no comment and no RLS flags in its inputs.
    assert not {"comment", "rls_enabled", "rls_forced"} & set(leads.inputs())


def test_add_column_to_a_table_of_the_module():
    table = one_table("CREATE TABLE t (id uuid PRIMARY KEY);\nALTER TABLE t ADD COLUMN extra text NOT NULL DEFAULT '';\n")
    assert table["managed"] == "table"
    assert [c["name"] for c in table["columns"]] == ["id", "extra"]


def test_indexes_and_policies_on_an_extended_table_see_its_existing_columns():
    module = parse(
        "ALTER TABLE leads ADD COLUMN visitor_id uuid;\n"
        "CREATE INDEX idx_leads_email ON leads (email);\n"
        "CREATE POLICY leads_own ON leads USING (email = current_user);\n",
        known=external("leads", columns={"id", "email"}),
    )
    assert module.indexes[0].elements[0].column == "email"
    assert module.policies[0].using == "email = CURRENT_USER"


# --- CREATE POLICY ------------------------------------------------------------------------------

def test_policies():
    module = parse(
        TABLE_T
        + "CREATE POLICY p_all ON t USING (a > 0);\n"
        + "CREATE POLICY p_select ON t FOR SELECT TO authenticated, editor USING (a = 1);\n"
        + "CREATE POLICY p_insert ON t AS RESTRICTIVE FOR INSERT TO anon WITH CHECK (b IS NOT NULL);\n"
        + "CREATE POLICY p_update ON t FOR UPDATE TO service_role USING (true) WITH CHECK (a >= 0);\n"
        + "CREATE POLICY p_delete ON t FOR DELETE TO public USING (false);\n",
        roles={"editor"},
    )
    policies = {p.name: p.inputs() for p in module.policies}
    assert policies["p_all"] == {
        "schema": "app", "table": "t", "name": "p_all", "source": f"{FILE}:2",
        "command": "all", "permissive": True, "roles": ["public"], "using": "a > 0",
    }
    assert policies["p_select"]["command"] == "select"
    assert policies["p_select"]["roles"] == ["authenticated", "editor"]
    assert policies["p_insert"] == {
        "schema": "app", "table": "t", "name": "p_insert", "source": f"{FILE}:4",
        "command": "insert", "permissive": False, "roles": ["anon"], "with_check": "b IS NOT NULL",
    }
    assert (policies["p_update"]["using"], policies["p_update"]["with_check"]) == ("TRUE", "a >= 0")
    assert policies["p_delete"]["command"] == "delete" and policies["p_delete"]["roles"] == ["public"]


# --- COMMENT ON ---------------------------------------------------------------------------------

def test_comments_on_table_and_column():
    table = one_table(TABLE_T + "COMMENT ON TABLE t IS 'the t table';\nCOMMENT ON COLUMN t.a IS 'it''s a';\n")
    assert table["comment"] == "the t table"
    assert column(table, "a")["comment"] == "it's a"
    assert "comment" not in column(table, "b")


# --- functions, triggers, views -----------------------------------------------------------------

def test_function_definition_is_schema_qualified_create_or_replace():
    module = parse(
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN NEW.c := now(); RETURN NEW; END\n"
        "$$;\n"
        "CREATE OR REPLACE FUNCTION app.add(x int, y integer, OUT total bigint) LANGUAGE sql AS 'SELECT x + y';\n"
    )
    touch, add = (f.inputs() for f in module.functions)
    assert touch["schema"] == "app" and touch["name"] == "touch"
    assert touch["arguments"] == "" and touch["returns"] == "trigger"
    assert touch["definition"].startswith("CREATE OR REPLACE FUNCTION app.touch() RETURNS trigger")
    assert "NEW.c := now()" in touch["definition"]
    assert touch["source"] == f"{FILE}:1"
    assert add["arguments"] == "integer, integer"  # OUT parameters are not part of the identity
    assert add["definition"].startswith("CREATE OR REPLACE FUNCTION app.add(")
    assert add["source"] == f"{FILE}:4"


def test_trigger_is_create_or_replace_with_qualified_function_and_table():
    module = parse(
        TABLE_T
        + "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n"
        + "CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();\n"
    )
    trigger = module.triggers[0].inputs()
    assert trigger["schema"] == "app" and trigger["table"] == "t" and trigger["name"] == "t_touch"
    assert trigger["function"] == "app.touch"
    assert trigger["definition"].startswith("CREATE OR REPLACE TRIGGER t_touch BEFORE UPDATE ON app.t")
    assert "app.touch()" in trigger["definition"]


def test_view_definition_qualifies_module_tables_and_runs_as_the_caller():
    module = parse(TABLE_T + "CREATE VIEW positive_t AS SELECT id, a FROM t WHERE a > 0;\n")
    view = module.views[0]
    assert view.inputs() == {
        "schema": "app", "name": "positive_t", "source": f"{FILE}:2",
        "definition": "CREATE OR REPLACE VIEW app.positive_t WITH (security_invoker = true) AS "
                      "SELECT id, a FROM app.t WHERE a > 0",
    }
    assert view.reads == [("app", "t")]


@pytest.mark.parametrize("options", ["security_invoker = true", "security_invoker", "security_invoker = on",
                                     "security_barrier, security_invoker = 'yes'"])
def test_a_view_that_says_security_invoker_keeps_its_spelling(options):
    view = parse(TABLE_T + f"CREATE VIEW v WITH ({options}) AS SELECT id FROM t;\n").views[0]
    assert view.definition.startswith("CREATE OR REPLACE VIEW app.v WITH (")
    assert view.definition.count("security_invoker") == 1


def test_a_view_reads_tables_and_views_of_earlier_modules():
    """The view resource waits for them (stack/schema_module.py): without it, a view over an
    earlier module's table was created before the table."""
    known = DeclaredTables(tables={("scratch", "t"): {"id"}, ("public", "p"): {"id"}, ("app", "shared"): {"id"}},
                           views={("scratch", "v")})
    module = parse(TABLE_T + "CREATE VIEW own AS SELECT id FROM t;\n"
                   "CREATE VIEW v AS WITH p AS (SELECT 1 AS id) SELECT t.id FROM scratch.t, scratch.v, own, shared, p\n"
                   "    UNION SELECT id FROM public.p UNION SELECT id FROM elsewhere.x;\n"
                   "CREATE VIEW w AS SELECT id FROM p;\n", known=known)
    own, v, w = module.views
    assert own.reads == [("app", "t")]
    assert v.reads == [("app", "own"), ("app", "shared"), ("public", "p"), ("scratch", "t"), ("scratch", "v")]
    assert "FROM scratch.t, scratch.v, app.own, app.shared, p" in v.definition  # p is the CTE
    assert w.reads == [("public", "p")] and "FROM p" in w.definition  # found through the search path


def test_a_view_with_its_owners_rights_is_an_opt_in_with_a_reason():
    text = (TABLE_T + "-- pgstack: accept security_definer_view: the public counter shows every shop's total,\n"
            "--   never a row\n"
            "CREATE VIEW totals WITH (security_invoker = false) AS SELECT count(*) FROM t;\n")
    view = parse(text).views[0]
    assert "WITH (security_invoker = false)" in view.definition
    assert view.inputs()["accepted"] == {
        "security_definer_view": "the public counter shows every shop's total, never a row"}


def test_a_security_definer_function_is_an_opt_in_with_a_reason_and_a_search_path():
    function = parse("-- pgstack: accept security_definer_function: looks up the caller's shop in a table\n"
                     "--   callers may not read\n"
                     "CREATE FUNCTION my_shop() RETURNS text LANGUAGE sql STABLE SECURITY DEFINER\n"
                     "    SET search_path = '' AS $$ SELECT 'x' $$;\n").functions[0]
    assert "SECURITY DEFINER" in function.definition
    assert function.inputs()["accepted"] == {
        "security_definer_function": "looks up the caller's shop in a table callers may not read"}
    invoker = parse("CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY INVOKER AS 'SELECT 1';\n").functions[0]
    assert "accepted" not in invoker.inputs()


REASON = "-- pgstack: accept security_definer_function: a reason\n"
DEFINER = "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER {} AS 'SELECT 1';\n"


@pytest.mark.parametrize("text, line, message", [
    (TABLE_T + "\nCREATE VIEW v WITH (security_invoker = false) AS SELECT id FROM t;\n", 3,
     "view app.v sets security_invoker = false: it would read its tables with the rights of its owner, whom row "
     "level security does not bind, so every caller would see every row. Leave the option out (a view runs with "
     "the caller's rights by default); or, if it must, say why above the statement: "
     "`-- pgstack: accept security_definer_view: <reason>`"),
    (TABLE_T + "CREATE VIEW v WITH (security_invoker = off) AS SELECT id FROM t;\n", 2, "security_invoker = false"),
    (TABLE_T + "CREATE VIEW v WITH (security_invoker = maybe) AS SELECT id FROM t;\n", 2,
     "view v: security_invoker must be true or false"),
    (TABLE_T + "-- pgstack: accept security_definer_view: why not\nCREATE VIEW v AS SELECT id FROM t;\n", 3,
     "`-- pgstack: accept security_definer_view` accepts nothing here: view app.v runs with the caller's rights"),
    ("\n" + DEFINER.format("SET search_path = ''"), 2,
     "function app.f() is SECURITY DEFINER: it runs with the rights of its owner, whom row level security does not "
     "bind. Make it SECURITY INVOKER (the default); or, if it must, say why above the statement: "
     "`-- pgstack: accept security_definer_function: <reason>`"),
    (REASON + DEFINER.format(""), 2,
     "function f() is SECURITY DEFINER and does not fix its search_path: any caller could put their own functions "
     "or operators first in the path and have them run with its owner's rights. Add `SET search_path = ''`"),
    (REASON + DEFINER.format("SET search_path FROM CURRENT"), 2, "does not fix its search_path"),
    (REASON + "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n", 2,
     "accepts nothing here: function app.f() is not SECURITY DEFINER"),
    ("-- pgstack: accept security_definer_view: x\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n", 1,
     "security_definer_view findings are about a view: put the annotation above its CREATE VIEW statement"),
])
def test_views_and_functions_with_their_owners_rights_are_refused_without_a_reason(text, line, message):
    with pytest.raises(SqlModelError) as info:
        parse(text)
    assert (info.value.file, info.value.line) == (FILE, line)
    assert message in info.value.message


def test_source_lines_skip_leading_comments():
    module = parse("-- one\n-- two\n\n/* block\n comment */\nCREATE TABLE t (id uuid);\n\n-- next\nCREATE INDEX i ON t (id);\n")
    assert module.tables[0].source == f"{FILE}:6"
    assert module.indexes[0].source == f"{FILE}:9"


# --- enum types ---------------------------------------------------------------------------------

def test_enum_type_with_its_values_in_order():
    module = parse("CREATE TABLE t (id integer);\n\nCREATE TYPE app.mood AS ENUM ('sad', 'ok', 'it''s fine');\n")
    assert [e.inputs() for e in module.enums] == [
        {"schema": "app", "name": "mood", "source": f"{FILE}:3", "values": ["sad", "ok", "it's fine"]}]
    assert parse("CREATE TYPE nothing_yet AS ENUM ();").enums[0].values == []


@pytest.mark.parametrize("written, spelled", [
    ("mood", "mood"),
    ("app.mood", "mood"),  # the module's schema comes first in the provider's search path
    ("mood[]", "mood[]"),
    ('"Mood Ring"', '"Mood Ring"'),
    ('"Mood Ring"[]', '"Mood Ring"[]'),
    ('"values"', '"values"'),  # a keyword PostgreSQL quotes (not an unreserved one)
])
def test_columns_of_an_enum_type_are_spelled_as_format_type_spells_them(written, spelled):
    name = written.removesuffix("[]").removeprefix("app.")
    module = parse(f"CREATE TYPE {name} AS ENUM ('a');\nCREATE TABLE t (m {written} DEFAULT 'a');\n")
    table = module.tables[0]
    assert column(table.inputs(), "m") == {"name": "m", "type": spelled, "not_null": False, "default": "'a'"}
    assert table.enum_types == [("app", name.strip('"'))]
    assert "enum_types" not in table.inputs()


def test_enums_of_earlier_modules_resolve_through_the_search_path():
    known = DeclaredTables(enums={("public", "tier"), ("billing", "plan"), ("app", "shadowing")})
    module = parse("CREATE TABLE t (a tier, b billing.plan, c public.tier, d plan, e shadowing);", known=known)
    types = {c["name"]: c["type"] for c in module.tables[0].inputs()["columns"]}
    # public is in the search path (unqualified, as format_type() says it); billing is not.
    assert types == {"a": "tier", "b": "billing.plan", "c": "tier", "d": "plan", "e": "shadowing"}
    assert module.tables[0].enum_types == [("public", "tier"), ("billing", "plan"), ("app", "shadowing")]


def test_an_enum_of_the_module_hides_one_of_the_same_name_in_public():
    module = parse("CREATE TYPE tier AS ENUM ('a');\nCREATE TABLE t (own tier, theirs public.tier);",
                   known=DeclaredTables(enums={("public", "tier")}))
    assert [c["type"] for c in module.tables[0].inputs()["columns"]] == ["tier", "public.tier"]


def test_function_signatures_spell_enum_types_as_the_catalog_does():
    module = parse("CREATE TYPE mood AS ENUM ('a');\n"
                   "CREATE FUNCTION cheer(m app.mood, ms mood[]) RETURNS app.mood LANGUAGE sql AS 'SELECT m';\n")
    function = module.functions[0]
    assert (function.arguments, function.returns) == ("mood, mood[]", "mood")


def test_parse_module_registers_enums_for_later_modules(tmp_path):
    folder = tmp_path / "sql" / "a"
    folder.mkdir(parents=True)
    (folder / "001_types.sql").write_text("CREATE TYPE tier AS ENUM ('free', 'paid');\n")
    known = DeclaredTables()
    known.add_module(parse_module("a", "public", folder, known))
    assert known.enums == {("public", "tier")}


# --- bad input ----------------------------------------------------------------------------------
#
# Each case is the text after a common head (comment lines, then table t); the line marked
# `-- <--` is the one the error must name.

HEAD = (
    "-- module m, file 001\n"
    "-- a few comment lines so that line numbers mean something\n"
    "\n"
    "CREATE TABLE t (id uuid PRIMARY KEY, a integer, b text);\n"
    "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n"
    "\n"
)
MARK = "-- <--"

BAD_INPUTS = [
    ("syntax error", "CREATE TABLE x (\n  a integer,\n  b integer,\n); " + MARK, ["syntax error"]),
    # Unsupported statements are named as written, not by the parser's node names.
    ("drop table", "DROP TABLE t; " + MARK, ["DROP TABLE is not supported", "remove the object's CREATE"]),
    ("insert", "INSERT INTO t (a) VALUES (1); " + MARK, ["INSERT is not supported", "sample"]),
    ("grant", "GRANT SELECT ON t TO anon; " + MARK, ["GRANT/REVOKE is not supported", "pgstack:grants"]),
    ("do block", "DO $$ BEGIN PERFORM 1; END $$; " + MARK, ["DO is not supported", "CREATE SCHEMA/"]),
    ("update", "UPDATE t SET a = 1; " + MARK, ["UPDATE is not supported"]),
    ("composite type", "CREATE TYPE pair AS (a integer, b integer); " + MARK,
     ["CREATE TYPE … AS (…) is not supported", "only CREATE TYPE … AS ENUM"]),
    ("range type", "CREATE TYPE span AS RANGE (subtype = integer); " + MARK, ["CREATE TYPE … AS RANGE is not supported"]),
    ("shell type", "CREATE TYPE opaque_thing; " + MARK, ["CREATE TYPE", "AS ENUM"]),
    ("domain", "CREATE DOMAIN positive AS integer CHECK (VALUE > 0); " + MARK,
     ["CREATE DOMAIN is not supported", "CHECK constraint"]),
    ("enum value declared twice", "CREATE TYPE mood AS ENUM ( " + MARK + "\n  'sad',\n  'sad');",
     ["enum mood", "'sad'", "declared twice"]),
    ("empty enum value", "CREATE TYPE mood AS ENUM (''); " + MARK, ["enum mood", "1 to 63 bytes"]),
    ("enum value too long", "CREATE TYPE mood AS ENUM ('" + "x" * 64 + "'); " + MARK, ["1 to 63 bytes"]),
    ("enum qualified with another schema", "CREATE TYPE other.mood AS ENUM ('a'); " + MARK, ["another schema"]),
    ("enum named like a table", "CREATE TYPE t AS ENUM ('a'); " + MARK, ["app.t", "declared twice", "row type"]),
    ("table named like an enum", "CREATE TYPE x AS ENUM ('a');\nCREATE TABLE x (a integer); " + MARK,
     ["app.x", "declared twice"]),
    ("duplicate enum", "CREATE TYPE x AS ENUM ('a');\nCREATE TYPE x AS ENUM ('b'); " + MARK, ["app.x", "declared twice"]),
    ("enum declared after its use", "CREATE TABLE x (m mood);\nCREATE TYPE mood AS ENUM ('a'); " + MARK,
     ["enum mood is declared after its first use", f"{FILE}:7", "declare the type before"]),
    ("sequence", "CREATE SEQUENCE s; " + MARK, ["CREATE SEQUENCE is not supported", "identity column"]),
    ("materialized view", "CREATE MATERIALIZED VIEW mv AS SELECT a FROM t; " + MARK,
     ["CREATE MATERIALIZED VIEW is not supported"]),
    ("create table as", "CREATE TABLE x AS SELECT a FROM t; " + MARK, ["CREATE TABLE … AS is not supported"]),
    ("create role", "CREATE ROLE r; " + MARK, ["CREATE ROLE is not supported", "pgstack:roles"]),
    ("rule", "CREATE OR REPLACE RULE r AS ON INSERT TO t DO INSTEAD NOTHING; " + MARK, ["CREATE RULE is not supported"]),
    ("create table if not exists", "CREATE TABLE IF NOT EXISTS x (a integer); " + MARK, ["IF NOT EXISTS"]),
    ("create index if not exists", "CREATE INDEX IF NOT EXISTS i ON t (a); " + MARK, ["IF NOT EXISTS"]),
    ("add column if not exists", "ALTER TABLE t ADD COLUMN IF NOT EXISTS c text; " + MARK, ["IF NOT EXISTS"]),
    ("duplicate table", "CREATE TABLE t (a integer); " + MARK, ["app.t", "declared twice"]),
    ("duplicate column", "CREATE TABLE x (\n  a integer,\n  a text " + MARK + "\n);", ["column a", "declared twice"]),
    ("duplicate index", "CREATE INDEX i ON t (a);\nCREATE INDEX i ON t (b); " + MARK, ["app.i", "declared twice"]),
    ("index named like a table", "CREATE INDEX t ON t (a); " + MARK, ["app.t", "declared twice"]),
    ("duplicate policy", "CREATE POLICY p ON t USING (true);\nCREATE POLICY p ON t USING (false); " + MARK,
     ["policy p", "declared twice"]),
    ("duplicate constraint name",
     "CREATE TABLE x (\n  a integer CONSTRAINT c CHECK (a > 0),\n  b integer CONSTRAINT c CHECK (b > 0) " + MARK + "\n);",
     ["constraint c", "declared twice"]),
    ("two primary keys", "CREATE TABLE x (\n  a integer PRIMARY KEY,\n  b integer PRIMARY KEY " + MARK + "\n);",
     ["two primary keys"]),
    ("unknown referenced table", "CREATE TABLE x (\n  id uuid,\n  y_id uuid REFERENCES y (id) " + MARK + "\n);",
     ["app.y", "not declared"]),
    ("unknown referenced column", "CREATE TABLE x (\n  id uuid,\n  t_id uuid REFERENCES t (nope) " + MARK + "\n);",
     ["column nope", "does not exist", "app.t"]),
    ("foreign key with no referenced columns and no primary key",
     "CREATE TABLE x (\n  id uuid,\n  e_id uuid REFERENCES ext " + MARK + "\n);", ["name the referenced column"]),
    ("unknown column in index", "CREATE INDEX i ON t (nope); " + MARK, ["column nope", "does not exist"]),
    ("unknown column in index expression", "CREATE INDEX i ON t (\n  lower(nope) " + MARK + "\n);",
     ["column nope", "does not exist"]),
    ("unknown column in index WHERE", "CREATE INDEX i ON t (a)\n  WHERE nope > 0; " + MARK, ["column nope", "does not exist"]),
    ("unknown column in CHECK", "CREATE TABLE x (\n  a integer,\n  CHECK (nope > 0) " + MARK + "\n);",
     ["column nope", "does not exist", "table x"]),
    ("unknown column in policy USING", "CREATE POLICY p ON t\n  USING (nope = 1); " + MARK,
     ["column nope", "does not exist", "table t"]),
    ("unknown column in policy WITH CHECK", "CREATE POLICY p ON t FOR INSERT\n  WITH CHECK (nope = 1); " + MARK,
     ["column nope", "does not exist"]),
    ("index on unknown table", "CREATE INDEX i ON nope (a); " + MARK, ["app.nope", "not declared"]),
    ("policy on unknown table", "CREATE POLICY p ON nope USING (true); " + MARK, ["app.nope", "not declared"]),
    ("policy with unknown role", "CREATE POLICY p ON t TO authenticated, nobody USING (true); " + MARK,
     ["role nobody", "not declared"]),
    ("table qualified with another schema", "CREATE TABLE other.x (a integer); " + MARK, ["another schema", "other"]),
    ("view qualified with another schema", "CREATE VIEW other.v AS SELECT 1; " + MARK, ["another schema"]),
    ("function qualified with another schema", "CREATE FUNCTION other.g() RETURNS int LANGUAGE sql AS 'SELECT 1'; " + MARK,
     ["another schema"]),
    ("serial type", "CREATE TABLE x (\n  id serial PRIMARY KEY " + MARK + "\n);", ["serial", "identity"]),
    ("bigserial type", "CREATE TABLE x (\n  id bigserial " + MARK + "\n);", ["bigserial", "not supported"]),
    ("alter table drop column", "ALTER TABLE t DROP COLUMN a; " + MARK, ["DropColumn", "not supported"]),
    ("alter table alter column type", "ALTER TABLE t ALTER COLUMN a TYPE bigint; " + MARK, ["not supported"]),
    ("alter table if exists", "ALTER TABLE IF EXISTS t ENABLE ROW LEVEL SECURITY; " + MARK, ["IF EXISTS"]),
    ("add column to unknown table", "ALTER TABLE nope ADD COLUMN c text; " + MARK, ["app.nope", "not declared"]),
    ("rls on a table the module does not create", "ALTER TABLE ext ENABLE ROW LEVEL SECURITY; " + MARK,
     ["app.ext", "does not create it"]),
    ("comment on unknown column", "COMMENT ON COLUMN t.nope IS 'x'; " + MARK, ["column nope", "does not exist"]),
    ("comment on unknown table", "COMMENT ON TABLE nope IS 'x'; " + MARK, ["app.nope", "not declared"]),
    ("comment on a function", "COMMENT ON FUNCTION f() IS 'x'; " + MARK, ["COMMENT ON TABLE", "COMMENT ON COLUMN"]),
    ("trigger with undeclared function",
     "CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION nope(); " + MARK,
     ["trigger function nope", "not declared"]),
    ("duplicate trigger",
     "CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f();\n"
     "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f(); " + MARK, ["trigger tr", "declared twice"]),
    ("unnamed index", "CREATE INDEX ON t (a); " + MARK, ["name"]),
    ("concurrently", "CREATE INDEX CONCURRENTLY i ON t (a); " + MARK, ["CONCURRENTLY"]),
    ("partition of", "CREATE TABLE x PARTITION OF t FOR VALUES FROM (1) TO (2); " + MARK,
     ["PARTITION OF", "stack config"]),
    ("partition key column unknown", "CREATE TABLE x (a integer) PARTITION BY RANGE (nope); " + MARK,
     ["partition key column nope", "does not exist"]),
    ("partition key expression with unknown column", "CREATE TABLE x (a integer) PARTITION BY RANGE ((nope + 1)); " + MARK,
     ["column nope", "does not exist"]),
    ("partition key with operator class", "CREATE TABLE x (a text) PARTITION BY RANGE (a text_pattern_ops); " + MARK,
     ["operator classes"]),
    ("primary key without the partition key",
     "CREATE TABLE x (id integer PRIMARY KEY, at date) PARTITION BY RANGE (at); " + MARK, ["x_pkey", "partition key (at)"]),
    ("unique index without the partition key",
     "CREATE TABLE x (id integer, at date) PARTITION BY RANGE (at);\nCREATE UNIQUE INDEX i ON x (id); " + MARK,
     ["unique index i", "partition key (at)"]),
    ("inherited table", "CREATE TABLE x (c integer) INHERITS (t); " + MARK, ["inheritance", "not supported"]),
    ("temporary table", "CREATE TEMP TABLE x (a integer); " + MARK, ["TEMP"]),
    ("deferrable constraint", "CREATE TABLE x (\n  a integer UNIQUE DEFERRABLE " + MARK + "\n);", ["DEFERRABLE"]),
    ("procedure", "CREATE PROCEDURE p() LANGUAGE sql AS 'SELECT 1'; " + MARK, ["procedures", "not supported"]),
    ("duplicate extension", "CREATE EXTENSION pgcrypto;\nCREATE EXTENSION pgcrypto; " + MARK, ["pgcrypto", "declared twice"]),
    ("enable rls on an extended external table",
     "ALTER TABLE ext ADD COLUMN c text;\nALTER TABLE ext ENABLE ROW LEVEL SECURITY; " + MARK,
     ["app.ext", "only the columns"]),
    ("comment on an extended external table",
     "ALTER TABLE ext ADD COLUMN c text;\nCOMMENT ON TABLE ext IS 'x'; " + MARK, ["app.ext", "only the columns"]),
]


@pytest.mark.parametrize("body, words", [pytest.param(b, w, id=i) for i, b, w in BAD_INPUTS])
def test_bad_input_names_file_line_and_problem(body, words):
    text = HEAD + body + "\n"
    expected_line = next(n for n, line in enumerate(text.splitlines(), 1) if MARK in line)
    assert expected_line > 5
    known = external("ext")
    known.primary_keys.clear()  # ext has no known primary key
    with pytest.raises(SqlModelError) as info:
        parse(text, known=known, roles={"editor"})
    error = info.value
    assert (error.file, error.line) == (FILE, expected_line), error.message
    for word in words:
        assert word in error.message
    assert str(error) == f"{FILE}:{expected_line}: {error.message}"


def test_error_lines_count_characters_not_bytes():
    text = "-- " + "é" * 300 + "\n-- ü\n\nCREATE TABLE t (\n  a integer,\n  a text\n);\n"
    with pytest.raises(SqlModelError) as info:
        parse(text)
    assert info.value.line == 6


def test_roles_from_config_and_built_ins_are_accepted():
    module = parse(TABLE_T + "CREATE POLICY p ON t TO public, anon, authenticated, service_role, editor USING (true);\n",
                   roles={"editor"})
    assert module.policies[0].roles == ["public", "anon", "authenticated", "service_role", "editor"]


# --- acceptances of advisory findings (model/annotations.py) -----------------------------------

def test_acceptances_reach_the_objects_inputs():
    module = parse(
        "-- header of the file\n"
        "-- pgstack: accept no_primary_key: an append-only log,\n"
        "--   never addressed row by row\n"
        "CREATE TABLE t (\n"
        "    a integer,\n"
        "    -- pgstack: accept unindexed_foreign_keys: t is tiny\n"
        "    b integer REFERENCES t (a)\n"
        ");\n"
        "/* pgstack: accept rls_enabled_no_policy: deny-all, service role only */\n"
        "ALTER TABLE t ENABLE ROW LEVEL SECURITY;\n"
        "CREATE INDEX i ON t (b);\n"
        "-- pgstack: accept auth_rls_initplan: measured, one row per request\n"
        "CREATE POLICY p ON t USING (a = current_setting('x')::integer);\n"
        "-- pgstack: accept function_search_path_mutable: reads nothing by name\n"
        "CREATE FUNCTION f() RETURNS integer LANGUAGE sql AS 'SELECT 1';\n"
        "-- pgstack: accept duplicate_index: kept while the old one is dropped\n"
        "CREATE INDEX j ON t (b);\n")
    assert module.tables[0].inputs()["accepted"] == {
        "no_primary_key": "an append-only log, never addressed row by row",
        "unindexed_foreign_keys": "t is tiny",
        "rls_enabled_no_policy": "deny-all, service role only"}
    assert "accepted" not in module.indexes[0].inputs()  # none: left out of the inputs
    assert module.indexes[1].inputs()["accepted"] == {"duplicate_index": "kept while the old one is dropped"}
    assert module.policies[0].inputs()["accepted"] == {"auth_rls_initplan": "measured, one row per request"}
    assert module.functions[0].inputs()["accepted"] == {"function_search_path_mutable": "reads nothing by name"}


def test_pgstack_in_a_string_or_a_plain_comment_is_no_annotation():
    module = parse("-- see pgstack: accept for how to accept\nCREATE TABLE t (a text DEFAULT '-- pgstack: x');\n")
    assert "accepted" not in module.tables[0].inputs()


@pytest.mark.parametrize("text, line, message", [
    ("-- pgstack: accept rls_disabled: fine\nCREATE TABLE t (a int);\n", 1,
     "rls_disabled is a mandatory rule: fix the finding, it cannot be accepted"),
    ("-- pgstack: accept rls_disabeld: typo\nCREATE TABLE t (a int);\n", 1,
     "no rule that can be accepted is named 'rls_disabeld'"),
    ("\n-- pgstack: accept no_primary_key\nCREATE TABLE t (a int);\n", 2,
     "accepting no_primary_key needs a written reason: `-- pgstack: accept <rule>: <reason>`"),
    ("-- pgstack: accept no_primary_key:   \nCREATE TABLE t (a int);\n", 1, "needs a written reason"),
    ("-- pgstack: accept auth_rls_initplan: x\nCREATE TABLE t (a int);\n", 1,
     "auth_rls_initplan findings are about a policy: put the annotation above its CREATE POLICY statement, not "
     "above this CREATE TABLE"),
    ("CREATE TABLE t (a int);\n-- pgstack: accept no_primary_key: x\nCREATE TRIGGER g BEFORE INSERT ON t\n"
     "    FOR EACH ROW EXECUTE FUNCTION other.f();\n", 2, "not above this CREATE TRIGGER"),
    ("-- pgstack: accept no_primary_key: x\n-- pgstack: accept no_primary_key: y\nCREATE TABLE t (a int);\n", 2,
     "no_primary_key is accepted twice for this table"),
    ("-- pgstack: accept no_primary_key: x\nCREATE TABLE t (a int);\n"
     "-- pgstack: accept no_primary_key: y\nCOMMENT ON TABLE t IS 'x';\n", 3,
     "no_primary_key is accepted twice for this table"),
    ("CREATE TABLE t (a int);\n-- pgstack: accept no_primary_key: too late\n", 2,
     "a pgstack annotation must come before the statement it is about"),
    ("-- pgstack: ignore no_primary_key\nCREATE TABLE t (a int);\n", 1, "unknown pgstack annotation 'ignore'"),
])
def test_bad_annotations_name_file_and_line(text, line, message):
    with pytest.raises(SqlModelError) as info:
        parse(text)
    assert (info.value.file, info.value.line) == (FILE, line)
    assert message in info.value.message


def test_an_acceptance_changes_no_sql():
    """The provider's diff ignores `accepted`, like `source`: accepting a finding updates nothing."""
    from components.provider import TableProvider

    before = parse("CREATE TABLE t (a int);\n").tables[0].inputs()
    after = parse("-- pgstack: accept no_primary_key: a log\nCREATE TABLE t (a int);\n").tables[0].inputs()
    assert before != after
    assert TableProvider().diff("app.t", before, after).changes is False


# --- module folders -----------------------------------------------------------------------------

def write_module(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_foreign_key_cycle_between_two_tables(tmp_path):
    folder = write_module(tmp_path / "m", {
        "001_a.sql": "-- a\n\nCREATE TABLE a (id uuid PRIMARY KEY, b_id uuid);\n",
        "002_b.sql": "-- b\n\nCREATE TABLE b (id uuid PRIMARY KEY, a_id uuid REFERENCES a (id));\n"
                     "ALTER TABLE a ADD CONSTRAINT a_b_id_fkey FOREIGN KEY (b_id) REFERENCES b (id);\n",
    })
    with pytest.raises(SqlModelError) as info:
        parse_module("m", "app", folder, DeclaredTables(), set(), display_root=tmp_path)
    assert (info.value.file, info.value.line) == ("m/001_a.sql", 3)
    assert "cycle" in info.value.message and "a -> b -> a" in info.value.message


def test_file_not_named_with_a_number(tmp_path):
    folder = write_module(tmp_path / "m", {"001_a.sql": "CREATE TABLE a (id uuid);\n", "tables.sql": "CREATE TABLE b (id uuid);\n"})
    with pytest.raises(SqlModelError) as info:
        parse_module("m", "app", folder, DeclaredTables(), set(), display_root=tmp_path)
    assert info.value.file == "m/tables.sql" and info.value.line == 1
    assert "NNN_name.sql" in info.value.message


def test_two_files_with_the_same_number(tmp_path):
    folder = write_module(tmp_path / "m", {"001_a.sql": "CREATE TABLE a (id uuid);\n", "001_b.sql": "CREATE TABLE b (id uuid);\n"})
    with pytest.raises(SqlModelError) as info:
        parse_module("m", "app", folder, DeclaredTables(), set(), display_root=tmp_path)
    assert info.value.file == "m/001_b.sql" and info.value.line == 1
    assert "001_a.sql" in info.value.message and "number 1" in info.value.message


def test_files_are_read_in_number_order_and_shown_relative_to_the_root(tmp_path):
    folder = write_module(tmp_path / "m", {
        "010_c.sql": "CREATE INDEX idx_a ON a (id);\n",
        "002_b.sql": "\nCREATE TABLE a (id uuid);\n",
    })
    module = parse_module("m", "app", folder, DeclaredTables(), set(), display_root=tmp_path)
    assert module.tables[0].source == "m/002_b.sql:2"
    assert module.indexes[0].source == "m/010_c.sql:1"


def test_errors_in_later_files_name_that_file(tmp_path):
    folder = write_module(tmp_path / "m", {
        "001_a.sql": "CREATE TABLE a (id uuid);\n",
        "002_b.sql": "-- b\n-- b\nCREATE INDEX idx ON a (nope);\n",
    })
    with pytest.raises(SqlModelError) as info:
        parse_module("m", "app", folder, DeclaredTables(), set(), display_root=tmp_path)
    assert (info.value.file, info.value.line) == ("m/002_b.sql", 3)


def test_missing_and_empty_module_folders(tmp_path):
    with pytest.raises(SqlModelError, match="does not exist"):
        parse_module("m", "app", tmp_path / "nope", DeclaredTables(), set())
    (tmp_path / "empty").mkdir()
    with pytest.raises(SqlModelError, match="no .sql files"):
        parse_module("m", "app", tmp_path / "empty", DeclaredTables(), set())


# --- the real modules ---------------------------------------------------------------------------

SEED_LEADS_COLUMNS = [
    "visitor_id", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "email_hash",
    "consent_ad_storage", "consent_ad_user_data", "consent_ad_personalization", "consent_updated_at",
    "conversion_status",
]


def parse_tracking(known: DeclaredTables):
    return parse_module("tracking", "public", ROOT / "sql" / "tracking", known, set(), display_root=ROOT)


@pytest.fixture(scope="module")
def tracking():
    known = DeclaredTables(tables={("public", "leads"): None}, primary_keys={("public", "leads"): ["id"]})
    return parse_tracking(known)


def test_tracking_tables(tracking):
    owned = [t.name for t in tracking.tables if t.managed == "table"]
    assert owned == ["visitors", "conversions", "conversion_queue", "tracking_events"]
    assert [(t.name, t.managed) for t in tracking.tables if t.managed != "table"] == [("leads", "columns")]
    for table in tracking.tables:
        if table.managed == "table":
            assert table.rls_enabled, table.name
            assert not table.rls_forced, table.name
    assert tracking.policies == []
    assert tracking.schemas == [] and tracking.extensions == []
    assert tracking.functions == [] and tracking.triggers == [] and tracking.views == []


def test_tracking_leads_extension(tracking):
    leads = tracking.table("leads").inputs()
    assert leads["source"] == "sql/tracking/002_leads_extension.sql:23"
    assert [c["name"] for c in leads["columns"]] == SEED_LEADS_COLUMNS
    fkey = constraint(leads, "leads_visitor_id_fkey")
    assert fkey["references"] == {"schema": "public", "table": "visitors", "columns": ["id"]}
    assert fkey["on_delete"] == "set null"
    for consent in ("consent_ad_storage", "consent_ad_user_data", "consent_ad_personalization"):
        assert column(leads, consent) | {"comment": None} == {
            "name": consent, "type": "boolean", "not_null": True, "default": "FALSE", "comment": None}
    assert column(leads, "consent_updated_at")["type"] == "timestamp with time zone"
    assert not column(leads, "consent_updated_at")["not_null"]
    status = column(leads, "conversion_status")
    assert (status["type"], status["not_null"], status["default"]) == ("text", True, "'none'")
    assert constraint(leads, "leads_conversion_status_check")["kind"] == "check"
    assert all(c.get("comment") for c in leads["columns"])


def test_tracking_indexes(tracking):
    indexes = {i.name: i.inputs() for i in tracking.indexes}
    assert indexes["idx_visitors_gclid"]["table"] == "visitors"
    assert indexes["idx_visitors_gclid"]["elements"] == [{"column": "gclid"}]
    assert indexes["idx_visitors_gclid"]["where"] == "gclid IS NOT NULL"
    queue = indexes["idx_queue_status_next_retry"]
    assert queue["table"] == "conversion_queue"
    assert queue["elements"] == [{"column": "status"}, {"column": "next_retry_at"}]
    assert queue["where"] == "status IN ('pending', 'failed')"
    assert indexes["idx_conversions_type_converted_at"]["elements"] == [
        {"column": "conversion_type"}, {"column": "converted_at", "order": "DESC"}]
    assert indexes["idx_leads_visitor_id"]["table"] == "leads"


def test_tracking_constraints_and_comments(tracking):
    visitors = tracking.table("visitors")
    assert "SHA-256" in visitors.column("ip_hash").comment
    conversions = tracking.table("conversions").inputs()
    assert constraint(conversions, "conversions_idempotency_key_key") == {
        "name": "conversions_idempotency_key_key", "kind": "unique", "columns": ["idempotency_key"]}
    lead_fk = constraint(conversions, "conversions_lead_id_fkey")
    assert lead_fk["references"] == {"schema": "public", "table": "leads", "columns": ["id"]}
    assert lead_fk["on_delete"] == "cascade"
    assert column(conversions, "conversion_value")["type"] == "numeric(12,2)"
    assert constraint(conversions, "conversions_pkey")["columns"] == ["id"]
    queue = tracking.table("conversion_queue").inputs()
    assert constraint(queue, "conversion_queue_conversion_id_platform_key")["columns"] == ["conversion_id", "platform"]
    assert constraint(queue, "conversion_queue_conversion_id_fkey")["on_delete"] == "cascade"
    events = tracking.table("tracking_events").inputs()
    assert constraint(events, "tracking_events_visitor_id_fkey")["on_delete"] == "set null"


def test_tracking_without_leads_declared_fails_at_the_alter():
    with pytest.raises(SqlModelError) as info:
        parse_tracking(DeclaredTables())
    assert info.value.file == "sql/tracking/002_leads_extension.sql"
    assert "public.leads" in info.value.message and "external_tables" in info.value.message


def test_site_then_tracking_like_the_dev_stack():
    known = DeclaredTables()
    site = parse_module("site", "public", ROOT / "sql" / "site", known, set(), display_root=ROOT)
    assert [(t.name, t.managed) for t in site.tables] == [("leads", "table")]
    known.add_module(site)
    assert known.primary_keys[("public", "leads")] == ["id"]
    tracking = parse_tracking(known)
    leads = tracking.table("leads")
    assert leads.managed == "columns"
    assert [c.name for c in leads.columns] == SEED_LEADS_COLUMNS
    conversions = tracking.table("conversions").inputs()
    assert constraint(conversions, "conversions_lead_id_fkey")["references"]["columns"] == ["id"]
    known.add_module(tracking)
    assert ("public", "visitors") in known.tables
    # add_module records owned tables only: the site's leads columns are left as the site declared them.
    assert known.tables[("public", "leads")] == {"id", "email", "name", "created_at"}

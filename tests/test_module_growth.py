"""The growth module (sql/growth, seed 002): what the model makes of it, its retention
declarations, and the module applied to a real PostgreSQL with tenant isolation proven live.

The live part runs on a copy of the whole dev stack as the engine stand-in deploys it (roles,
grants and auth functions from Pulumi.dev.yaml), with shops and users A and B seeded
(tests/support/tenants.py), and connects as authenticated with the settings of A and of B,
as anon and as the owner.
"""

import json
import uuid
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from pglast import ast, parse_sql
from psycopg import errors, sql

from components.model.errors import SqlModelError
from components.model.declared import DeclaredTables
from components.model.parser import parse_module, walk
from components.model.retention import Retention, load_retention, parse_retention
from tests.support import tenants
from tests.support.tenants import SHOP_A, SHOP_B, USER_A, USER_B, growth_claims, growth_rows

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "sql" / "growth"
SCHEMA = "growth"

SEED_TABLES = {
    "seo_audits", "seo_rankings", "ad_campaigns", "ad_performance", "social_analytics",
    "onboarding_progress", "feature_tours", "experiments", "experiment_results", "knowledge_base",
    "ceo_briefings",
}
USER_TABLES = {"onboarding_progress", "feature_tours"}
SHOP_TABLES = SEED_TABLES - USER_TABLES | {"social_posts"}
SHOP_POLICY = "shop_domain = (SELECT current_setting('app.current_shop', TRUE))"
USER_POLICY = "CAST((SELECT auth.uid()) AS text) = user_id"  # pglast's spelling of ::text


@pytest.fixture(scope="module")
def growth():
    return parse_module("growth", SCHEMA, FOLDER, DeclaredTables(), set(), display_root=ROOT)


# --- the model ----------------------------------------------------------------------------------

def test_tables(growth):
    # The seed's eleven, plus social_posts, which social_analytics references.
    assert {t.name for t in growth.tables} == SEED_TABLES | {"social_posts"}
    assert all(t.managed == "table" and t.schema == SCHEMA for t in growth.tables)
    assert all(t.comment for t in growth.tables)
    assert [(e.name, e.schema) for e in growth.extensions] == [("vector", None)]
    assert growth.schemas == [] and growth.functions == [] and growth.triggers == [] and growth.views == []


def test_knowledge_base_vector_and_indexes(growth):
    kb = growth.table("knowledge_base")
    assert kb.column("embedding").type == "vector(1536)"
    assert kb.column("tags").type == "text[]"
    indexes = {i.name: i.inputs() for i in growth.indexes if i.table == "knowledge_base"}
    hnsw = indexes["idx_knowledge_base_embedding"]
    assert (hnsw["method"], hnsw["elements"]) == ("hnsw", [{"column": "embedding", "opclass": "vector_cosine_ops"}])
    assert "where" not in hnsw  # serves every ORDER BY embedding <=> $1 LIMIT k
    gin = indexes["idx_knowledge_base_tags"]
    assert (gin["method"], gin["elements"]) == ("gin", [{"column": "tags"}])
    assert indexes["idx_knowledge_base_current"]["unique"] and indexes["idx_knowledge_base_current"]["where"] == "is_current"


def test_knowledge_base_version_chain_references_itself(growth):
    kb = growth.table("knowledge_base")
    fk = next(c for c in kb.constraints if c.name == "knowledge_base_previous_version_id_fkey")
    assert fk.kind == "foreign_key"
    assert (fk.references.schema, fk.references.table) == (SCHEMA, "knowledge_base")
    assert fk.columns == ["previous_version_id", "shop_domain"] and fk.references.columns == ["id", "shop_domain"]
    assert fk.on_delete is None  # NO ACTION: a version in the middle of a chain cannot vanish


def test_child_tables_carry_their_parents_shop(growth):
    expected = {
        "ad_performance": ("ad_campaigns", ["campaign_id", "shop_domain"]),
        "social_analytics": ("social_posts", ["social_post_id", "shop_domain", "platform"]),
        "experiment_results": ("experiments", ["experiment_id", "shop_domain"]),
    }
    for child, (parent, columns) in expected.items():
        fks = [c for c in growth.table(child).constraints if c.kind == "foreign_key"]
        assert [(f.references.table, f.columns, f.on_delete) for f in fks] == [(parent, columns, "cascade")]
        target = fks[0].references.columns
        assert target[:2] == ["id", "shop_domain"]
        assert any(c.kind == "unique" and c.columns == target for c in growth.table(parent).constraints)


def test_seed_uniques(growth):
    def uniques(table):
        found = [c.columns for c in growth.table(table).constraints if c.kind == "unique"]
        found += [[e.column for e in i.elements] for i in growth.indexes
                  if i.table == table and i.unique and not i.where]
        return found

    assert ["user_id", "shop_domain", "step_key"] in uniques("onboarding_progress")
    assert ["user_id", "tour_key"] in uniques("feature_tours")
    assert ["shop_domain", "experiment_key"] in uniques("experiments")
    # One row per campaign and day / per post and snapshot / per experiment variant.
    assert ["campaign_id", "date"] in uniques("ad_performance")
    assert ["social_post_id", "measured_at"] in uniques("social_analytics")
    assert ["experiment_id", "variant_key"] in uniques("experiment_results")


def test_rls_on_every_table_with_policies_for_authenticated_only(growth):
    for table in growth.tables:
        assert table.rls_enabled, table.name
        policies = [p for p in growth.policies if p.table == table.name]
        permissive = [p for p in policies if p.permissive]
        assert len(permissive) == 1, table.name
        policy = permissive[0]
        assert (policy.command, policy.roles) == ("all", ["authenticated"]), table.name
        expected = USER_POLICY if table.name in USER_TABLES else SHOP_POLICY
        assert policy.using == policy.with_check == expected, table.name
    assert all(p.roles == ["authenticated"] for p in growth.policies)  # anon and public get nothing
    restrictive = [(p.table, p.name) for p in growth.policies if not p.permissive]
    assert restrictive == [("ceo_briefings", "ceo_briefings_ceo_only")]


def _expression(text: str):
    return parse_sql(f"SELECT {text}")[0].stmt.targetList[0].val


def test_policy_functions_are_wrapped_in_a_sub_select(growth):
    """current_setting() and auth.*() are evaluated once per query (an InitPlan), never per row."""
    for policy in growth.policies:
        for text in (policy.using, policy.with_check):
            calls = [".".join(n.sval for n in node.funcname) for node in walk(_expression(text), skip_sublinks=True)
                     if isinstance(node, ast.FuncCall)]
            assert not [c for c in calls if c == "current_setting" or c.startswith("auth.")], (policy.name, text)


# The composite foreign keys whose index leads with their first column only (the parent's id),
# each accepted in its file with that reason; test_live_cascade_lookups_use_the_leading_index
# checks the reason holds.
LEADING_COLUMN_ONLY = {
    "ad_performance": "ad_performance_campaign_id_fkey",
    "social_analytics": "social_analytics_social_post_id_fkey",
    "experiment_results": "experiment_results_experiment_id_fkey",
    "knowledge_base": "knowledge_base_previous_version_id_fkey",
}


def test_every_foreign_key_and_policy_column_leads_an_index():
    """The policy pack's own rules on the module as the dev program declares it: an index leads
    with all of a foreign key's columns (the pack's unindexed_foreign_keys), and with every column
    a policy filters on. This test used to check only a foreign key's first column, a weaker rule
    than the pack's, so it passed four foreign keys the pack reports; those are accepted in their
    files with a written reason (which must stay true: see the live test below)."""
    from pgstack_policy import RULES
    from tests.support.review import policy_resources, run_rule, shipped

    rules = {r.name: r for r in RULES}
    growth = [d for d in shipped("dev") if d.name.startswith("growth/")]
    assert all(run_rule(rules[name], policy_resources(growth)) == []
               for name in ("unindexed_foreign_keys", "unindexed_policy_columns"))
    without = policy_resources([replace(d, inputs={k: v for k, v in d.inputs.items() if k != "accepted"})
                                for d in growth])
    reported = run_rule(rules["unindexed_foreign_keys"], without)
    assert sorted(m.split(" (")[0] for m in reported) == sorted(f"table growth.{t}" for t in LEADING_COLUMN_ONLY)
    for table, constraint in LEADING_COLUMN_ONLY.items():
        assert any(f"table growth.{table} " in m and f"foreign key {constraint} " in m for m in reported)
        accepted = next(d for d in growth if d.name == f"growth/growth.{table}").inputs["accepted"]
        assert "leads with" in accepted["unindexed_foreign_keys"] or "finds" in accepted["unindexed_foreign_keys"]
    assert run_rule(rules["unindexed_policy_columns"], without) == []


def test_every_index_and_constraint_is_named_by_convention(growth):
    for index in growth.indexes:
        assert index.name.startswith(f"idx_{index.table}_"), index.name
    for table in growth.tables:
        for constraint in table.constraints:
            assert constraint.name.startswith(table.name + "_"), constraint.name


# --- retention ----------------------------------------------------------------------------------

def test_retention_declarations(growth):
    declared = load_retention(FOLDER, growth, display_root=ROOT)
    assert [(r.table, r.column, r.keep) for r in declared] == [
        ("seo_rankings", "tracked_at", "365 days"),
        ("ad_performance", "date", "730 days"),
        ("social_analytics", "measured_at", "365 days"),
        ("experiment_results", None, None),
        ("knowledge_base", None, None),
        ("ceo_briefings", "created_at", "365 days"),
    ]
    assert declared[0].source.startswith("sql/growth/retention.yaml:")
    # The table comment says the same thing, for whoever reads the catalog.
    for r in declared:
        comment = growth.table(r.table).comment
        assert (f"Retention: {r.keep} on {r.column}" if r.keep else "Retention: indefinite") in comment, r.table


def test_retention_without_file_is_empty(growth, tmp_path):
    assert load_retention(tmp_path, growth) == []


def test_retention_accepts_singular_units(growth):
    text = "seo_audits:\n  column: crawled_at\n  keep: 1 Year\n"
    assert parse_retention("r.yaml", text, growth) == [Retention("seo_audits", "1 years", "crawled_at", "r.yaml:1")]


@pytest.mark.parametrize("text, line, message", [
    ("nope:\n  keep: indefinite\n", 1, "nope: not a table module 'growth' creates"),
    ("seo_rankings:\n  column: tracked_at\n  keep: 2 weeks\n", 3, "seo_rankings.keep: '2 weeks' is not"),
    ("seo_rankings:\n  column: tracked_at\n  keep: 365\n", 3, "seo_rankings.keep: '365' is not"),
    ("seo_rankings:\n  column: tracked_at\n  keep: 0 days\n", 3, "seo_rankings.keep: '0 days' is not"),
    ("seo_rankings:\n  column: tracked_at\n  keep: 1 day; drop table x\n", 3, "seo_rankings.keep:"),
    ("seo_rankings:\n  keep: 365 days\n", 1, "seo_rankings.column: missing"),
    ("seo_rankings:\n  column: tracked_at\n", 1, "seo_rankings.keep: missing"),
    ("seo_rankings:\n  column: seen_at\n  keep: 365 days\n", 2, "seo_rankings.column: no column 'seen_at'"),
    ("seo_rankings:\n  column: keyword\n  keep: 365 days\n", 2, "seo_rankings.column: keyword is text, not a date"),
    ("knowledge_base:\n  column: tags\n  keep: 365 days\n", 2, "knowledge_base.column: tags is text[], not a date"),
    ("knowledge_base:\n  column: created_at\n  keep: indefinite\n", 2, "knowledge_base.column: not used when keep is indefinite"),
    ("seo_rankings:\n  column: tracked_at\n  keep: 1 year\n  after: x\n", 4, "seo_rankings.after: unknown key"),
    ("seo_rankings: 365 days\n", 1, "seo_rankings: expected a mapping"),
    ("- seo_rankings\n", 1, "expected a mapping of table name"),
    ("seo_rankings:\n  keep: indefinite\nseo_rankings:\n  keep: indefinite\n", 3, "seo_rankings: declared twice"),
    ("seo_rankings:\n  keep: [1\n", 3, "invalid YAML"),
])
def test_retention_errors_name_file_line_and_key(growth, text, line, message):
    with pytest.raises(SqlModelError) as info:
        parse_retention("sql/growth/retention.yaml", text, growth)
    assert (info.value.file, info.value.line) == ("sql/growth/retention.yaml", line)
    assert message in info.value.message


# --- live: on a copy of the whole dev stack, with shops/users A and B seeded ---------------------

def insert(conn, table: str, row: dict):
    return tenants.insert(conn, SCHEMA, table, row)


def tenant_key(table: str) -> str:
    return "user_id" if table in USER_TABLES else "shop_domain"


def visible(conn, table: str) -> list:
    return [r[0] for r in conn.execute(sql.SQL("SELECT {} FROM {}").format(
        sql.Identifier(tenant_key(table)), sql.Identifier(SCHEMA, table))).fetchall()]


def session(database: dict, role: str, shop: str | None = None, claims: dict | None = None):
    """A connection as `role` with the settings the API sets per request (none when None)."""
    conn = psycopg.connect(**database, autocommit=True)
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
    if shop is not None:
        conn.execute("SELECT set_config('app.current_shop', %s, false)", (shop,))
    if claims is not None:
        conn.execute("SELECT set_config('request.jwt.claims', %s, false)", (json.dumps(claims),))
    return conn


@pytest.fixture
def database(dev_stack):
    """These tests' database is a copy of the deployed dev stack (conftest's `db` connects to it)."""
    return dev_stack.database


@pytest.fixture
def applied(dev_stack, db):
    """The dev stack with A's and B's rows (tests/support/tenants.py): (table, shop) -> row id."""
    return {(table, shop): id_ for table, shop, id_ in db.execute(
        sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {}, shop_domain, id FROM {}").format(sql.Literal(t), sql.Identifier(SCHEMA, t))
            for t in sorted(SHOP_TABLES)))}


def test_live_module_matches_the_model(applied, db, growth):
    tables = db.execute("SELECT relname, relrowsecurity FROM pg_class WHERE relnamespace = %s::regnamespace "
                        "AND relkind = 'r'", (SCHEMA,)).fetchall()
    assert dict(tables) == {t.name: True for t in growth.tables}
    indexes = {r[0] for r in db.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", (SCHEMA,))}
    assert {i.name for i in growth.indexes} <= indexes
    policies = db.execute("SELECT tablename, policyname, roles::text[], cmd FROM pg_policies WHERE schemaname = %s",
                          (SCHEMA,)).fetchall()
    assert {(t, p) for t, p, _, _ in policies} == {(p.table, p.name) for p in growth.policies}
    assert {(tuple(r), c) for _, _, r, c in policies} == {(("authenticated",), "ALL")}
    assert db.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                      "WHERE attrelid = 'growth.knowledge_base'::regclass AND attname = 'embedding'").fetchone()[0] \
        == "vector(1536)"
    assert "365 days" in db.execute("SELECT obj_description('growth.seo_rankings'::regclass)").fetchone()[0]


def test_live_tenant_sees_only_its_rows_on_every_table(applied, database):
    for shop, user in ((SHOP_A, USER_A), (SHOP_B, USER_B)):
        with session(database, "authenticated", shop, growth_claims(user)) as conn:
            for table in SEED_TABLES | {"social_posts"}:
                assert visible(conn, table) == [user if table in USER_TABLES else shop], table


def test_live_writes_into_or_moves_to_another_tenant_are_refused(applied, database):
    other_rows = dict(growth_rows(SHOP_B, USER_B))
    with session(database, "authenticated", SHOP_A, growth_claims(USER_A)) as conn:
        for table, row in growth_rows(SHOP_A, USER_A):
            key, other = tenant_key(table), (USER_B if table in USER_TABLES else SHOP_B)
            # Insert a row for B (the parents it names are A's, or B's, whichever the row says).
            with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
                insert(conn, table, dict(other_rows[table], id=str(uuid.uuid4())) if "id" in row
                       else other_rows[table])
            # Move A's row to B.
            with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
                conn.execute(sql.SQL("UPDATE {} SET {} = %s").format(
                    sql.Identifier(SCHEMA, table), sql.Identifier(key)), (other,))
            # B's rows cannot even be addressed: updates and deletes touch nothing.
            assert conn.execute(sql.SQL("UPDATE {} SET {} = {} WHERE {} = %s").format(
                sql.Identifier(SCHEMA, table), sql.Identifier(key), sql.Identifier(key), sql.Identifier(key)),
                (other,)).rowcount == 0
            assert conn.execute(sql.SQL("DELETE FROM {} WHERE {} = %s").format(
                sql.Identifier(SCHEMA, table), sql.Identifier(key)), (other,)).rowcount == 0
            assert visible(conn, table) == [USER_A if table in USER_TABLES else SHOP_A], table
        # Its own tenant is writable: the policies refuse only the other one.
        insert(conn, "seo_audits", {"shop_domain": SHOP_A, "crawled_at": "2025-10-21T00:00:00Z"})
        assert conn.execute("DELETE FROM growth.seo_audits WHERE crawled_at = '2025-10-21T00:00:00Z'").rowcount == 1


@pytest.mark.parametrize("shop, claims", [(None, None), ("", {})])
def test_live_no_setting_means_no_rows_and_no_error(applied, database, shop, claims):
    with session(database, "authenticated", shop, claims) as conn:
        for table in SEED_TABLES | {"social_posts"}:
            assert visible(conn, table) == [], table
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            insert(conn, "seo_audits", {"shop_domain": SHOP_A, "crawled_at": "2025-10-21T00:00:00Z"})


def test_live_anon_gets_nothing_even_with_privileges(applied, database, db):
    with session(database, "anon", SHOP_A, growth_claims(USER_A)) as conn:
        with pytest.raises(errors.InsufficientPrivilege, match="permission denied for schema growth"):
            visible(conn, "seo_audits")  # the dev stack grants anon nothing on growth
    # Granted every table privilege by hand (as Supabase's default grants would): still nothing.
    db.execute("GRANT USAGE ON SCHEMA growth TO anon")
    db.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA growth TO anon")
    with session(database, "anon", SHOP_A, growth_claims(USER_A)) as conn:
        for table in SEED_TABLES | {"social_posts"}:
            assert visible(conn, table) == [], table
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            insert(conn, "seo_audits", {"shop_domain": SHOP_A, "crawled_at": "2025-10-21T00:00:00Z"})


def test_live_ceo_briefings_need_the_ceo_claim(applied, database):
    with session(database, "authenticated", SHOP_A, growth_claims(USER_A, {SHOP_A: "staff"})) as conn:
        assert visible(conn, "ceo_briefings") == []
        assert visible(conn, "seo_audits") == [SHOP_A]
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            insert(conn, "ceo_briefings", dict(growth_rows(SHOP_A, USER_A))["ceo_briefings"])


@pytest.mark.parametrize("roles", [{SHOP_A: "ceo", SHOP_B: "member"}, {SHOP_A: "member", SHOP_B: "ceo"}])
def test_live_the_ceo_claim_counts_for_its_own_shop_only(applied, database, roles):
    """app_metadata.shop_roles maps each shop to the user's role there: the CEO of one shop who is
    a plain member of the other reads and writes the briefings of the first only. (With the
    claim checked globally, the CEO of A read B's briefing once app.current_shop said B.)"""
    for shop, role in roles.items():
        with session(database, "authenticated", shop, growth_claims(USER_A, roles)) as conn:
            assert visible(conn, "seo_audits") == [shop]  # a member of both shops
            assert visible(conn, "ceo_briefings") == ([shop] if role == "ceo" else []), shop
            row = dict(growth_rows(shop, USER_A))["ceo_briefings"]
            if role == "ceo":
                insert(conn, "ceo_briefings", row)
                assert conn.execute("UPDATE growth.ceo_briefings SET rating = 5").rowcount == 2
            else:
                with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
                    insert(conn, "ceo_briefings", row)
                assert conn.execute("UPDATE growth.ceo_briefings SET rating = 5").rowcount == 0


def test_live_children_and_versions_stay_in_their_parents_shop(applied, db):
    """Even the service role cannot hang a row under another shop's parent: the composite
    foreign keys are what "RLS via the parent's shop_domain" rests on."""
    with pytest.raises(errors.ForeignKeyViolation):
        insert(db, "ad_performance", {"shop_domain": SHOP_A, "campaign_id": applied[("ad_campaigns", SHOP_B)],
                                      "date": "2025-10-21"})
    with pytest.raises(errors.ForeignKeyViolation):
        insert(db, "social_analytics", {"shop_domain": SHOP_A, "social_post_id": applied[("social_posts", SHOP_A)],
                                        "platform": "tiktok", "measured_at": "2025-10-21T00:00:00Z"})
    with pytest.raises(errors.ForeignKeyViolation):
        insert(db, "knowledge_base", {"shop_domain": SHOP_A, "document_key": "returns", "document_type": "policy",
                                      "title": "Returns", "content": "60 days", "version": 2, "is_current": False,
                                      "previous_version_id": applied[("knowledge_base", SHOP_B)]})
    # The same version chain inside one shop works; the middle of a chain cannot be deleted.
    v1 = applied[("knowledge_base", SHOP_A)]
    db.execute("UPDATE growth.knowledge_base SET is_current = false WHERE id = %s", (v1,))
    insert(db, "knowledge_base", {"shop_domain": SHOP_A, "document_key": "returns", "document_type": "policy",
                                  "title": "Returns", "content": "60 days", "version": 2, "previous_version_id": v1})
    with pytest.raises(errors.ForeignKeyViolation):
        db.execute("DELETE FROM growth.knowledge_base WHERE id = %s", (v1,))
    assert db.execute("DELETE FROM growth.knowledge_base WHERE document_key = 'returns' AND shop_domain = %s",
                      (SHOP_A,)).rowcount == 2


def test_live_similarity_search_uses_the_hnsw_index(applied, db, database):
    # 2000 random vectors; the correlated sub-select gives each row its own. With 1536
    # dimensions the planner's costs favour a sequential scan plus top-N sort up to ~800 rows
    # (measured: seq at 700, hnsw at 1000), and for a tenant, whose RLS filter the planner
    # estimates at 1/ndistinct(shop_domain) of the rows, still at 1200: right for tables that small.
    # Those costs are pgvector 0.8's: the vectors (6 KB) live in TOAST, so a sequential scan looks
    # cheap (42 heap pages here), and before 0.8.0 pgvector costed the HNSW scan as random reads
    # of its index pages without allowing for that: with 0.7.4 (on PostgreSQL 15 as on 18) these
    # 2000 rows cost 100 by sequential scan and 260 by the index, and 5000 rows still scan.
    version = db.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
    assert tuple(int(part) for part in version.split(".")[:2]) >= (0, 8), \
        f"pgvector {version}: the planner picks HNSW for tables this small from pgvector 0.8.0 on (README)"
    # Inserted one by one into the live HNSW graph, 2000 such vectors take about a minute on two
    # cores, building the graph over them a few seconds: so the stack's index is set aside while
    # the rows load, then built again from the catalog's own definition of it (the same index).
    index = "growth.idx_knowledge_base_embedding"
    definition = db.execute("SELECT pg_get_indexdef(%s::regclass)", (index,)).fetchone()[0]
    db.execute(f"DROP INDEX {index}")  # a fixed name, above
    db.execute("""
        INSERT INTO growth.knowledge_base (shop_domain, document_key, document_type, title, content,
                                           embedding, embedding_model)
        SELECT %s, 'doc-' || g, 'faq', 'Doc ' || g, 'content',
               (SELECT array_agg(random() - 0.5) FROM generate_series(1, 1536) WHERE g > 0)::vector(1536),
               'text-embedding-3-small'
        FROM generate_series(1, 2000) AS g""", (SHOP_A,))
    db.execute(definition)
    db.execute("ANALYZE growth.knowledge_base")
    probe = "[" + ",".join(["0.01"] * 1536) + "]"
    query = "SELECT id FROM growth.knowledge_base ORDER BY embedding <=> %s::vector(1536) LIMIT 5"

    def plan(conn) -> str:
        return "\n".join(r[0] for r in conn.execute("EXPLAIN " + query, (probe,)))

    # The planner's own choice: enable_seqscan and friends are left at their defaults.
    assert db.execute("SHOW enable_seqscan").fetchone()[0] == "on"
    assert "Index Scan using idx_knowledge_base_embedding" in plan(db)
    # Also for a tenant, with the RLS filter on top of the index scan.
    with session(database, "authenticated", SHOP_A, growth_claims(USER_A)) as conn:
        assert "Index Scan using idx_knowledge_base_embedding" in plan(conn)
        assert len(conn.execute(query, (probe,)).fetchall()) == 5


# The query PostgreSQL runs for each foreign key when a parent row is deleted (ri_triggers.c):
# ON DELETE CASCADE deletes the children; NO ACTION looks for one.
CASCADE_LOOKUPS = {
    "ad_performance": ("DELETE FROM ONLY growth.ad_performance WHERE $1::uuid = campaign_id AND $2::text = shop_domain",
                       "idx_ad_performance_campaign_date"),
    "social_analytics": ("DELETE FROM ONLY growth.social_analytics WHERE $1::uuid = social_post_id "
                         "AND $2::text = shop_domain AND $3::text = platform", "idx_social_analytics_post_measured"),
    "experiment_results": ("DELETE FROM ONLY growth.experiment_results WHERE $1::uuid = experiment_id "
                           "AND $2::text = shop_domain", "experiment_results_experiment_id_variant_key_key"),
    "knowledge_base": ("SELECT 1 FROM ONLY growth.knowledge_base x WHERE $1::uuid = previous_version_id "
                       "AND $2::text = shop_domain FOR KEY SHARE OF x", "knowledge_base_previous_version_id_key"),
}


def test_live_cascade_lookups_use_the_leading_index(applied, db):
    """The acceptances' reason holds: with a few thousand rows, the lookup a parent's delete runs
    on each of the four tables goes through the index that leads with the parent's id (a uuid
    that is one parent's only), in the generic plan the RI trigger caches as well as in a plan
    for given values; a second index on all the key's columns would only cost writes."""
    db.execute("""
        INSERT INTO growth.ad_campaigns (id, shop_domain, campaign_name)
        SELECT md5('c' || g)::uuid, s, 'campaign ' || g FROM generate_series(1, 100) g,
               (VALUES (%(a)s::text), (%(b)s::text)) AS shops(s) WHERE (g %% 2 = 0) = (s = %(a)s::text)""", {"a": SHOP_A, "b": SHOP_B})
    db.execute("""
        INSERT INTO growth.ad_performance (shop_domain, campaign_id, date)
        SELECT c.shop_domain, c.id, DATE '2025-01-01' + d FROM growth.ad_campaigns c, generate_series(1, 60) d""")
    db.execute("""
        INSERT INTO growth.social_posts (id, shop_domain, platform)
        SELECT md5('p' || g)::uuid, CASE WHEN g %% 2 = 0 THEN %(a)s::text ELSE %(b)s::text END, 'instagram'
        FROM generate_series(1, 100) g""", {"a": SHOP_A, "b": SHOP_B})
    db.execute("""
        INSERT INTO growth.social_analytics (shop_domain, social_post_id, platform, measured_at)
        SELECT p.shop_domain, p.id, p.platform, TIMESTAMPTZ '2025-01-01' + d * INTERVAL '1 day'
        FROM growth.social_posts p, generate_series(1, 30) d""")
    db.execute("""
        INSERT INTO growth.experiments (id, shop_domain, experiment_key, experiment_name)
        SELECT md5('e' || g)::uuid, CASE WHEN g %% 2 = 0 THEN %(a)s::text ELSE %(b)s::text END, 'exp-' || g, 'Exp ' || g
        FROM generate_series(1, 500) g""", {"a": SHOP_A, "b": SHOP_B})
    db.execute("""
        INSERT INTO growth.experiment_results (shop_domain, experiment_id, variant_key)
        SELECT e.shop_domain, e.id, 'v' || v FROM growth.experiments e, generate_series(1, 6) v""")
    db.execute("""
        INSERT INTO growth.knowledge_base (id, shop_domain, document_key, document_type, title, content, version,
                                           is_current, previous_version_id)
        SELECT md5('k' || g || '-' || v)::uuid, CASE WHEN g %% 2 = 0 THEN %(a)s::text ELSE %(b)s::text END, 'doc-' || g, 'faq',
               'Doc', 'text', v, v = 2, CASE WHEN v = 2 THEN md5('k' || g || '-1')::uuid END
        FROM generate_series(1, 1500) g, generate_series(1, 2) v ORDER BY v""", {"a": SHOP_A, "b": SHOP_B})
    for table in CASCADE_LOOKUPS:
        db.execute(f"ANALYZE growth.{table}")
        assert db.execute(f"SELECT count(*) FROM growth.{table}").fetchone()[0] >= 3000, table

    values = {"ad_performance": (md5_uuid("c2"), SHOP_A), "social_analytics": (md5_uuid("p2"), SHOP_A, "instagram"),
              "experiment_results": (md5_uuid("e2"), SHOP_A), "knowledge_base": (md5_uuid("k2-1"), SHOP_A)}
    for table, (query, index) in CASCADE_LOOKUPS.items():
        generic = "\n".join(r[0] for r in db.execute(f"EXPLAIN (GENERIC_PLAN) {query}"))
        with db.transaction():
            db.execute(f"PREPARE lookup AS {query}")
            arguments = sql.SQL(", ").join(map(sql.Literal, values[table]))
            custom = "\n".join(r[0] for r in db.execute(sql.SQL("EXPLAIN EXECUTE lookup({})").format(arguments)))
            db.execute("DEALLOCATE lookup")
        for plan in (generic, custom):
            used = f"Index Scan using {index} on " in plan or f"Bitmap Index Scan on {index} " in plan
            assert used and "Seq Scan" not in plan, (table, plan)


def md5_uuid(text: str) -> str:
    import hashlib
    return str(uuid.UUID(hashlib.md5(text.encode()).hexdigest()))

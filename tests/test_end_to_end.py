"""The whole dev program, up on an empty database, then again after editing SQL files,
through the engine stand-in (tests/support/engine.py) and the real dynamic provider.

That first `up` is conftest's `dev_stack_deployed`, run once per session: each test here starts
from its own copy of the database it left, with its result and engine state."""

import shutil

import pytest

from components.model.errors import SqlModelError
from tests.support.engine import PROJECT_DIR


@pytest.fixture
def sql_root(tmp_path):
    root = tmp_path / "project" / "sql"
    shutil.copytree(PROJECT_DIR / "sql", root)
    return root


@pytest.fixture
def database(dev_stack_after_up):
    """This test's copy of the dev stack just after its first `up` (conftest's `db` connects to it)."""
    return dev_stack_after_up.database


@pytest.fixture
def engine(dev_stack_after_up, sql_root):
    """The engine stand-in carrying on from that `up`, on a copy of sql/ the test may edit."""
    with dev_stack_after_up.engine(sql_root) as engine:
        yield engine


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def relations(db, kind):
    return {r[0] for r in db.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = %s", (kind,)).fetchall()}


def test_dev_stack_up_edit_remove(dev_stack_after_up, engine, db, sql_root):
    # 1. up on an empty database
    first = dev_stack_after_up.first_up
    assert first.changed().keys() == {"create"}
    assert len([n for n in first.operations["create"] if n.startswith(("site/", "tracking/"))]) == 13
    assert relations(db, "r") == {"leads", "visitors", "conversions", "conversion_queue", "tracking_events"}
    assert {"idx_visitors_gclid", "idx_queue_status_next_retry"} <= relations(db, "i")
    assert db.execute("SELECT count(*) FROM pg_class WHERE relname IN ('visitors', 'conversions', "
                      "'conversion_queue', 'tracking_events') AND relrowsecurity").fetchone()[0] == 4
    assert db.execute("SELECT count(*) FROM pg_policies WHERE schemaname = 'public'").fetchone()[0] == 0
    assert "SHA-256" in db.execute("SELECT col_description('public.visitors'::regclass, "
                                   "(SELECT attnum FROM pg_attribute WHERE attrelid = 'public.visitors'::regclass "
                                   "AND attname = 'ip_hash'))").fetchone()[0]
    visitor = db.execute("INSERT INTO visitors (visitor_id, gclid) VALUES ('v1', 'g1') RETURNING id").fetchone()[0]
    lead = db.execute("INSERT INTO leads (email, visitor_id) VALUES ('a@b.c', %s) RETURNING id", (visitor,)).fetchone()[0]
    db.execute("INSERT INTO conversions (lead_id, crm_deal_id, conversion_type, idempotency_key, converted_at) "
               "VALUES (%s, 'd1', 'qualified', 'd1:qualified', now())", (lead,))
    with pytest.raises(Exception, match="idempotency"):
        db.execute("INSERT INTO conversions (lead_id, crm_deal_id, conversion_type, idempotency_key, converted_at) "
                   "VALUES (%s, 'd2', 'closed', 'wrong', now())", (lead,))

    # A second run with nothing changed does nothing.
    assert engine.preview().changed() == {}

    # 2. one SQL file edited: a column added to visitors and the gclid index's WHERE changed
    visitors = sql_root / "tracking" / "001_visitors.sql"
    edit(visitors, "    user_agent    text,", "    user_agent    text,\n    country_code    text,")
    edit(visitors, "WHERE gclid IS NOT NULL", "WHERE gclid IS NOT NULL AND gclid <> ''")
    preview = engine.preview()
    # A changed index is updated in place (built under a temporary name, then swapped), not replaced.
    assert preview.changed() == {"update": ["tracking/public.idx_visitors_gclid", "tracking/public.visitors"]}
    assert "country_code" not in {r[0] for r in db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'visitors'").fetchall()}
    assert engine.up().changed() == preview.changed()
    assert "country_code" in {r[0] for r in db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'visitors'").fetchall()}
    assert "gclid <> ''" in db.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_visitors_gclid'").fetchone()[0]
    assert db.execute("SELECT count(*) FROM visitors").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM conversions").fetchone()[0] == 1

    # 3. one object removed: the tracking_events name index
    events = sql_root / "tracking" / "005_tracking_events.sql"
    text = events.read_text()
    start = text.index("CREATE INDEX idx_tracking_events_name_occurred")
    events.write_text(text[:start] + text[text.index(";", start) + 1:])
    assert engine.up().changed() == {"delete": ["tracking/public.idx_tracking_events_name_occurred"]}
    assert "idx_tracking_events_name_occurred" not in relations(db, "i")
    assert "idx_tracking_events_visitor_occurred" in relations(db, "i")
    assert db.execute("SELECT count(*) FROM leads").fetchone()[0] == 1


def test_bad_sql_stops_before_the_database(engine, db, sql_root):
    edit(sql_root / "tracking" / "003_conversions.sql", "REFERENCES leads (id)", "REFERENCES lead (id)")
    edit(sql_root / "tracking" / "001_visitors.sql", "    user_agent    text,", "    user_agent    text,\n    extra text,")
    with pytest.raises(SqlModelError, match=r"sql/tracking/003_conversions\.sql:\d+: table public\.lead is not declared"):
        engine.up()
    # Nothing was applied, not even the valid edit in 001 (files are all checked first).
    assert "extra" not in {r[0] for r in db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'visitors'").fetchall()}


def test_refresh_of_the_whole_stack_reports_only_what_changed_by_hand(engine, db):
    """`pulumi refresh` right after `up`: every dynamic resource of the dev stack (growth's vector
    column, hnsw and gin indexes, composite and self-referencing foreign keys and restrictive
    policy, crm's partial indexes, analytics' trigger, function and partitions, ...) reads back
    as declared, so the next preview is empty. What is then changed by hand shows in refresh and
    preview, and the next `up` puts the declared state back."""
    assert engine.refresh() == []
    assert engine.preview().changed() == {}

    db.execute("DROP POLICY ceo_briefings_ceo_only ON growth.ceo_briefings")
    db.execute("DROP INDEX growth.idx_knowledge_base_tags")
    db.execute("ALTER TABLE crm.clients DISABLE ROW LEVEL SECURITY")
    assert sorted(engine.refresh()) == ["growth/growth.ceo_briefings.ceo_briefings_ceo_only",
                                        "growth/growth.idx_knowledge_base_tags"]
    assert engine.preview().changed() == {
        "create": ["growth/growth.ceo_briefings.ceo_briefings_ceo_only", "growth/growth.idx_knowledge_base_tags"],
        "update": ["crm/crm.clients"]}
    engine.up()
    assert db.execute("SELECT relrowsecurity FROM pg_class WHERE oid = 'crm.clients'::regclass").fetchone()[0]
    assert db.execute("SELECT count(*) FROM pg_policies WHERE policyname = 'ceo_briefings_ceo_only'").fetchone()[0]
    assert engine.refresh() == []
    assert engine.preview().changed() == {}

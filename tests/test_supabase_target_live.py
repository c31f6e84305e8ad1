"""The `supabase` target deployed onto a database prepared the way a Supabase project is
(tests/support/supabase_like.py): the deploying `postgres` is no superuser, and pgvector was
enabled from the dashboard, so it lives in schema `extensions`.

Before the fix, `create table growth.knowledge_base` failed with `type "vector" does not exist`:
after `SET ROLE pgstack_owner` the owner had no USAGE on `extensions`, and the search path
silently skips a schema one cannot use.
"""

import json
import uuid

import psycopg
import pytest

from components.supabase import EXTENSIONS_SCHEMA
from tests.support import supabase_like
from tests.support.engine import EngineDouble


@pytest.fixture
def supabase(pg_server):
    database = supabase_like.prepare(pg_server)
    owner = f"owner_{uuid.uuid4().hex[:8]}"  # the deployer creates it: it must be new in the shared cluster
    yield database, owner
    supabase_like.drop(pg_server, database, (owner,))


def config(pg_server: dict, owner: str) -> dict[str, str]:
    """The prod stack's settings, with the growth (pgvector) and crm modules; validation on the
    tests' server, whose user is a superuser (the deploying user is not)."""
    validation = {"mode": "server", "host": pg_server["host"], "port": pg_server["port"], "user": pg_server["user"],
                  "sslmode": "disable", "password": {"secret": "validation_password"}}
    return {
        "pgstack:owner_role": owner,
        "pgstack:modules": json.dumps([{"name": "growth", "schema": "growth"}, {"name": "crm", "schema": "crm"}]),
        "pgstack:roles": "[]",
        "pgstack:grants": json.dumps([
            {"module": m, "role": r, "schema": ["usage"], "tables": ["select", "insert", "update", "delete"]}
            for m in ("growth", "crm") for r in ("authenticated", "service_role")]),
        "pgstack:validation": json.dumps(validation),
        "pgstack:validation_password": pg_server["password"],
    }


def test_prod_stack_deploys_onto_supabase_with_pgvector_in_extensions(pg_server, supabase):
    database, owner = supabase
    with psycopg.connect(**pg_server | {"dbname": database["dbname"]}, autocommit=True) as admin:
        assert not admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (database["user"],)).fetchone()[0]
        with EngineDouble(database, stack="prod", config=config(pg_server, owner)) as engine:
            engine.up()
            assert engine.refresh() == [] and engine.preview().changed() == {}
        # vector stays where the dashboard put it (not in public: Supabase's extension_in_public)
        assert admin.execute("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'vector'"
                             ).fetchone()[0] == EXTENSIONS_SCHEMA
        assert admin.execute("SELECT has_schema_privilege(%s, %s, 'USAGE')", (owner, EXTENSIONS_SCHEMA)).fetchone()[0]
        assert admin.execute("SELECT format_type(atttypid, atttypmod), pg_get_userbyid(c.relowner) FROM pg_attribute a "
                             "JOIN pg_class c ON c.oid = a.attrelid WHERE attrelid = 'growth.knowledge_base'::regclass "
                             "AND attname = 'embedding'").fetchone() == ("extensions.vector(1536)", owner)
        assert "USING hnsw (embedding extensions.vector_cosine_ops)" in admin.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_knowledge_base_embedding'").fetchone()[0]

"""Randomized cross-tenant probes on the crm module, deployed with the whole dev stack through
the engine stand-in (roles and grants from Pulumi.dev.yaml, not made by hand).

2,000 probes with a fixed seed: every role (anon, authenticated as client A, as client B, with
no client, service_role) reads and writes every crm table. No probe may see, change or create a
row of another client; every write is rolled back, so the counts stay what the seed made.
"""

import random

import psycopg
import pytest
from psycopg import errors, sql

from tests.support.engine import EngineDouble
from tests.test_module_crm import CLIENT_A, CLIENT_B, CLIENT_OWNED, OPERATOR_ONLY, seed_rows

PROBES = 2000
CLIENTS = {"A": CLIENT_A, "B": CLIENT_B}
TENANT_TABLES = ["clients"] + CLIENT_OWNED
ACTORS = ["anon", "service_role", "none", "A", "B"]


@pytest.fixture
def deployed(database, db):
    engine = EngineDouble(database, stack="dev")
    engine.up()
    engine.close()
    expected = seed_rows(db)
    db.execute("RESET search_path")
    return expected


class Rollback(Exception):
    """Raised to end a probe's transaction without keeping anything."""


def act(conn, actor: str):
    role = "authenticated" if actor in ("none", "A", "B") else actor
    conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
    if actor in CLIENTS:
        conn.execute("SELECT set_config('app.current_client_id', %s, true)", (CLIENTS[actor],))


def probe_read(conn, actor, table, expected) -> None:
    try:
        rows = conn.execute(sql.SQL("SELECT client_id::text FROM {}").format(sql.Identifier("crm", table))).fetchall() \
            if table in TENANT_TABLES else \
            conn.execute(sql.SQL("SELECT NULL FROM {}").format(sql.Identifier("crm", table))).fetchall()
    except errors.InsufficientPrivilege:
        assert actor == "anon", (actor, table)  # anon has no grant at all: it reads nothing
        raise Rollback
    seen = {r[0] for r in rows}
    if actor == "service_role":
        total = expected["A"].get(table, 0) + expected["B"].get(table, 0) if table in TENANT_TABLES else 1
        assert len(rows) == total, (actor, table)
    elif actor in CLIENTS and table in TENANT_TABLES:
        assert seen == {CLIENTS[actor]} and len(rows) == expected[actor][table], (actor, table, seen)
    else:
        assert rows == [], (actor, table)


def probe_write(conn, actor, table, kind, rng) -> None:
    if table not in TENANT_TABLES or actor not in CLIENTS:
        statement = sql.SQL("DELETE FROM {}").format(sql.Identifier("crm", table))
        try:
            deleted = conn.execute(statement).rowcount
        except errors.InsufficientPrivilege:
            raise Rollback
        assert actor == "service_role" or deleted == 0, (actor, table, deleted)
        raise Rollback
    own, other = CLIENTS[actor], CLIENTS["B" if actor == "A" else "A"]
    t = sql.Identifier("crm", table)
    if kind == "update_other":
        assert conn.execute(sql.SQL("UPDATE {} SET client_id = client_id WHERE client_id = %s").format(t),
                            (other,)).rowcount == 0
    elif kind == "delete_other":
        assert conn.execute(sql.SQL("DELETE FROM {} WHERE client_id = %s").format(t), (other,)).rowcount == 0
    elif kind == "move_to_other":
        with pytest.raises(errors.InsufficientPrivilege):  # WITH CHECK, or no UPDATE policy: 0 rows
            if conn.execute(sql.SQL("UPDATE {} SET client_id = %s WHERE client_id = %s").format(t),
                            (other, own)).rowcount == 0:
                raise errors.InsufficientPrivilege("no row may be updated")
    elif kind == "insert_for_other":
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(sql.SQL("INSERT INTO {t} SELECT (jsonb_populate_record(NULL::{t}, to_jsonb(r) || "
                                 "jsonb_build_object('client_id', %s::text))).* FROM {t} r LIMIT 1").format(t=t),
                         (other,))
    raise Rollback


def test_two_thousand_probes_find_no_cross_client_row(deployed, database, db):
    rng = random.Random(20261122)
    tables = TENANT_TABLES + OPERATOR_ONLY
    done = {"read": 0, "write": 0}
    with psycopg.connect(**database, autocommit=True) as conn:
        for _ in range(PROBES):
            actor, table = rng.choice(ACTORS), rng.choice(tables)
            kind = rng.choice(["read", "read", "update_other", "delete_other", "move_to_other", "insert_for_other"])
            try:
                with conn.transaction():
                    act(conn, actor)
                    if kind == "read":
                        probe_read(conn, actor, table, deployed)
                        raise Rollback
                    probe_write(conn, actor, table, kind, rng)
            except Rollback:
                pass
            done["read" if kind == "read" else "write"] += 1
    assert done["read"] > 500 and done["write"] > 1000
    # Every write was rolled back or refused: the data is what the seed made.
    for client, counts in deployed.items():
        for table, count in counts.items():
            assert db.execute(sql.SQL("SELECT count(*) FROM crm.{} WHERE client_id = %s").format(
                sql.Identifier(table)), (CLIENTS[client],)).fetchone()[0] == count

"""Randomized cross-tenant probes on every tenant-scoped module (growth, crm, analytics), on the
whole dev stack as the engine stand-in deploys it (roles, grants and auth functions from
Pulumi.dev.yaml, nothing made by hand), with tenants A and B seeded (tests/support/tenants.py).

Per module, 2,000 probes with a fixed seed: every role (anon, authenticator, authenticated as
tenant A, as B and with no tenant, service_role, the dev login role developer) reads or writes a
random table of the module. No probe may
see, change or create a row of another tenant. Every write is rolled back, so each probe sees
the seeded data.
"""

import random

import psycopg
import pytest
from psycopg import errors, sql

from tests.support.tenants import MODULES, Tenant, TenantModule, act

PROBES = 2000
# authenticated as A, as B, or with no tenant setting ("none"); developer is the dev stack's login
# role (member of the API roles, bound by RLS); anon and authenticator have no grant on tenant data.
ACTORS = ["anon", "authenticator", "service_role", "developer", "none", "A", "B"]
NO_GRANT = ("anon", "authenticator")
KINDS = ["read", "read", "update_other", "delete_other", "move_to_other", "insert_for_other"]


class Rollback(Exception):
    """Ends a probe's transaction without keeping anything."""


class Probe:
    def __init__(self, conn, module: TenantModule, tenants: dict[str, Tenant], totals: dict[str, int]):
        self.conn, self.module, self.tenants, self.totals = conn, module, tenants, totals
        # Tables whose tenant column is an identity no one can set (analytics.tenant).
        self.identity = {table for table in module.tenant_tables() if conn.execute(
            "SELECT attidentity = 'a' FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s",
            (f"{module.schema}.{table}", module.columns[table])).fetchone()[0]}

    def table(self, name: str) -> sql.Identifier:
        return sql.Identifier(self.module.schema, name)

    def run(self, actor: str, table: str, kind: str) -> None:
        tenant = self.tenants.get(actor)
        act(self.conn, "authenticated" if actor in ("none", "A", "B") else actor, tenant and tenant.settings)
        if kind == "read":
            self.read(actor, table)
        elif tenant is None or not self.module.columns[table]:
            self.write_all(actor, table)
        else:
            self.write_across(tenant, table, kind)
        raise Rollback

    def read(self, actor: str, table: str) -> None:
        column = self.module.columns[table]
        try:
            rows = self.conn.execute(sql.SQL("SELECT CAST({} AS text) FROM {}").format(
                sql.Identifier(column) if column else sql.NULL, self.table(table))).fetchall()
        except errors.InsufficientPrivilege:
            assert actor in NO_GRANT, (actor, table)
            return
        if actor == "service_role":  # bypasses RLS: everything
            assert len(rows) == self.totals[table], (actor, table)
        elif actor in self.tenants and column:
            own = self.tenants[actor]
            assert {r[0] for r in rows} == {str(own.keys[table])}, (actor, table)
            assert len(rows) == own.rows[table], (actor, table)
        else:  # no tenant setting, or a table of no tenant
            assert rows == [], (actor, table)

    def write_all(self, actor: str, table: str) -> None:
        """Anyone without a tenant (or on a table of no tenant) deletes what it can."""
        try:
            deleted = self.conn.execute(sql.SQL("DELETE FROM {}").format(self.table(table))).rowcount
        except errors.InsufficientPrivilege:
            assert actor in NO_GRANT, (actor, table)
            return
        except errors.IntegrityError:  # an immutable row or a RESTRICT foreign key: not a privilege
            assert actor == "service_role", (actor, table)
            return
        assert deleted == (self.totals[table] if actor == "service_role" else 0), (actor, table, deleted)

    def write_across(self, tenant: Tenant, table: str, kind: str) -> None:
        other = self.tenants["B" if tenant.name == "A" else "A"]
        column = sql.Identifier(self.module.columns[table])
        own_key, other_key = tenant.keys[table], other.keys[table]
        t = self.table(table)
        if kind == "delete_other":  # B's rows cannot even be addressed
            assert self.conn.execute(sql.SQL("DELETE FROM {} WHERE {} = %s").format(t, column), (other_key,)).rowcount == 0
            return
        if kind == "insert_for_other":  # a copy of one of its own rows, for B
            with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
                self.conn.execute(self.copy_for(table), (self.module.columns[table], str(other_key)))
            return
        update = {  # B's rows are not addressable; A's cannot be moved to B
            "update_other": (sql.SQL("UPDATE {} SET {} = {} WHERE {} = %s").format(t, column, column, column),
                             (other_key,)),
            "move_to_other": (sql.SQL("UPDATE {} SET {} = %s WHERE {} = %s").format(t, column, column),
                              (other_key, own_key)),
        }[kind]
        try:
            changed = self.conn.execute(*update).rowcount
        except errors.InsufficientPrivilege:  # WITH CHECK
            assert kind == "move_to_other", (tenant.name, table)
            return
        except errors.RestrictViolation:  # its trigger refuses any change, before RLS decides
            assert table in self.module.immutable and kind == "move_to_other", (tenant.name, table)
            return
        except errors.GeneratedAlways:
            assert table in self.identity, (tenant.name, table)
            return
        assert changed == 0, (tenant.name, table, kind)  # matched nothing: no UPDATE policy, or B's rows

    def copy_for(self, table: str) -> sql.Composed:
        """INSERT of a copy of one visible row with the tenant column set to a parameter."""
        columns = [r[0] for r in self.conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum", (f"{self.module.schema}.{table}",))]
        t = self.table(table)
        return sql.SQL("INSERT INTO {t} ({cols}) OVERRIDING SYSTEM VALUE SELECT {copied} FROM {t} r, "
                       "jsonb_populate_record(NULL::{t}, to_jsonb(r) || jsonb_build_object(%s::text, %s::text)) p "
                       "LIMIT 1").format(
            t=t, cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
            copied=sql.SQL(", ").join(sql.Identifier("p", c) for c in columns))


@pytest.mark.parametrize("name", list(MODULES))
def test_two_thousand_probes_find_no_cross_tenant_row(dev_stack, name):
    module, tenants = MODULES[name], dev_stack.tenants[name]
    rng = random.Random(20261122)
    done = {"read": 0, "write": 0}
    with psycopg.connect(**dev_stack.database, autocommit=True) as conn:
        totals = {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(module.schema, t))
                                  ).fetchone()[0] for t in module.columns}
        probe = Probe(conn, module, tenants, totals)
        for _ in range(PROBES):
            actor, table, kind = rng.choice(ACTORS), rng.choice(list(module.columns)), rng.choice(KINDS)
            try:
                with conn.transaction():
                    probe.run(actor, table, kind)
            except Rollback:
                pass
            done["read" if kind == "read" else "write"] += 1
        assert done["read"] > 500 and done["write"] > 1000
        # Every write was refused or rolled back: the data is what the seed made.
        for tenant in tenants.values():
            for table, count in tenant.rows.items():
                assert conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE {} = %s").format(
                    sql.Identifier(module.schema, table), sql.Identifier(module.columns[table])),
                    (tenant.keys[table],)).fetchone()[0] == count

"""Live: the dev stack's access matrix (computed from the declared resources only) is what
PostgreSQL enforces on the deployed dev stack, for every role × table × command, for a request
without tenant settings and for tenants A and B (tests/support/tenants.py).

Each probe runs in a transaction that is rolled back, with triggers and foreign-key actions off
(session_replication_role = replica: the probe measures access, not integrity), and compares
what the role does with the matrix cell:

- denied: the command fails with a permission error (not a row-level security one);
- otherwise the rows it sees or changes are exactly those where the cell's predicate holds
  (TRUE for all rows, FALSE for none), evaluated as the owner with the same request settings:
  SELECT reads them; INSERT of a copy of each existing row passes row-level security exactly
  when the predicate holds for it; UPDATE, setting a column no predicate reads to its default
  (reading nothing, so only the UPDATE's own policies apply), changes them, and fails when one
  of them misses WITH CHECK; DELETE removes them; TRUNCATE empties the table (or is refused only
  because another table references it).

Tenant B's user is not the shop's CEO, and one of client A's lead actions points at a lead of
client B: rows the restrictive ceo_briefings policy and lead_actions' EXISTS must tell apart.
"""

import json
from collections import Counter

import psycopg
import pytest
from psycopg import errors, sql

from components.review.access import COMMANDS, Cell, access_matrix
from components.review.predicates import TRUE
from tests.support.review import shipped
from tests.support.tenants import CLIENT_A, CLIENT_B

EVERY_ROW = sql.SQL("TRUE")


class Rollback(Exception):
    """Ends a probe's transaction without keeping anything."""


def request_settings(tenants: dict, name: str, shop_role: str) -> dict[str, str]:
    """Tenant `name` of every tenant-scoped module in one request: the settings, and one set of
    JWT claims (analytics' tenant_id with growth's user, whose role in their shop is `shop_role`)."""
    settings, claims = {}, {}
    for module in ("analytics", "crm", "growth"):
        for key, value in tenants[module][name].settings.items():
            if key == "request.jwt.claims":
                claims.update(json.loads(value))
            else:
                settings[key] = value
    shop = tenants["growth"][name].settings["app.current_shop"]
    claims["app_metadata"] = {"shop_roles": {shop: shop_role}}
    return {**settings, "request.jwt.claims": json.dumps(claims)}



def seed_public(conn) -> None:
    """One row in each table of site and tracking, which the tenant seeds leave empty."""
    lead = conn.execute("INSERT INTO public.leads (email) VALUES ('lead@example.com') RETURNING id").fetchone()[0]
    visitor = conn.execute("INSERT INTO public.visitors (visitor_id) VALUES ('cookie-1') RETURNING id").fetchone()[0]
    conn.execute("UPDATE public.leads SET visitor_id = %s WHERE id = %s", (visitor, lead))
    conversion = conn.execute(
        "INSERT INTO public.conversions (lead_id, crm_deal_id, conversion_type, idempotency_key, converted_at) "
        "VALUES (%s, 'deal-1', 'qualified', 'deal-1:qualified', now()) RETURNING id", (lead,)).fetchone()[0]
    conn.execute("INSERT INTO public.conversion_queue (conversion_id) VALUES (%s)", (conversion,))
    conn.execute("INSERT INTO public.tracking_events (event_name, visitor_id) VALUES ('page_view', %s)", (visitor,))


def seed_crossed_lead_action(conn) -> None:
    """A lead action of client A on a lead of client B, which lead_actions' INSERT policy refuses."""
    conn.execute("INSERT INTO crm.lead_actions (lead_id, client_id, action_type) SELECT id, %s, 'insert' "
                 "FROM crm.lead_memory WHERE client_id = %s LIMIT 1", (CLIENT_A, CLIENT_B))


def predicate(cell: Cell) -> str:
    if cell.access == "all":
        return TRUE
    if cell.access == "rows" and cell.rows is not None:
        return cell.rows
    return "FALSE"


def permission_error(exc: Exception) -> bool:
    return isinstance(exc, errors.InsufficientPrivilege) and "row-level security" not in str(exc)


class Probe:
    def __init__(self, conn: psycopg.Connection, owner: str, schema: str, table: str):
        self.conn, self.owner, self.name = conn, owner, f"{schema}.{table}"
        self.table = sql.Identifier(schema, table)
        self.row = sql.SQL("to_jsonb({}.*)::text").format(sql.Identifier(table))
        self.schema = schema

    def begin(self, settings: dict[str, str]) -> None:
        self.conn.execute("SET LOCAL session_replication_role = replica")
        self.conn.execute(sql.SQL("SET LOCAL search_path TO {}, public").format(sql.Identifier(self.schema)))
        for key, value in settings.items():
            self.conn.execute("SELECT set_config(%s, %s, true)", (key, value))

    def as_role(self, role: str, query: sql.Composable, params=None):
        self.conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        cursor = self.conn.execute(query, params)
        result = cursor.fetchall() if cursor.description else cursor.rowcount
        self.conn.execute("RESET ROLE")
        return result

    def row_without(self, column: str) -> sql.Composable:
        return sql.SQL("(to_jsonb({}.*) - {})::text").format(sql.Identifier(self.name.split(".")[1]),
                                                             sql.Literal(column))

    def evaluate(self, *predicates: str, where: sql.Composable = EVERY_ROW,
                 row: sql.Composable | None = None) -> list[tuple]:
        """Each row (as JSON text) with each predicate's value, as the owner (no RLS)."""
        checks = [sql.SQL("COALESCE(({}), false)").format(sql.SQL(p)) for p in predicates]
        return self.as_role(self.owner, sql.SQL("SELECT {} FROM {} WHERE {}").format(
            sql.SQL(", ").join([row or self.row, *checks]), self.table, where))

    def rows(self, where: sql.Composable = EVERY_ROW, row: sql.Composable | None = None) -> Counter:
        return Counter(r[0] for r in self.evaluate(where=where, row=row))

    # --- one method per command: each returns (denied, whether the rows were the expected ones)

    def select(self, role: str, cell: Cell) -> bool:
        expected = Counter(row for row, ok in self.evaluate(predicate(cell)) if ok)
        return Counter(r[0] for r in self.as_role(role, sql.SQL("SELECT {} FROM {}").format(self.row, self.table))) \
            == expected

    def insert(self, role: str, cell: Cell) -> bool:
        for row, ok in self.evaluate(predicate(cell)):
            try:
                with self.conn.transaction():
                    self.as_role(role, sql.SQL("INSERT INTO {} OVERRIDING SYSTEM VALUE SELECT * FROM "
                                               "jsonb_populate_record(NULL::{}, %s::jsonb)").format(
                        self.table, self.table), (row,))
                passed = True
            except errors.IntegrityError:  # a duplicate key: row-level security let it through first
                passed = True
            except errors.InsufficientPrivilege as exc:
                if permission_error(exc):
                    raise
                passed = False
            if passed != ok:
                return False
        return True

    def update(self, role: str, cell: Cell) -> bool:
        using, check = predicate(cell), cell.new_rows or predicate(cell)
        column, value = self.settable_column()
        before = self.evaluate(using, check, row=self.row_without(column))
        refused = any(u and not w for _, u, w in before)
        try:
            self.as_role(role, sql.SQL("UPDATE {} SET {} = {}").format(self.table, sql.Identifier(column), value))
        except errors.InsufficientPrivilege as exc:
            if permission_error(exc):
                raise
            return refused  # WITH CHECK refused a new row
        changed = self.rows(sql.SQL("xmin = pg_current_xact_id()::xid"), row=self.row_without(column))
        return not refused and changed == Counter(row for row, u, _ in before if u)

    def settable_column(self) -> tuple[str, sql.Composable]:
        """A column the UPDATE can set without reading anything (so only the UPDATE's own policies
        apply) and without tripping a constraint: one with a default (else a nullable one) that
        no constraint, index or policy depends on."""
        found = self.conn.execute(
            "SELECT attname, atthasdef FROM pg_attribute a WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped AND attidentity = '' AND attgenerated = '' AND (atthasdef OR NOT attnotnull) "
            "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_class'::regclass "
            "    AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum "
            "    AND (d.classid IN ('pg_class'::regclass, 'pg_policy'::regclass) "  # indexes, policies
            "         OR d.classid = 'pg_constraint'::regclass "  # constraints other than NOT NULL
            "            AND (SELECT contype FROM pg_constraint c WHERE c.oid = d.objid) <> 'n')) "
            "ORDER BY atthasdef DESC, attnum LIMIT 1", (self.name,)).fetchone()
        assert found, f"{self.name}: no column to set"
        return found[0], sql.SQL("DEFAULT" if found[1] else "NULL")

    def delete(self, role: str, cell: Cell) -> bool:
        before = self.evaluate(predicate(cell))
        self.as_role(role, sql.SQL("DELETE FROM {}").format(self.table))
        return Counter(row for row, _ in before) - self.rows() == Counter(row for row, ok in before if ok)

    def truncate(self, role: str, cell: Cell) -> bool:
        try:
            self.as_role(role, sql.SQL("TRUNCATE {}").format(self.table))
        except errors.FeatureNotSupported as exc:  # referenced by a foreign key: checked after the privilege
            return cell.access == "all" and "foreign key" in str(exc)
        return cell.access == "all" and not self.rows()

    def check(self, role: str, command: str, cell: Cell, settings: dict[str, str]) -> None:
        denied = cell.access == "denied"
        try:
            with self.conn.transaction():
                self.begin(settings)
                try:
                    agrees = getattr(self, command.lower())(role, cell)
                except errors.InsufficientPrivilege as exc:
                    assert permission_error(exc), exc
                    assert denied, (role, command, str(exc))
                else:
                    assert not denied, (role, command, "was allowed")
                    assert agrees, (role, command, cell)
                raise Rollback
        except Rollback:
            pass


@pytest.fixture(scope="module")
def matrix():
    return access_matrix("dev", list(shipped("dev")))


def test_every_cell_of_the_dev_matrix_is_what_postgresql_enforces(dev_stack, matrix):
    with psycopg.connect(**dev_stack.database, autocommit=True) as conn:
        seed_public(conn)
        seed_crossed_lead_action(conn)
        requests = {"no settings": {}, "tenant A": request_settings(dev_stack.tenants, "A", "ceo"),
                    "tenant B": request_settings(dev_stack.tenants, "B", "member")}
        probed = Counter()
        for relation in matrix.relations:
            count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(relation.schema, relation.name))).fetchone()[0]
            assert count > 0, relation  # else the predicates select nothing and prove nothing
            probe = Probe(conn, relation.owner, relation.schema, relation.name)
            for role in matrix.roles:
                for command in COMMANDS:
                    cell = matrix.cell(relation.qualified, role, command)
                    for request, settings in requests.items():
                        try:
                            probe.check(role, command, cell, settings)
                        except AssertionError as exc:
                            raise AssertionError(f"{relation.qualified} {request}: {exc}") from None
                    probed[cell.access] += 1
    assert sum(probed.values()) == len(matrix.relations) * len(matrix.roles) * len(COMMANDS)
    assert set(probed) == {"denied", "all", "none", "rows"}  # every kind of cell was probed

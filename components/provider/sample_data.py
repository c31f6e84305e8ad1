"""The provider of a module's sample data (dev only; see model/sample_data.py).

Every statement runs in one transaction, as the owner of the module's tables (so RLS, which
does not bind a table's owner, lets every tenant's rows in), with the session every other kind
gets: the stack's timeouts and search path. A failing statement rolls them all back and its
error names the statement's file and line.

Before the first one, the tables it writes are checked for triggers the stack did not declare
(trigger_guard.py): such a trigger would run as the deploying user. Data migrations
(migration.py) are this provider too, so the check covers them.
"""

from psycopg import sql

from ..model.plan import Step
from . import catalog, trigger_guard
from .base import CatalogObjectProvider


def dml_steps(statements: list[dict], transactional: bool = True) -> list[Step]:
    """The steps of DML the deployer runs on a module's tables (sample rows, data migrations):
    one per statement, run as the owner role like every change (SET ROLE), in the stack's
    session. Both kinds go through here, so what guards such DML guards both."""
    return [Step(f"{s.get('action', 'insert into')} {s['table']} at {s['source']}", sql.SQL(s["sql"]),
                 transactional=transactional) for s in statements]


class SampleDataProvider(CatalogObjectProvider):
    kind = "sample data"
    introspect = staticmethod(catalog.sample_data)

    def object_id(self, props):
        return f"{props['schema']}.sample_data"

    def plan_create(self, props):
        return dml_steps(props["statements"])

    def plan_update(self, old, new):
        # All of them again: each is an INSERT ... ON CONFLICT DO NOTHING, so rows already there
        # stay as they are and only new ones are added.
        return self.plan_create(new)

    def plan_delete(self, props):
        return []  # the rows stay with their tables (see delete)

    def plan_towards(self, recorded, live, new):
        return self.plan_create(new)  # idempotent by construction, whatever was loaded before

    def _where(self, props: dict) -> str:
        return f"{self.kind} {self.object_id(props)} ({props.get('source', 'unknown source')})"

    def before_steps(self, cur, props, steps):
        if steps:
            trigger_guard.refuse_foreign_triggers(cur, props, self._where(props))

    def delete(self, id_, props):
        """Changes nothing in the database: the sample rows stay, like any other rows of their
        tables, and go when the tables do."""

"""The provider of a module's sample data (dev only; see model/sample_data.py).

Every statement runs in one transaction, as the owner of the module's tables (so RLS, which
does not bind a table's owner, lets every tenant's rows in), with the session every other kind
gets: the stack's timeouts and search path. A failing statement rolls them all back and its
error names the statement's file and line.
"""

from psycopg import sql

from ..model.plan import Step
from . import catalog
from .base import CatalogObjectProvider


class SampleDataProvider(CatalogObjectProvider):
    kind = "sample data"
    introspect = staticmethod(catalog.sample_data)

    def object_id(self, props):
        return f"{props['schema']}.sample_data"

    def plan_create(self, props):
        return [Step(f"insert into {s['table']} at {s['source']}", sql.SQL(s["sql"])) for s in props["statements"]]

    def plan_update(self, old, new):
        # All of them again: each is an INSERT ... ON CONFLICT DO NOTHING, so rows already there
        # stay as they are and only new ones are added.
        return self.plan_create(new)

    def plan_delete(self, props):
        return []  # the rows stay with their tables (see delete)

    def plan_towards(self, recorded, live, new):
        return self.plan_create(new)  # idempotent by construction, whatever was loaded before

    def delete(self, id_, props):
        """Changes nothing in the database: the sample rows stay, like any other rows of their
        tables, and go when the tables do."""

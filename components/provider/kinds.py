"""One provider class per object kind: how each is named, planned, replaced and read back."""

from ..model import plan
from ..model.objects import extends_only
from . import catalog
from .base import APPLIED, CatalogObjectProvider, definition
from .errors import AlreadyExists


class TableProvider(CatalogObjectProvider):
    kind = "table"
    # Renaming needs an explicit hint, never a guess: a new name is a new table. Switching
    # between owning the table and extending an existing one is a different resource too.
    replace_on = ("schema", "name", "managed")
    introspect = staticmethod(catalog.table)

    def journal_key(self, props):
        # A module that creates public.leads and one that only adds columns to it are two resources.
        return f"{super().journal_key(props)} ({props.get('managed', 'table')})"

    def comparable(self, props):
        # Column order cannot be changed by ALTER (only by recreating the table): reordering the
        # columns in the file is not a change.
        result = definition(props)
        if isinstance(result.get("columns"), list):
            result["columns"] = sorted(result["columns"],
                                       key=lambda c: str(c.get("name")) if isinstance(c, dict) else "")
        return result

    def plan_towards(self, recorded, live, new):
        if live is not None and extends_only(new):
            # The table is someone else's: whether this resource exists is whether its columns do.
            live = self._managed_keys(new, live) or None
        return super().plan_towards(recorded, live, new)

    def plan_create(self, props):
        return plan.create_table(props)

    def plan_update(self, old, new):
        return plan.alter_table(old, new)

    def plan_delete(self, props):
        return plan.drop_table(props)

    def change_owner(self, props):
        return None if extends_only(props) else plan.change_owner("table", props)

    def _managed_keys(self, props: dict, live: dict) -> dict:
        """For a table the module only extends, only its own columns and constraints count."""
        if not extends_only(props):
            return live
        own = {f"column:{c['name']}" for c in props.get("columns", [])}
        own |= {f"constraint:{c['name']}" for c in props.get("constraints", [])}
        return {k: v for k, v in live.items() if k in own or k in props.get(APPLIED, {})}

    def fingerprints(self, props, live):
        return super().fingerprints(props, self._managed_keys(props, live))

    def reconcile(self, state, live):
        live = self._managed_keys(state, live)
        applied = state.get(APPLIED, {})
        result = dict(state)
        for collection, prefix in (("columns", "column:"), ("constraints", "constraint:")):
            declared = {item["name"]: item for item in state.get(collection, [])}
            items = []
            for name, item in declared.items():
                key = prefix + name
                if key not in live:
                    continue  # dropped by hand: reported missing
                fingerprint, live_form = live[key]
                items.append(item if applied.get(key) == fingerprint else live_form)
            # Columns and constraints the resource never declared are not reported: another
            # module may own them (a module that extends this table adds its own columns).
            result[collection] = items
        for key in ("comment", "rls_enabled", "rls_forced", "partition_by", "owner"):
            if key in live and applied.get(key) != live[key][0]:
                result[key] = live[key][1]
        return result


class IndexProvider(CatalogObjectProvider):
    kind = "index"
    # PostgreSQL has no ALTER for an index definition: any change rebuilds it.
    replace_on = ("schema", "name", "table", "elements", "unique", "method", "include", "where",
                  "with_params", "drift")
    introspect = staticmethod(catalog.index)

    def plan_create(self, props):
        return plan.create_index(props, self._safety.concurrent_indexes)

    def plan_update(self, old, new):
        return []  # every definition change is a replacement

    def plan_delete(self, props):
        return plan.drop_index(props, self._safety.concurrent_indexes)

    def plan_towards(self, recorded, live, new):
        if live is None:
            return self.plan_create(new)
        if recorded is None:
            raise AlreadyExists(self.kind, self.object_id(new), new.get("source", "unknown source"))
        built = live["definition"][0]
        applied = recorded.get(APPLIED, {}).get("definition")
        same = self.comparable(recorded) == self.comparable(new)
        # As last applied; or the build this tool started (applied unknown) finished.
        if same and not built.endswith(catalog.INVALID_INDEX) and applied in (built, None):
            return []
        # An interrupted concurrent build left an INVALID index, or the index is not what was
        # last applied: build it again.
        return plan.drop_index(new, self._safety.concurrent_indexes) + self.plan_create(new)

    def after_failed_step(self, cur, props):
        # A failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind.
        for step in plan.drop_index(props, concurrently=False):
            cur.execute(step.statement)


class PartitionProvider(CatalogObjectProvider):
    kind = "partition"
    # A partition's bounds or parent cannot be altered in place (only detached and attached
    # again, which this tool does not guess at): a change is a replacement, whose DROP TABLE
    # the data-loss rule refuses on strict stacks. `bound` appears when read finds the live
    # bounds drifted.
    replace_on = ("schema", "name", "table", "from", "to", "bound")
    introspect = staticmethod(catalog.partition)

    # Bounds of a timestamptz key are read back in the session time zone: fix it, so the
    # fingerprint does not depend on the server's or the client's TimeZone.
    session_settings = {"TimeZone": "UTC"}

    def plan_create(self, props):
        return plan.create_partition(props)

    def plan_update(self, old, new):
        return plan.alter_partition(old, new)

    def plan_delete(self, props):
        return plan.drop_partition(props)

    def change_owner(self, props):
        return plan.change_owner("table", props)


class PolicyProvider(CatalogObjectProvider):
    kind = "policy"
    replace_on = ("schema", "table", "name")
    introspect = staticmethod(catalog.policy)

    def object_id(self, props):
        return f"{props['schema']}.{props['table']}.{props['name']}"

    def plan_create(self, props):
        return plan.create_policy(props)

    def plan_update(self, old, new):
        return plan.alter_policy(old, new)

    def plan_delete(self, props):
        return plan.drop_policy(props)


class FunctionProvider(CatalogObjectProvider):
    kind = "function"
    # A different signature or return type is a different function for PostgreSQL.
    replace_on = ("schema", "name", "arguments", "returns")
    delete_before_replace = False
    introspect = staticmethod(catalog.function)

    def object_id(self, props):
        return f"{props['schema']}.{props['name']}({props.get('arguments', '')})"

    def plan_create(self, props):
        return plan.create_or_replace("function", props)

    def plan_update(self, old, new):
        return plan.create_or_replace("function", new)

    def plan_delete(self, props):
        return plan.drop_function(props)

    def change_owner(self, props):
        return plan.change_owner("function", props)


class TriggerProvider(CatalogObjectProvider):
    kind = "trigger"
    replace_on = ("schema", "table", "name")
    introspect = staticmethod(catalog.trigger)

    def object_id(self, props):
        return f"{props['schema']}.{props['table']}.{props['name']}"

    def plan_create(self, props):
        return plan.create_or_replace("trigger", props)

    def plan_update(self, old, new):
        return plan.create_or_replace("trigger", new)  # CREATE OR REPLACE TRIGGER (PostgreSQL 14+)

    def plan_delete(self, props):
        return plan.drop_trigger(props)


class ViewProvider(CatalogObjectProvider):
    kind = "view"
    introspect = staticmethod(catalog.view)

    def plan_create(self, props):
        return plan.create_or_replace("view", props)

    def plan_update(self, old, new):
        # CREATE OR REPLACE VIEW keeps grants and dependants but cannot drop or retype columns;
        # PostgreSQL then refuses and the error says so.
        return plan.create_or_replace("view", new)

    def plan_delete(self, props):
        return plan.drop_view(props)

    def change_owner(self, props):
        return plan.change_owner("view", props)

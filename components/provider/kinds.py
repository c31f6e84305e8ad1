"""One provider class per object kind: how each is named, planned, replaced and read back."""

from collections.abc import Mapping

import psycopg
from pglast import ast, parse_sql
from pglast.parser import ParseError
from pglast.stream import RawStream
from psycopg import sql
from pulumi.dynamic import DiffResult

from ..model import plan
from ..model.objects import extends_only
from ..model.plan import Step
from . import catalog, dependents, journal
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

    def existing(self, props, live):
        if live is not None and extends_only(props):
            # The table is someone else's: whether this resource exists is whether its columns do.
            return self._managed_keys(props, live) or None
        return live

    def plan_towards(self, recorded, live, new):
        live = self.existing(new, live)
        if live is not None and recorded is not None:
            recorded = self._with_declared_live(recorded, live, new)
        return super().plan_towards(recorded, live, new)

    @staticmethod
    def _with_declared_live(recorded: dict, live: dict, new: dict) -> dict:
        """What was last recorded, plus the declared columns and constraints that exist live
        without being recorded: an interrupted change (online steps run after the first
        transaction commits) made them, and they must not be added twice."""
        result = dict(recorded)
        for collection, prefix in (("columns", "column:"), ("constraints", "constraint:")):
            known = {item["name"] for item in recorded.get(collection, [])}
            made = [live[prefix + item["name"]][1] for item in new.get(collection, [])
                    if item["name"] not in known and prefix + item["name"] in live]
            result[collection] = list(recorded.get(collection, [])) + made
        return result

    def plan_create(self, props):
        return plan.create_table(props)

    def table_of(self, props):
        return props["schema"], props["name"]

    def diff(self, id_, olds, news):
        result = super().diff(id_, olds, news)
        if result.replaces == ["name"] and news.get("renamed_from") == olds.get("name"):
            return DiffResult(changes=True)  # renamed, as the file says: an update that keeps the rows
        return result

    def _plan_live(self, cur, new, recorded, reads=None):
        # The policies and views that read each column, in case the plan must move them aside.
        found = dependents.OnFirstUse(cur, new["schema"], new.get("renamed_from") or new["name"])
        steps = self._plan_towards_live(cur, {**new, "_dependents": found}, recorded, reads)
        return _keeping_dropped_views(steps, found) if found.read else steps

    def _plan_towards_live(self, cur, new, recorded, reads):
        old_name = new.get("renamed_from")
        if old_name and type(self).introspect(cur, new) is None:
            old = {**new, "name": old_name}
            live = type(self).introspect(cur, old)
            if live is not None:  # not renamed yet: rename, then plan from the table as it is
                base = journal.read(cur, self.journal_key(old)) or recorded
                if base is None:
                    raise AlreadyExists(self.kind, self.object_id(old), new.get("source", "unknown source"))
                steps = [plan.rename_table(old, new["name"])]
                base, live, renamed = _constraints_named_after(base, live, new, old_name)
                steps += [plan.rename_constraint(new, before, after) for before, after in renamed]
                steps += self.plan_towards({**base, "name": new["name"]}, live, new)
                return self._without_row_hazards_if_empty(cur, old, steps)
        return super()._plan_live(cur, new, recorded, reads)

    def plan_update(self, old, new):
        # What `read` found that the stack did not declare goes first (trigger_guard.py).
        return plan.remove_foreign_code(old) + plan.alter_table(old, new, self._safety.online_changes)

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
        for key in ("comment", "rls_enabled", "rls_forced", "partition_by", "owner", "foreign_triggers",
                    "trigger_privileges"):
            if key in live and applied.get(key) != live[key][0]:
                result[key] = live[key][1]
        return result


class IndexProvider(CatalogObjectProvider):
    kind = "index"
    # A changed definition is an update: rebuilt in one transaction, or, online, built under a
    # temporary name and swapped in, so the index never goes missing.
    replace_on = ("schema", "name", "table")
    introspect = staticmethod(catalog.index)

    @property
    def _online(self) -> bool:
        return self._safety.online_changes

    def table_of(self, props):
        return props["schema"], props["table"]

    def _plan_live(self, cur, new, recorded, reads=None):
        # What the plan needs to know of the database besides the index itself: the partitions
        # of a partitioned table, and a swap an interrupted change left behind.
        extra = {}
        if new.get("partitioned") and self._online:
            extra["_partitions"] = catalog.partitions(cur, new["schema"], new["table"])
        swap = catalog.index(cur, {**new, "name": plan.swap_name(new)})
        if swap is not None:
            extra["_swap"] = swap["definition"][0]
        return super()._plan_live(cur, {**new, **extra}, recorded, reads)

    def plan_create(self, props):
        return plan.create_index(props, self._online, props.get("_partitions"))

    def plan_update(self, old, new):
        def shape(index: dict) -> dict:  # what the index is, wherever its table is called
            return {k: v for k, v in self.comparable(index).items() if k not in ("table", "table_renamed_from")}
        return plan.change_index(old, new, self._online) if shape(old) != shape(new) else []

    def plan_delete(self, props):
        return plan.drop_index(props, self._online)

    def plan_towards(self, recorded, live, new):
        swap = new.get("_swap")
        leftover = plan.drop_index({**new, "name": plan.swap_name(new)}, self._online) if swap else []
        if live is None:
            if swap and not swap.endswith(catalog.INVALID_INDEX) and recorded is not None:
                # An interrupted swap dropped the old index: the new one only needs its name.
                return plan.rename_index(plan.swap_name(new), new)
            return leftover + self.plan_create(new)
        if recorded is None:
            return self.unrecorded(new)
        built = live["definition"][0]
        applied = recorded.get(APPLIED, {}).get("definition")
        if built.endswith(catalog.INVALID_INDEX):  # an interrupted concurrent build: build it again
            return leftover + plan.drop_index(new, self._online) + self.plan_create(new)
        if self.comparable(recorded) == self.comparable(new) and applied in (built, None):
            return leftover  # as last applied, or the build this tool started finished
        if new.get("table_renamed_from") == recorded.get("table") and applied is not None \
                and _same_index_on(applied, built, new["table"]):
            return leftover  # its table was renamed: the index moved with it
        return leftover + self.plan_update(self.reconcile(recorded, live), new)

    def after_failed_step(self, cur, props):
        # A failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind.
        for name in (props["name"], plan.swap_name(props)):
            for step in plan.drop_index({**props, "name": name, "partitioned": True}, online=False):
                cur.execute(step.statement)


class PartitionProvider(CatalogObjectProvider):
    kind = "partition"
    # A partition's bounds or parent cannot be altered in place (only detached and attached
    # again, which this tool does not guess at): a change is a replacement, whose DROP TABLE
    # the data-loss rule refuses on strict stacks. `bound` appears when read finds the live
    # bounds drifted.
    replace_on = ("schema", "name", "table", "from", "to", "bound")
    introspect = staticmethod(catalog.partition)

    def table_of(self, props):
        return props["schema"], props["name"]  # dropping an empty partition loses nothing

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
    # A different signature is a different function for PostgreSQL: the new one is created
    # beside the old (create before delete). A new return type is an update: dropped and created
    # again in one transaction, as CREATE OR REPLACE cannot change it.
    replace_on = ("schema", "name", "arguments")
    delete_before_replace = False
    introspect = staticmethod(catalog.function)

    def object_id(self, props):
        return f"{props['schema']}.{props['name']}({props.get('arguments', '')})"

    def plan_create(self, props):
        return plan.create_or_replace("function", props)

    def plan_update(self, old, new):
        if old.get("returns") != new.get("returns"):
            return plan.replace_function(old, new)
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
        # CREATE OR REPLACE VIEW keeps grants and dependants; when it cannot (the new query drops,
        # renames or retypes a column), _plan_live plans a drop and create instead.
        return plan.create_or_replace("view", new)

    def _plan_live(self, cur, new, recorded, reads=None):
        steps = super()._plan_live(cur, new, recorded, reads)
        kept = journal.kept(cur, self.journal_key(new))
        if kept and type(self).introspect(cur, new) is None:  # dropped by its table's change
            return steps + [Step(f"give view {new['schema']}.{new['name']} back its grants and comment", sql.SQL(t))
                            for t in kept]
        if steps and type(self).introspect(cur, new) is not None \
                and not self._replaceable(cur, steps[-1]):
            restore = [Step(f"restore what view {new['schema']}.{new['name']} had (grants, comment)", sql.SQL(text))
                       for text in dependents.view_kept(cur, new["schema"], new["name"])]
            steps = plan.drop_view(new) + plan.create_or_replace("view", new) + restore
        return steps

    @staticmethod
    def _replaceable(cur, step) -> bool:
        """Whether CREATE OR REPLACE VIEW would be accepted: tried, and rolled back."""
        try:
            with cur.connection.transaction(force_rollback=True):
                cur.execute(step.statement)
        except psycopg.errors.InvalidTableDefinition:  # cannot drop, rename or retype a view column
            return False
        except psycopg.Error:
            return True  # anything else the run itself reports, with its file:line
        return True

    def plan_delete(self, props):
        return plan.drop_view(props)

    def change_owner(self, props):
        return plan.change_owner("view", props)


class EnumProvider(CatalogObjectProvider):
    """CREATE TYPE ... AS ENUM. New values are added with ALTER TYPE ... ADD VALUE, in this
    resource's own transaction: PostgreSQL lets no statement of that transaction use them, so
    what uses a new value (a default, a check, a policy) is changed by the resources that depend
    on this one, after it commits. Removing or reordering values is refused (model/plan/enums.py)."""

    kind = "enum"
    introspect = staticmethod(catalog.enum)

    def plan_create(self, props):
        return plan.create_enum(props)

    def plan_update(self, old, new):
        return plan.alter_enum(old, new)

    def plan_delete(self, props):
        return plan.drop_enum(props)

    def change_owner(self, props):
        return plan.change_owner("type", props)


def _constraints_named_after(base: dict, live: dict, new: dict, old_table: str) -> tuple[dict, dict, list]:
    """Constraints PostgreSQL named after the table (items_pkey) keep that name when the table is
    renamed; the file's new declaration names them after the new name (articles_pkey). Pair
    them by the rest of the name, so they are renamed rather than dropped and built again."""
    declared = {c["name"] for c in new.get("constraints", [])}
    renamed = []
    for constraint in base.get("constraints", []):
        name = constraint["name"]
        after = new["name"] + name[len(old_table):] if name.startswith(old_table + "_") else None
        if after and after in declared and after != name:
            renamed.append((name, after))
    names = dict(renamed)
    base = {**base, "constraints": [dict(c, name=names.get(c["name"], c["name"])) for c in base.get("constraints", [])],
            APPLIED: {(f"constraint:{names[k[11:]]}" if k.startswith("constraint:") and k[11:] in names else k): v
                      for k, v in base.get(APPLIED, {}).items()}}
    live = {(f"constraint:{names[k[11:]]}" if k.startswith("constraint:") and k[11:] in names else k): v
            for k, v in live.items()}
    return base, live, renamed


def _same_index_on(applied: str, built: str, table: str) -> bool:
    """Whether two pg_get_indexdef() renderings are the same index once the first is on `table`."""
    try:
        before, after = parse_sql(applied)[0].stmt, parse_sql(built)[0].stmt
    except ParseError:
        return False
    if not isinstance(before, ast.IndexStmt) or not isinstance(after, ast.IndexStmt) or before.relation is None:
        return False
    before.relation.relname = table
    return RawStream()(before) == RawStream()(after)


def _keeping_dropped_views(steps: list[Step], found: Mapping[str, list[dict]]) -> list[Step]:
    """A view the plan drops for good (it reads a dropped column) is created again by its own
    resource, from its new definition: remember its grants and comment for then."""
    planned = [step.statement.as_string(None) for step in steps]
    views = {d["drop"]: d for ds in found.values() for d in ds if d["kind"] == "view"}
    result = []
    for step, text in zip(steps, planned, strict=True):
        view = views.get(text)
        if view is not None and view["create"][0] not in planned:
            remember = [Step(f"remember the grants and comment of view {view['name']} for when it is created again",
                         statement, as_owner=False)
                    for statement in journal.keep_statements(f"view {view['name']}", view["create"][1:])]
            result += remember
        result.append(step)
    return result

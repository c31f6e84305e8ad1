"""The dynamic provider's shared machinery: connection, diff, plan execution, drift reading.

The provider is pickled into every resource's state, so it holds nothing: no connection, no
password. It reads the connection and safety settings from the stack config in `configure()`,
which the engine calls in the provider process.

Outputs are the declared inputs plus `applied`: the catalog's own rendering of each element
right after it was applied. `read` compares the live catalog with `applied`; an element that
differs is reported in its live form, so `pulumi refresh` shows exactly what drifted and the
next `pulumi up` puts the declared form back.

Ownership: a resource whose inputs name an `owner` is created and changed as that role (SET
ROLE), so the objects belong to a role no application logs in as, and only that role's default
privileges apply to them. The connecting user must be a member of it (the program grants that).
An object that belongs to someone else is first handed over (ALTER ... OWNER TO) as the
connecting user.
"""

from collections.abc import Callable

import psycopg
from psycopg import sql
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult
from pulumi.runtime.rpc import contains_unknowns

from ..model.plan import DATA_LOSS, Step
from ..settings import NAMESPACE, ProviderSettings, provider_settings
from .errors import DataLossRefused, NotConfigured, StepFailed

PROVIDER_KEY = "__provider"
APPLIED = "applied"
# Where the object came from and the review findings its file accepts: no SQL depends on them.
NOT_COMPARED = {PROVIDER_KEY, APPLIED, "source", "accepted"}


def definition(props: dict) -> dict:
    """The part of inputs/outputs that describes the object (what diff compares)."""
    return {k: v for k, v in props.items() if k not in NOT_COMPARED}


def located(new: dict, inputs: dict) -> dict:
    """A definition with the inputs' `source` (file:line) back, for the errors that name it."""
    return {**new, "source": inputs.get("source", "unknown source")}


class CatalogObjectProvider(ResourceProvider):
    """CRUD for one kind of schema object. Subclasses say how to name, plan and introspect it."""

    kind = "object"
    # Properties whose change cannot be done with ALTER: the object is replaced.
    replace_on: tuple[str, ...] = ("schema", "name")
    delete_before_replace = True  # the new object would collide with the old one's name
    introspect: Callable

    # --- configuration (runs in the provider process) -----------------------------------------

    def configure(self, req) -> None:
        def get(key: str):
            return req.config.get(f"{NAMESPACE}:{key}")

        # Kept on the configured instance in the provider process only; this instance is never
        # pickled again (pickling happens in the program process, before configure).
        self._settings: ProviderSettings = provider_settings(get)
        self._safety = self._settings.safety

    def _connect(self) -> psycopg.Connection:
        if not hasattr(self, "_settings"):
            raise NotConfigured("the provider was not configured: the engine calls configure() first")
        return psycopg.connect(**self._settings.connection.kwargs(self._settings.password))

    # --- hooks for subclasses ------------------------------------------------------------------

    def object_id(self, props: dict) -> str:
        return f"{props['schema']}.{props['name']}"

    def plan_create(self, props: dict) -> list[Step]:
        raise NotImplementedError

    def plan_update(self, old: dict, new: dict) -> list[Step]:
        raise NotImplementedError

    def plan_delete(self, props: dict) -> list[Step]:
        raise NotImplementedError

    def change_owner(self, props: dict) -> Step | None:
        """The step that hands the object to `props['owner']`; None for kinds without an owner
        (an index, policy or trigger belongs to its table)."""
        return None

    def after_failed_step(self, cur, props: dict) -> None:
        """Undo what a failed non-transactional step left behind (nothing, by default)."""

    def reconcile(self, state: dict, live: dict) -> dict:
        """State as it is live: each field whose catalog fingerprint moved since it was applied
        is replaced by its live value."""
        applied = state.get(APPLIED, {})
        result = dict(state)
        for key, (fingerprint, live_value) in live.items():
            if applied.get(key) != fingerprint:
                if key == "definition" and "definition" not in state:
                    result["drift"] = live_value  # no structured slot: report it beside
                else:
                    result[key] = live_value
        return result

    # --- engine operations ---------------------------------------------------------------------

    def diff(self, id_: str, olds: dict, news: dict) -> DiffResult:
        old_def, new_def = definition(olds), definition(news)
        if contains_unknowns(new_def):
            return DiffResult(changes=True)
        changed = sorted(k for k in set(old_def) | set(new_def) if old_def.get(k) != new_def.get(k))
        if not changed:
            return DiffResult(changes=False)
        replaces = [k for k in changed if k in self.replace_on]
        return DiffResult(changes=True, replaces=replaces or None,
                          delete_before_replace=self.delete_before_replace if replaces else None)

    def create(self, props: dict) -> CreateResult:
        new = definition(props)
        applied = self._apply(located(new, props), self.plan_create(new))
        return CreateResult(self.object_id(new), {**new, APPLIED: applied})

    def update(self, id_: str, olds: dict, news: dict) -> UpdateResult:
        old, new = definition(olds), definition(news)
        handover = self.change_owner(new) if new.get("owner") and old.get("owner") != new["owner"] else None
        applied = self._apply(located(new, news), self.plan_update(old, new), handover=handover)
        return UpdateResult({**new, APPLIED: applied})

    def delete(self, id_: str, props: dict) -> None:
        old = definition(props)
        self._apply(old, self.plan_delete(old), introspect_after=False)

    def read(self, id_: str, props: dict) -> ReadResult:
        with self._connect() as conn, conn.cursor() as cur:
            self._session(cur, props)
            live = type(self).introspect(cur, props)
        if live is None:
            return ReadResult("", {})
        outs = self.reconcile(props, live)
        outs.pop(PROVIDER_KEY, None)
        return ReadResult(id_, outs)

    # --- plan execution ------------------------------------------------------------------------

    def _session(self, cur, props: dict) -> None:
        """Timeouts from the stack's safety settings, and a search path that resolves names the
        same way when applying and when reading back."""
        timeouts = self._safety.timeouts()
        cur.execute("SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
                    (timeouts["lock_timeout"], timeouts["statement_timeout"]))
        # `extensions` is where Supabase installs extensions (vector, pgcrypto); a schema in the
        # path that does not exist is skipped.
        cur.execute(sql.SQL("SET search_path TO {}, public, extensions").format(sql.Identifier(props["schema"])))

    def _refuse_data_loss(self, props: dict, steps: list[Step]) -> None:
        losing = [s for s in steps if DATA_LOSS in s.hazards]
        if losing and not self._safety.allow_data_loss:
            raise DataLossRefused(
                f"{self.kind} {self.object_id(props)}: refusing to " + "; ".join(s.description for s in losing)
                + f". Nothing was changed. This step loses data; to allow it, set "
                f"`{NAMESPACE}:safety` allow_data_loss: true for this stack (or keep the object declared)."
            )

    def _act_as_owner(self, cur, props: dict) -> None:
        if props.get("owner"):
            cur.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(props["owner"])))

    def _apply(self, props: dict, steps: list[Step], introspect_after: bool = True,
               handover: Step | None = None) -> dict:
        """Run the plan: transactional steps in one transaction, then any step that cannot run
        in a transaction (a concurrent index build) on its own. Returns the applied fingerprints."""
        self._refuse_data_loss(props, steps)
        with self._connect() as conn:
            in_tx = [s for s in steps if s.transactional]
            alone = [s for s in steps if not s.transactional]
            with conn.transaction(), conn.cursor() as cur:
                self._session(cur, props)
                if handover is not None:
                    self._execute(cur, props, handover)
                self._act_as_owner(cur, props)
                for step in in_tx:
                    self._execute(cur, props, step)
            conn.autocommit = True
            with conn.cursor() as cur:
                self._session(cur, props)
                self._act_as_owner(cur, props)
                for step in alone:
                    try:
                        self._execute(cur, props, step)
                    except StepFailed:
                        self.after_failed_step(cur, props)
                        raise
                if not introspect_after:
                    return {}
                live = type(self).introspect(cur, props) or {}
        return self.fingerprints(props, live)

    def _execute(self, cur, props: dict, step: Step) -> None:
        try:
            cur.execute(step.statement)
        except psycopg.Error as exc:
            where = f"{self.kind} {self.object_id(props)} ({props.get('source', 'unknown source')})"
            raise StepFailed(where, step.description, exc, rolled_back=step.transactional) from None

    def fingerprints(self, props: dict, live: dict) -> dict:
        return {key: fingerprint for key, (fingerprint, _) in live.items()}

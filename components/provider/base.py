"""The dynamic provider's shared machinery: diff, converging changes, drift reading.

The provider is pickled into every resource's state, so it holds nothing: no connection, no
password. It reads the connection and safety settings from the stack config in `configure()`,
which the engine calls in the provider process.

Outputs are the declared inputs plus `applied`: the catalog's own rendering of each element
right after it was applied. `read` compares the live catalog with `applied`; an element that
differs is reported in its live form, so `pulumi refresh` shows exactly what drifted and the
next `pulumi up` puts the declared form back.

Every change converges from whatever the database holds: it reads the live object, takes what
was last applied from the journal (written in the same transaction as each change; see
journal.py) or else from the state, and plans from that to the declared definition. So a step
that already ran (a connection lost at COMMIT, an overlapping deployment) is not run again,
drift is repaired, a create of an object the tool already made records it, and a delete of an
object that is gone succeeds.

Ownership: a resource whose inputs name an `owner` is created and changed as that role (SET
ROLE), so the objects belong to a role no application logs in as, and only that role's default
privileges apply to them. The connecting user must be a member of it (the program grants that).
An object that belongs to someone else is first handed over (ALTER ... OWNER TO) as the
connecting user.
"""

import threading
from collections.abc import Callable
from typing import cast

import psycopg
from psycopg import sql
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult
from pulumi.runtime.rpc import contains_unknowns

from ..model.plan import DATA_LOSS, Step
from ..settings import NAMESPACE, ProviderSettings, provider_settings
from . import catalog, journal
from .database import Database
from .errors import AlreadyExists, DataLossRefused, NotConfigured, StepFailed

PROVIDER_KEY = "__provider"
APPLIED = "applied"
# Where the object came from and the review findings its file accepts: no SQL depends on them.
NOT_COMPARED = {PROVIDER_KEY, APPLIED, "source", "accepted"}

_databases: dict[tuple, Database] = {}
_databases_lock = threading.Lock()


def database_for(settings: ProviderSettings) -> Database:
    """One Database (one connection) per stack database in the provider process, shared by
    every resource kind."""
    key = (settings.connection, settings.password.get_secret_value(), settings.safety)
    with _databases_lock:
        if key not in _databases:
            _databases[key] = Database(settings)
        return _databases[key]


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
    introspect: Callable  # a catalog.Kind
    # Session settings the object's catalog rendering depends on.
    session_settings: dict[str, str] = {}

    # --- configuration (runs in the provider process) -----------------------------------------

    def configure(self, req) -> None:
        def get(key: str):
            return req.config.get(f"{NAMESPACE}:{key}")

        # Kept on the configured instance in the provider process only; this instance is never
        # pickled again (pickling happens in the program process, before configure).
        self._settings: ProviderSettings = provider_settings(get)
        self._safety = self._settings.safety

    @property
    def _db(self) -> Database:
        if not hasattr(self, "_settings"):
            raise NotConfigured("the provider was not configured: the engine calls configure() first")
        return database_for(self._settings)

    # --- hooks for subclasses ------------------------------------------------------------------

    def object_id(self, props: dict) -> str:
        return f"{props['schema']}.{props['name']}"

    def journal_key(self, props: dict) -> str:
        return f"{self.kind} {self.object_id(props)}"

    def search_path(self, props: dict) -> list[str]:
        # `extensions` is where Supabase installs extensions (vector, pgcrypto); a schema in the
        # path that does not exist is skipped.
        return [props["schema"], "public", "extensions"]

    def comparable(self, props: dict) -> dict:
        """The definition as diff compares it (a kind may ignore what no ALTER can change)."""
        return definition(props)

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

    def plan_towards(self, recorded: dict | None, live: dict | None, new: dict) -> list[Step]:
        """The steps from what the database holds to `new`: `live` is the catalog's view of the
        object (None: it does not exist), `recorded` what this tool last applied to it (None:
        this tool never changed it)."""
        if live is None:
            return self.plan_create(new)
        if recorded is None:
            raise AlreadyExists(self.kind, self.object_id(new), new.get("source", "unknown source"))
        old = self.reconcile(recorded, live)
        steps = self.plan_update(old, new)
        if new.get("owner") and old.get("owner") != new["owner"]:
            handover = self.change_owner(new)
            steps = ([handover] if handover else []) + steps
        return steps

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

    def fingerprints(self, props: dict, live: dict) -> dict:
        return {key: fingerprint for key, (fingerprint, _) in live.items()}

    # --- engine operations ---------------------------------------------------------------------

    def diff(self, id_: str, olds: dict, news: dict) -> DiffResult:
        old_def, new_def = self.comparable(olds), self.comparable(news)
        if contains_unknowns(new_def):
            return DiffResult(changes=True)
        changed = sorted(k for k in set(old_def) | set(new_def) if old_def.get(k) != new_def.get(k))
        if not changed:
            return DiffResult(changes=False)
        replaces = [k for k in changed if k in self.replace_on]
        if not replaces:
            # Refused at preview, not only at `up`: a data-losing step names its file:line now.
            new = located(definition(news), news)
            self._refuse_data_loss(new, self.plan_update(definition(olds), new))
        return DiffResult(changes=True, replaces=replaces or None,
                          delete_before_replace=self.delete_before_replace if replaces else None)

    def create(self, props: dict) -> CreateResult:
        new = located(definition(props), props)
        applied = self._converge(new, recorded=None)
        return CreateResult(self.object_id(new), {**definition(props), APPLIED: applied})

    def update(self, id_: str, olds: dict, news: dict) -> UpdateResult:
        new = located(definition(news), news)
        applied = self._converge(new, recorded={**definition(olds), APPLIED: olds.get(APPLIED, {})})
        return UpdateResult({**definition(news), APPLIED: applied})

    def delete(self, id_: str, props: dict) -> None:
        old = located(definition(props), props)
        with self._db.session() as conn:
            self._db.with_lock_retries(conn, f"delete {self.kind} {self.object_id(old)}",
                                       lambda: self._delete_attempt(conn, old))

    def read(self, id_: str, props: dict) -> ReadResult:
        live = self._read_live(props)
        if live is None:
            return ReadResult("", {})
        outs = self.reconcile(props, live)
        outs.pop(PROVIDER_KEY, None)
        return ReadResult(id_, outs)

    def _read_live(self, props: dict) -> dict | None:
        """The live object, from a snapshot of its kind in its schema (snapshot.py): a refresh
        costs one catalog query per kind and schema, not one per resource."""
        kind = cast(catalog.Kind, type(self).introspect)
        with self._db.session(changes=False) as conn:
            def take() -> catalog.Rows:
                with conn.transaction(), conn.cursor() as cur:
                    self._set_local(cur, props)
                    return kind.snapshot(cur, props["schema"])
            key = (self.kind, tuple(self.search_path(props)), tuple(self.session_settings.items()))
            rows = self._db.snapshot(key, self.journal_key(props), take)
        return kind.from_rows(rows, props)

    # --- converging ----------------------------------------------------------------------------

    def _converge(self, new: dict, recorded: dict | None) -> dict:
        """Bring the object to `new` from whatever the database holds; the applied fingerprints."""
        with self._db.session() as conn:
            return self._db.with_lock_retries(conn, f"{self.kind} {self.object_id(new)}",
                                              lambda: self._attempt(conn, new, recorded))

    def _set_local(self, cur, props: dict) -> None:
        cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(
            sql.SQL(", ").join(map(sql.Identifier, self.search_path(props)))))
        for name, value in self.session_settings.items():
            cur.execute("SELECT set_config(%s, %s, true)", (name, value))

    def _attempt(self, conn: psycopg.Connection, new: dict, recorded: dict | None) -> dict:
        key = self.journal_key(new)
        with self._db.transaction(conn, self.search_path(new)) as cur:
            self._set_local(cur, new)
            live = type(self).introspect(cur, new)
            steps = self.plan_towards(journal.read(cur, key) or recorded, live, new)
            self._refuse_data_loss(new, steps)
            in_tx = [s for s in steps if s.transactional]
            alone = [s for s in steps if not s.transactional]
            self._run(cur, new, in_tx, local=True)
            if not alone:
                applied = self.fingerprints(new, type(self).introspect(cur, new) or {})
                if steps:  # read back and recorded before COMMIT: both land, or neither
                    journal.write(cur, key, new, applied)
                return applied
            # What runs alone runs after this commits: the journal says the object is this
            # tool's, with nothing known applied, so an interrupted build is redone next time.
            journal.write(cur, key, new, {})
        with self._db.deployment_lock(conn), conn.cursor() as cur:
            self._db.configure_session(cur, self.search_path(new))
            try:
                self._run(cur, new, alone, local=False)
            except StepFailed:
                cur.execute("RESET ROLE")
                self.after_failed_step(cur, new)
                raise
            cur.execute("RESET ROLE")
            applied = self.fingerprints(new, type(self).introspect(cur, new) or {})
        with conn.transaction(), conn.cursor() as cur:
            journal.write(cur, key, new, applied)
        return applied

    def _delete_attempt(self, conn: psycopg.Connection, old: dict) -> None:
        key = self.journal_key(old)
        with self._db.transaction(conn, self.search_path(old)) as cur:
            self._set_local(cur, old)
            if type(self).introspect(cur, old) is None:
                journal.forget(cur, key)  # already gone: nothing to do
                return
            steps = self.plan_delete(old)
            self._refuse_data_loss(old, steps)
            self._run(cur, old, [s for s in steps if s.transactional], local=True)
            journal.forget(cur, key)
            alone = [s for s in steps if not s.transactional]
        if alone:
            with self._db.deployment_lock(conn), conn.cursor() as cur:
                self._db.configure_session(cur, self.search_path(old))
                self._run(cur, old, alone, local=False)
                cur.execute("RESET ROLE")

    def _run(self, cur, props: dict, steps: list[Step], local: bool) -> None:
        """Run `steps`; those the owner does run after SET ROLE owner, the handover before."""
        acting_as_owner = False
        for step in steps:
            as_owner = bool(props.get("owner")) and step.as_owner
            if as_owner != acting_as_owner:
                role = sql.SQL("ROLE {}").format(sql.Identifier(props["owner"])) if as_owner else sql.SQL("ROLE NONE")
                cur.execute(sql.SQL("SET LOCAL {}" if local else "SET {}").format(role))
                acting_as_owner = as_owner
            self._execute(cur, props, step)
        if acting_as_owner and local:
            cur.execute("RESET ROLE")  # the journal is written as the deploying user

    def _refuse_data_loss(self, props: dict, steps: list[Step]) -> None:
        losing = [s for s in steps if DATA_LOSS in s.hazards]
        if losing and not self._safety.allow_data_loss:
            raise DataLossRefused(
                f"{self.kind} {self.object_id(props)} ({props.get('source', 'unknown source')}): refusing to "
                + "; ".join(s.description for s in losing)
                + f". Nothing was changed. This step loses data; to allow it, set "
                f"`{NAMESPACE}:safety` allow_data_loss: true for this stack (or keep the object declared)."
            )

    def _execute(self, cur, props: dict, step: Step) -> None:
        try:
            cur.execute(step.statement)
        except psycopg.Error as exc:
            # A lock wait is retried (Database.with_lock_retries); a lost connection is left to
            # the next `up`, which converges from whatever committed.
            if isinstance(exc, psycopg.errors.LockNotAvailable) or cur.connection.broken:
                raise
            where = f"{self.kind} {self.object_id(props)} ({props.get('source', 'unknown source')})"
            raise StepFailed(where, step.description, exc, rolled_back=step.transactional) from None

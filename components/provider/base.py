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

Adoption (`adopt` input, from modules[i].adopt): planning an object that exists already,
unknown to the journal and the state, compares it with the declaration (adoption.py: at
preview in check, and again at `up`); when they are equal nothing runs. Its outputs keep the
owner it has live; while the module adopts, that owner is not a change (diff), and the object
is handed over with its next change, or on the `up` after `adopt` is removed from the module.
"""

import threading
from collections.abc import Callable
from typing import cast

import psycopg
from psycopg import sql
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult
from pulumi.output import UNKNOWN
from pulumi.runtime.rpc import contains_unknowns

from ..model.hazards import AUTHORIZATION, UNTRACKABLE
from ..model.plan import Step, Timeout
from ..settings import NAMESPACE, ProviderSettings, provider_settings
from . import adoption, catalog, journal
from .database import Database, search_path_value, set_config
from .errors import AlreadyExists, HazardRefused, NotConfigured, StepFailed

PROVIDER_KEY = "__provider"
APPLIED = "applied"
PLAN = "plan"  # computed by check: what `up` will run, shown by `pulumi preview --diff`
APPROVED = "approved"  # hazards approved in the SQL file: {hazard: reason}
# Not part of the object's definition, so no SQL depends on them: where it came from, what was
# applied, what the preview plans, the hazards approved, the review findings accepted and
# whether its module adopts existing objects.
NOT_COMPARED = {PROVIDER_KEY, APPLIED, "source", "accepted", PLAN, APPROVED, "adopt"}
# Hazards that are about the rows of a table: none apply to a table without any.
ROW_HAZARDS_EXEMPT = {AUTHORIZATION.name, UNTRACKABLE.name}
# Reads of a kind (or of the journal) a preview makes alone before it plans from snapshots of
# them (snapshot.py).
BURST = 3

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
    """The part of inputs/outputs that describes the object (what diff compares). Keys starting
    with "_" are what a plan was told about the database, never part of the object."""
    return {k: v for k, v in props.items() if k not in NOT_COMPARED and not k.startswith("_")}


def located(new: dict, inputs: dict) -> dict:
    """A definition with the inputs' `source` (file:line) back, for the errors that name it, and
    `adopt` when its module adopts existing objects."""
    adopt = {"adopt": inputs["adopt"]} if inputs.get("adopt") else {}
    return {**new, "source": inputs.get("source", "unknown source"), **adopt}


def held_since_adoption(olds: dict, news: dict) -> bool:
    """Whether the state records an adopted object still owned by the role that owned it live,
    while its module adopts: that owner is kept until the object changes (see above)."""
    kept = olds.get(APPLIED, {}).get("owner")
    return bool(news.get("adopt")) and kept is not None and olds.get("owner") == kept != news.get("owner")


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

    def table_of(self, props: dict) -> tuple[str, str] | None:
        """The table whose rows a change of this object touches (None: no table)."""
        return None

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

    def existing(self, props: dict, live: dict | None) -> dict | None:
        """What of the object exists, from its live reading (None: nothing)."""
        return live

    def unrecorded(self, new: dict) -> list[Step]:
        """The steps for an object that exists and that this tool never changed: none when its
        module adopts it (_plan_live has compared it with `new` first, adoption.verify), else
        AlreadyExists, which says how to adopt."""
        if new.get("adopt"):
            return []
        raise AlreadyExists(self.kind, self.object_id(new), new.get("source", "unknown source"))

    def before_steps(self, cur, props: dict, steps: list[Step]) -> None:
        """Check, in the transaction and as the deploying user, what must hold before `steps`
        run (nothing, by default; sample data and data migrations refuse undeclared triggers)."""

    def plan_towards(self, recorded: dict | None, live: dict | None, new: dict) -> list[Step]:
        """The steps from what the database holds to `new`: `live` is the catalog's view of the
        object (None: it does not exist), `recorded` what this tool last applied to it (None:
        this tool never changed it)."""
        if live is None:
            return self.plan_create(new)
        if recorded is None:
            return self.unrecorded(new)
        old = self.reconcile(recorded, live)
        # Only a new owner (an adopted object handed over): the handover alone, not a CREATE OR
        # REPLACE of a function or view that is as declared.
        same_but_owner = ({**self.comparable(old), "owner": None} == {**self.comparable(new), "owner": None})
        steps = [] if same_but_owner else self.plan_update(old, new)
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
        if held_since_adoption(olds, news):
            old_def["owner"] = new_def.get("owner")
        if contains_unknowns(new_def):
            return DiffResult(changes=True)
        changed = sorted(k for k in set(old_def) | set(new_def) if old_def.get(k) != new_def.get(k))
        if olds.get(APPROVED) != news.get(APPROVED):
            changed.append(APPROVED)  # runs nothing, but the state must carry it for a later delete
        if not changed:
            return DiffResult(changes=False)
        replaces = [k for k in changed if k in self.replace_on]
        if news.get("table_renamed_from") is not None and news["table_renamed_from"] == olds.get("table"):
            # The table was renamed (`renamed from`): what belongs to it moved with it.
            replaces = [k for k in replaces if k != "table"]
        # A step the stack does not accept was refused by check, which plans from the live
        # object as `up` will: the preview fails there, naming the file and line.
        return DiffResult(changes=True, replaces=replaces or None,
                          delete_before_replace=self.delete_before_replace if replaces else None)

    def check(self, olds: dict, news: dict) -> CheckResult:
        """The declared inputs, plus `plan`: the statements `up` will run, each with its hazards,
        planned from the live database as `up` will plan them. A step with a hazard the stack
        does not accept is refused here, so `pulumi preview` fails naming it."""
        new = located(definition(news), news)
        if contains_unknowns(new):  # depends on objects this deployment creates first
            return CheckResult({**news, PLAN: UNKNOWN}, [])
        recorded = {**definition(olds), APPLIED: olds[APPLIED]} if APPLIED in olds else None
        # Rolled back: planning may try a statement (a view's replacement), but changes nothing.
        with self._db.session(changes=False) as conn, conn.transaction(force_rollback=True), \
                conn.cursor() as cur:
            self._set_local(cur, new, **self._safety.timeouts())
            reads = self._planning_reads(cur, new)
            if recorded is None and olds:
                recorded = self._adopted_state(olds, new, reads[0])
            steps = self._plan_live(cur, new, recorded, reads)
        self._refuse(new, steps, news.get(APPROVED))
        return CheckResult({**news, PLAN: [describe(step) for step in steps]}, [])

    def _adopted_state(self, olds: dict, new: dict, live: dict | None) -> dict | None:
        """What check plans from for an object in the state that the journal does not know (one
        adopted and unchanged since): check's `olds` are the old inputs, without the applied
        fingerprints, so what was applied is taken to be what is live now, with the owner it
        has. (Drift since then shows at `up`, which plans from the state's outputs.)"""
        live = self.existing(new, live)
        if live is None:
            return None
        recorded = {**definition(olds), APPLIED: self.fingerprints(new, live)}
        if "owner" in live:
            recorded["owner"] = live["owner"][1]
        return recorded

    def create(self, props: dict) -> CreateResult:
        new = located(definition(props), props)
        applied = self._converge(new, recorded=None, approved=props.get(APPROVED))
        return CreateResult(self.object_id(new), self._outputs(props, applied))

    def update(self, id_: str, olds: dict, news: dict) -> UpdateResult:
        new = located(definition(news), news)
        applied = self._converge(new, recorded={**definition(olds), APPLIED: olds.get(APPLIED, {})},
                                 approved=news.get(APPROVED))
        return UpdateResult(self._outputs(news, applied))

    def delete(self, id_: str, props: dict) -> None:
        # Approvals travel in the state: annotating the statement and running `up` first lets
        # the next `up`, where the statement is gone, drop the object.
        old = located(definition(props), props)
        with self._db.session() as conn:
            self._db.with_lock_retries(conn, f"delete {self.kind} {self.object_id(old)}",
                                       lambda: self._delete_attempt(conn, old, props.get(APPROVED)))

    @staticmethod
    def _outputs(props: dict, applied: dict) -> dict:
        """The state: the definition, what was applied, and for a later delete (whose statement
        is gone from the files) where it was declared and what was approved for it."""
        outputs = {**definition(props), APPLIED: applied}
        if "owner" in applied:  # the owner it has: an adopted object keeps its own until it changes
            outputs["owner"] = applied["owner"]
        for key in ("source", APPROVED):
            if props.get(key):
                outputs[key] = props[key]
        return outputs

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
            rows = cast(catalog.Rows, self._db.snapshot(self._snapshot_key(props), self.journal_key(props), take))
        return kind.from_rows(rows, props)

    def _snapshot_key(self, props: dict) -> tuple:
        """The snapshot an object's kind is read into: its schema (the head of the search path)
        and the session settings its catalog rendering depends on."""
        return self.kind, tuple(self.search_path(props)), tuple(self.session_settings.items())

    def _planning_reads(self, cur, new: dict) -> tuple[dict | None, dict | None]:
        """The live object and what the journal says was last applied to it, for a plan that
        runs nothing (check, preview_steps), in `cur`'s transaction with the object's session
        set: from snapshots of its kind in its schema and of the journal once a burst of such
        reads is under way (snapshot.py), else read alone. A change never plans from these: it
        reads alone, under the deployment lock."""
        kind = cast(catalog.Kind, type(self).introspect)
        resource = self.journal_key(new)
        rows = self._db.snapshot(self._snapshot_key(new), resource, lambda: kind.snapshot(cur, new["schema"]), BURST)
        live = kind(cur, new) if rows is None else kind.from_rows(rows, new)
        entries = self._db.snapshot(("journal",), resource, lambda: journal.entries(cur), BURST)
        return live, journal.read(cur, resource) if entries is None else entries.get(resource)

    def preview_steps(self, props: dict, declared: bool = True) -> list[Step]:
        """What `pulumi refresh` then `pulumi up` would run for this resource now, without the
        engine: the live object read back as `read` does, compared as `diff` does (no change:
        nothing; a replacement: its delete and create), else planned from the live database as
        `check` and `update` plan it; for a resource the program no longer `declared`, its
        delete. Runs nothing: it reads, and may try a statement, in a transaction that is
        rolled back. Raises what `up` raises for a change no plan can make (PlanRefused,
        AlreadyExists); `_refuse` tells which steps the stack would refuse."""
        new = located(definition(props), props)
        with self._db.session(changes=False) as conn, conn.transaction(force_rollback=True), \
                conn.cursor() as cur:
            self._set_local(cur, new, **self._safety.timeouts())
            live, recorded = reads = self._planning_reads(cur, new)
            if not declared:
                return [] if live is None else self.plan_delete(new)
            if live is not None and recorded is not None:
                old = self.reconcile(recorded, live)  # what refresh would leave in the state
                change = self.diff("", old, props)
                if not change.changes:
                    return []
                if change.replaces:
                    return self.plan_delete(old) + self.plan_create(new)
            return self._plan_live(cur, new, None, reads)

    # --- converging ----------------------------------------------------------------------------

    def _converge(self, new: dict, recorded: dict | None, approved: dict | None) -> dict:
        """Bring the object to `new` from whatever the database holds; the applied fingerprints."""
        with self._db.session() as conn:
            return self._db.with_lock_retries(conn, f"{self.kind} {self.object_id(new)}",
                                              lambda: self._attempt(conn, new, recorded, approved))

    def _set_local(self, cur, props: dict, **more: str) -> None:
        """The object's search path and session settings (and `more`) for this transaction."""
        set_config(cur, {"search_path": search_path_value(cur, self.search_path(props)), **self.session_settings,
                         **more})

    def _plan_live(self, cur, new: dict, recorded: dict | None,
                   reads: tuple[dict | None, dict | None] | None = None) -> list[Step]:
        """The steps from the live object (and what the journal, else the state, says was last
        applied to it) to `new`, with the hazards they really carry on this database. `reads`:
        the live object and its journal entry as read already (else read here, alone)."""
        live, journaled = reads or (type(self).introspect(cur, new), journal.read(cur, self.journal_key(new)))
        recorded = journaled or recorded
        if recorded is None and live is not None and new.get("adopt"):
            adoption.verify(self, cur, new, live)  # refuses, listing the differences
        steps = self.plan_towards(recorded, live, new)
        return self._without_row_hazards_if_empty(cur, new, steps)

    def _without_row_hazards_if_empty(self, cur, props: dict, steps: list[Step]) -> list[Step]:
        table = self.table_of(props)
        row_hazards = any(h.name not in ROW_HAZARDS_EXEMPT for step in steps for h in step.hazards)
        if row_hazards and table is not None and _empty(cur, *table):
            for step in steps:  # a table with no rows loses, waits for and rewrites nothing
                step.hazards = [h for h in step.hazards if h.name in ROW_HAZARDS_EXEMPT]
        return steps

    def _attempt(self, conn: psycopg.Connection, new: dict, recorded: dict | None, approved: dict | None) -> dict:
        """One try: plan from the live object and run the plan. Steps run in the plan's
        transaction up to the first one that must run on its own; each of those runs after what
        came before it committed, and the object is read back and journaled at the end."""
        key = self.journal_key(new)
        with self._db.transaction(conn, self.search_path(new)) as cur:
            self._set_local(cur, new)
            before = journal.read(cur, key)
            steps = self._plan_live(cur, new, recorded)
            self._refuse(new, steps, approved)
            lead = _leading_transactional(steps)
            self.before_steps(cur, new, steps[:lead])
            self._run(cur, new, steps[:lead], local=True)
            if lead == len(steps):
                applied = self.fingerprints(new, type(self).introspect(cur, new) or {})
                if steps:  # read back and recorded before COMMIT: both land, or neither
                    journal.write(cur, key, new, applied)
                return applied
            # The rest runs after this commits. Until it is done the journal keeps what was
            # applied before (or, for a new object, says it is this tool's with nothing known
            # applied), so an interrupted change is planned again from the live object.
            if before is None:
                base = recorded or {**new, APPLIED: {}}
                journal.write(cur, key, base, base.get(APPLIED, {}))
        for group in _groups(steps[lead:]):
            if group[0].transactional:
                with self._db.transaction(conn, self.search_path(new)) as cur:
                    self._set_local(cur, new)
                    self._run(cur, new, group, local=True)
            else:
                self._run_alone(conn, new, group[0])
        with self._db.transaction(conn, self.search_path(new)) as cur:
            self._set_local(cur, new)
            applied = self.fingerprints(new, type(self).introspect(cur, new) or {})
            journal.write(cur, key, new, applied)
        return applied

    def _run_alone(self, conn: psycopg.Connection, props: dict, step: Step) -> None:
        """A step outside any transaction block (CONCURRENTLY), holding the deployment lock."""
        with self._db.deployment_lock(conn), conn.cursor() as cur:
            self._db.configure_session(cur, self.search_path(props), self._timeout(step))
            try:
                self._run(cur, props, [step], local=False)
            except StepFailed:
                cur.execute("RESET ROLE")
                self.after_failed_step(cur, props)
                raise
            finally:
                if not conn.broken:
                    cur.execute("RESET ROLE")

    def _delete_attempt(self, conn: psycopg.Connection, old: dict, approved: dict | None) -> None:
        key = self.journal_key(old)
        with self._db.transaction(conn, self.search_path(old)) as cur:
            self._set_local(cur, old)
            if type(self).introspect(cur, old) is None:
                journal.forget(cur, key)  # already gone: nothing to do
                return
            steps = self.plan_delete(old)
            self._refuse(old, steps, approved)
            lead = _leading_transactional(steps)
            self._run(cur, old, steps[:lead], local=True)
            if lead == len(steps):
                journal.forget(cur, key)
                return
        for group in _groups(steps[lead:]):
            if group[0].transactional:
                with self._db.transaction(conn, self.search_path(old)) as cur:
                    self._run(cur, old, group, local=True)
            else:
                self._run_alone(conn, old, group[0])
        with conn.transaction(), conn.cursor() as cur:
            journal.forget(cur, key)

    def _timeout(self, step: Step) -> int:
        safety = self._safety
        return safety.build_timeout if step.timeout is Timeout.BUILD else safety.statement_timeout

    def _run(self, cur, props: dict, steps: list[Step], local: bool) -> None:
        """Run `steps`; those the owner does run after SET ROLE owner, the handover before."""
        acting_as_owner = False
        for step in steps:
            as_owner = bool(props.get("owner")) and step.as_owner
            if as_owner != acting_as_owner:
                role = sql.SQL("ROLE {}").format(sql.Identifier(props["owner"])) if as_owner else sql.SQL("ROLE NONE")
                cur.execute(sql.SQL("SET LOCAL {}" if local else "SET {}").format(role))
                acting_as_owner = as_owner
            if local and step.timeout is Timeout.BUILD:
                cur.execute("SELECT set_config('statement_timeout', %s, true)", (f"{self._timeout(step)}ms",))
            self._execute(cur, props, step)
        if acting_as_owner and local:
            cur.execute("RESET ROLE")  # the journal is written as the deploying user

    def _refuse(self, props: dict, steps: list[Step], approved: dict | None) -> None:
        """Refuse the whole plan if a step has a hazard neither the stack nor the SQL file
        approves; nothing runs."""
        approved = approved or {}
        refused = [(step, hazard) for step in steps for hazard in step.hazards
                   if not self._safety.accepts(hazard.name) and hazard.name not in approved]
        if refused:
            raise HazardRefused(f"{self.kind} {self.object_id(props)}", props.get("source", "unknown source"), refused)

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


def describe(step: Step) -> str:
    """A step as `pulumi preview --diff` shows it: what it does, the SQL, and its hazards."""
    text = f"{step.description}: {step.statement.as_string(None)}"
    if not step.transactional:
        text += "  [runs on its own, outside the transaction]"
    for hazard in step.hazards:
        text += f"  [hazard {hazard.describe()}]"
    return text


def _leading_transactional(steps: list[Step]) -> int:
    return next((i for i, step in enumerate(steps) if not step.transactional), len(steps))


def _groups(steps: list[Step]) -> list[list[Step]]:
    """Consecutive transactional steps together; each other step alone."""
    groups: list[list[Step]] = []
    for step in steps:
        if step.transactional and groups and groups[-1][0].transactional:
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups


# The size of a table's data files, over its partitions when it has any (pg_partition_tree lists
# nothing for a plain table); a table that does not exist has none.
EMPTY = """
WITH t AS (SELECT to_regclass(format('%%I.%%I', %s::text, %s::text)) AS oid)
SELECT coalesce((SELECT sum(pg_relation_size(relid)) FROM pg_partition_tree(t.oid)), pg_relation_size(t.oid), 0) = 0
FROM t
"""


def _empty(cur, schema: str, table: str) -> bool:
    """Whether a table (with its partitions) has no data page at all: not one row, live or dead.
    A table that does not exist yet is created empty."""
    row = cur.execute(EMPTY, (schema, table)).fetchone()
    return bool(row and row[0])

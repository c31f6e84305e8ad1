"""Test code, not a product feature: a stand-in for the Pulumi engine (see DESIGN.md).

The Pulumi CLI cannot be installed here, so this runs the real program under
`pulumi.runtime.set_mocks` and then does what the engine does with what the program declared:

- dynamic resources (tables, indexes, policies, ...) go to the real dynamic provider, running
  in its own process (ProviderProcess) with the pickled provider from the resource's inputs:
  Check, then Diff against the saved state, then Create/Update/Delete;
- pulumi_postgresql and pulumi_random resources go to a small double that issues the
  equivalent SQL (postgresql_double.py; the real providers are plugins that cannot be
  downloaded here). Only the kinds this project declares are supported.

It is as strict as the engine wherever leniency could hide a bug:
- steps run in a random (seeded) order that respects the declared dependencies, several at once
  (`parallel`), as the engine runs independent resources in parallel;
- a replacement creates the new object before deleting the old one unless the provider's Diff
  says deleteBeforeReplace; the old objects of create-before-delete replacements and the
  resources no longer declared are deleted at the end, dependants first;
- state is saved after each completed operation; after a failure no new step starts, the
  running ones finish, and the error is raised with the state as far as it got;
- `protect` is honoured: deleting a protected resource fails the run before anything changes
  (the preview `pulumi up` runs first fails the same way);
- a pulumi_postgresql Grant whose `objects` change is replaced, deleted first, as the real
  provider does.
"""

import copy
import json
import random
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks, rpc

from components.review.record import run_under_mocks
from components.stack.program import build

from .postgresql_double import GRANT, RANDOM_PASSWORD, PostgresqlDouble
from .provider_process import ProviderError, ProviderProcess

PROJECT_DIR = Path(__file__).resolve().parents[2]
DYNAMIC_PREFIX = "pulumi-python:dynamic/pgstack:"
# pulumi_postgresql properties the real provider cannot change in place (ForceNew in the
# Terraform schema): a change replaces the resource, deleting it first.
FORCE_NEW = {GRANT: ("database", "role", "schema", "objectType", "objects", "columns")}

DEV_STACK_TODAY = date(2026, 3, 15)  # the tests' program date: monthly partitions 2026-01 to 2026-06


def stack_file_config(stack: str) -> dict[str, str]:
    """A stack's Pulumi.<stack>.yaml config, as the engine hands it to the program: structured
    values as JSON strings."""
    raw = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}


def connection_config(database: dict) -> dict[str, str]:
    return {
        "pgstack:db_host": database["host"],
        "pgstack:db_port": str(database["port"]),
        "pgstack:db_name": database["dbname"],
        "pgstack:db_user": database["user"],
        "pgstack:db_password": database["password"],
        "pgstack:db_sslmode": "disable",
    }


def validation_config(database: dict, stack_config: dict[str, str]) -> dict[str, str]:
    """Preview-time validation on the tests' own server (mode `server`) rather than an embedded
    server started per run: each run's scratch database is created and dropped beside the test
    databases. The stack file's other validation settings (skip_extensions) stay. Used unless
    the test's config sets `pgstack:validation` itself."""
    validation = json.loads(stack_config.get("pgstack:validation", "{}"))
    validation.update(mode="server", host=database["host"], port=database["port"], user=database["user"],
                      sslmode="disable", password={"secret": "validation_password"})
    return {"pgstack:validation": json.dumps(validation), "pgstack:validation_password": database["password"]}


def stack_config(database: dict, **overrides) -> dict[str, str]:
    """The provider's view of the stack config (what `configure()` receives) for `database`,
    with `overrides` given by key without the namespace."""
    return {**connection_config(database), **{f"pgstack:{k}": v for k, v in overrides.items()}}


@dataclass
class Entry:
    """One resource in the state, as the engine checkpoints it."""

    urn: str
    type: str
    name: str
    id: str
    inputs: dict
    outputs: dict
    dependencies: set[str] = field(default_factory=set)
    protect: bool = False


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    inputs: dict
    dependencies: set[str]
    protect: bool
    aliases: list[str] = field(default_factory=list)  # URNs the resource had before


@dataclass
class RunResult:
    operations: dict[str, list[str]] = field(default_factory=lambda: {
        "create": [], "update": [], "replace": [], "delete": [], "same": []})
    # What Check returned for each changed dynamic resource: what `pulumi preview --diff` shows
    # as the new inputs (old outputs vs checked inputs, pulumi/pulumi#17918).
    checked: dict[str, dict] = field(default_factory=dict)

    def changed(self) -> dict[str, list[str]]:
        return {k: sorted(v) for k, v in self.operations.items() if v and k != "same"}


class _Monitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping what the engine learns from each registration: its
    dependencies (explicit, parent and through inputs) and its options."""

    def __init__(self, mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.lock = threading.Lock()

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack" and request.custom:
            inputs = rpc.deserialize_properties(request.object)
            dependencies = set(request.dependencies)
            for deps in request.propertyDependencies.values():
                dependencies |= set(deps.urns)
            aliases = [a.urn or self.make_urn(a.spec.parentUrn or request.parent, a.spec.type or request.type,
                                              a.spec.name or request.name)
                       for a in request.aliases]
            with self.lock:
                self.registrations.append(Registration(
                    response.urn, request.type, request.name,
                    {k: rpc.unwrap_rpc_secret(v) for k, v in inputs.items()}, dependencies, request.protect, aliases))
        return response


class _Mocks(pulumi.runtime.Mocks):
    """Answers registrations the way the engine answers a preview: a resource already in the
    state gets its outputs, a new one echoes its inputs."""

    def __init__(self, engine: "EngineDouble", preview: bool):
        self.engine = engine
        self.preview = preview
        self.known = engine.by_name  # the state does not change while the program runs

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-provider", args.inputs
        known = self.known.get((args.typ, args.name))
        if known is not None:
            return known.id, {**args.inputs, **known.outputs}
        if args.typ == RANDOM_PASSWORD and not self.preview:
            # A value only its create computes, which the program waits for: made now, the way
            # the engine runs that create before the resources using it are registered.
            outputs = self.engine.postgresql.create(args.typ, args.inputs)
            self.engine.precomputed[(args.typ, args.name)] = outputs
            return f"{args.name}-id", outputs
        return f"{args.name}-new", args.inputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        raise NotImplementedError(f"the program made an invoke the harness does not know: {args.token}")


@dataclass
class _Step:
    """One operation the run will do, with the steps it must wait for."""

    kind: str  # create | update | replace | delete (of a removed resource or a replaced old object)
    urn: str
    run: Callable[[], None]
    after: set[int] = field(default_factory=set)


class EngineDouble:
    """`state`: the state an earlier engine left (its `state`), when `database` is a copy of that
    engine's database made right after its last run: this engine carries on from there, as the
    next `pulumi up` of the same stack would."""

    provider_process = ProviderProcess  # bench/ times the provider with a subclass

    def __init__(self, database: dict, stack: str = "dev", sql_root: Path | None = None, config: dict | None = None,
                 today=None, seed: int = 0, parallel: int = 4, state: dict[str, Entry] | None = None):
        self.database = database
        self.today = today  # the program's current date (monthly partitions); None: the real one
        self.stack = stack
        self.sql_root = sql_root
        stack_config, config = stack_file_config(stack), config or {}
        validation = validation_config(database, stack_config) if "pgstack:validation" not in config else {}
        self.config = {**stack_config, **connection_config(database), **validation, **config}
        self.secret_keys = [k for k in self.config if k == "pgstack:db_password" or k.endswith("_password")]
        self.provider = self.provider_process(self.config)
        self.postgresql = PostgresqlDouble(database)
        self.state: dict[str, Entry] = copy.deepcopy(state or {})  # by URN
        self.random = random.Random(seed)
        self.parallel = parallel
        self.lock = threading.Lock()
        self.precomputed: dict[tuple[str, str], dict] = {}

    @property
    def by_name(self) -> dict[tuple[str, str], Entry]:
        return {(e.type, e.name): e for e in self.state.values()}

    def entry(self, type_: str, name: str) -> Entry:
        """The state entry of the resource of that type and name."""
        return self.by_name[(type_, name)]

    def close(self) -> None:
        self.provider.close()
        self.postgresql.close()

    def __enter__(self) -> "EngineDouble":
        return self

    def __exit__(self, *exc) -> None:
        self.close()  # also when a run failed: no provider process is left behind

    # --- one run of the program --------------------------------------------------------------

    def up(self) -> RunResult:
        return self._run(preview=False)

    def preview(self) -> RunResult:
        return self._run(preview=True)

    def refresh(self) -> list[str]:
        """`pulumi refresh`: read every dynamic resource back from the database into the state.
        Returns the names of those that are gone (dropped from the state, as the engine does);
        drift shows in the next preview. The pulumi_postgresql double has no read."""
        gone = []
        for urn, entry in list(self.state.items()):
            if not entry.type.startswith(DYNAMIC_PREFIX):
                continue
            id_, outputs = self.provider.read(urn, entry.id, entry.outputs)
            with self.lock:
                if not id_:
                    del self.state[urn]
                    gone.append(entry.name)
                else:
                    entry.outputs = outputs
        return gone

    def _declared(self, preview: bool) -> list[Registration]:
        """Run the program under mocks; what it declares, in registration order."""
        mocks = _Mocks(self, preview)
        monitor = _Monitor(mocks)
        run_under_mocks(lambda: build(self.sql_root, today=self.today), mocks, monitor, self.stack, dict(self.config),
                        self.secret_keys, preview=preview)
        return monitor.registrations

    def _run(self, preview: bool) -> RunResult:
        result = RunResult()
        declared = self._declared(preview)
        steps: list[_Step] = []
        creates: dict[str, int] = {}  # urn -> index of the step that brings it to its new state
        old_deletes: dict[str, int] = {}  # urn -> index of the step deleting its old object
        late_deletes: list[tuple[str, Entry]] = []  # deleted at the end, dependants first
        seen = set()

        for reg in declared:
            seen.add(reg.urn)
            if reg.type.startswith("pulumi:providers:"):
                continue
            old = self.state.get(reg.urn)
            if old is None:  # an alias: the engine carries the state over to the new name
                alias = next((a for a in reg.aliases if a in self.state), None)
                if alias is not None and not preview:
                    with self.lock:
                        old = self.state.pop(alias)
                        old.urn, old.name = reg.urn, reg.name
                        self.state[reg.urn] = old
                elif alias is not None:
                    old = self.state[alias]
                    seen.add(alias)
            inputs = self._check(reg, old)
            if old is None:
                result.operations["create"].append(reg.name)
                result.checked[reg.name] = inputs
                creates[reg.urn] = len(steps)
                steps.append(_Step("create", reg.urn, self._creator(reg, inputs)))
                continue
            diff = self._diff(old, reg, inputs)
            if not diff["changes"]:
                result.operations["same"].append(reg.name)
                if not preview:
                    with self.lock:  # dependencies and protect follow the program
                        old.dependencies, old.protect = reg.dependencies, reg.protect
                continue
            result.checked[reg.name] = inputs
            if not diff["replaces"]:
                result.operations["update"].append(reg.name)
                creates[reg.urn] = len(steps)
                steps.append(_Step("update", reg.urn, self._updater(old, reg, inputs)))
                continue
            result.operations["replace"].append(reg.name)
            if old.protect:
                raise ProviderError(f"unable to replace resource {reg.urn!r} as it is currently marked for protection")
            if diff["delete_before_replace"]:
                old_deletes[reg.urn] = len(steps)
                steps.append(_Step("delete", reg.urn, self._deleter(old)))
                creates[reg.urn] = len(steps)
                steps.append(_Step("replace", reg.urn, self._creator(reg, inputs), after={old_deletes[reg.urn]}))
            else:
                creates[reg.urn] = len(steps)
                steps.append(_Step("replace", reg.urn, self._creator(reg, inputs)))
                late_deletes.append((reg.urn, old))

        removed = [(urn, entry) for urn, entry in self.state.items() if urn not in seen]
        for urn, entry in removed:
            result.operations["delete"].append(entry.name)
            if entry.protect:  # the engine refuses this delete; the preview up runs first fails
                raise ProviderError(f"resource {urn!r} cannot be deleted because it is protected. To unprotect "
                                    "the resource, remove the `protect` flag from the resource in your Pulumi "
                                    "program and run `pulumi up`")
        if preview:
            return result

        by_urn = {reg.urn: reg for reg in declared}
        # New states wait for their dependencies' new states; a delete-before-replace waits
        # for the old objects of its dependants to go first.
        for urn, index in creates.items():
            steps[index].after |= {creates[d] for d in by_urn[urn].dependencies if d in creates}
        for urn, index in old_deletes.items():
            steps[index].after |= {old_deletes[d] for d, e in self.state.items() if d in old_deletes and urn in e.dependencies}
        # Deletes at the end: after every other step, dependants before what they depend on.
        last = set(range(len(steps)))
        deletes = {urn: len(steps) + i for i, (urn, _) in enumerate(late_deletes + removed)}
        for urn, entry in late_deletes + removed:
            after = set(last)
            after |= {deletes[d] for d, e in self.state.items() if d in deletes and d != urn and urn in e.dependencies}
            steps.append(_Step("delete", urn, self._deleter(entry, forget=(urn, entry) in removed), after=after))
        self._execute(steps)
        return result

    # --- engine calls ------------------------------------------------------------------------

    def _check(self, reg: Registration, old: Entry | None) -> dict:
        if not reg.type.startswith(DYNAMIC_PREFIX):
            return reg.inputs
        return self.provider.check(reg.urn, old.inputs if old else {}, reg.inputs)

    def _diff(self, old: Entry, reg: Registration, inputs: dict) -> dict:
        if reg.type.startswith(DYNAMIC_PREFIX):
            return self.provider.diff(reg.urn, old.id, old.outputs, inputs)
        changed = [k for k in set(old.inputs) | set(inputs) if old.inputs.get(k) != inputs.get(k)]
        replaces = [k for k in changed if k in FORCE_NEW.get(reg.type, ())]
        return {"changes": bool(changed), "replaces": replaces, "delete_before_replace": bool(replaces)}

    def _creator(self, reg: Registration, inputs: dict) -> Callable[[], None]:
        def create():
            if reg.type.startswith(DYNAMIC_PREFIX):
                id_, outputs = self.provider.create(reg.urn, inputs)
            elif (reg.type, reg.name) in self.precomputed:
                id_, outputs = f"{reg.name}-id", self.precomputed.pop((reg.type, reg.name))
            else:
                id_, outputs = inputs.get("name", reg.name), self.postgresql.create(reg.type, inputs)
            self._save(Entry(reg.urn, reg.type, reg.name, id_, inputs, outputs, reg.dependencies, reg.protect))
        return create

    def _updater(self, old: Entry, reg: Registration, inputs: dict) -> Callable[[], None]:
        def update():
            if reg.type.startswith(DYNAMIC_PREFIX):
                outputs = self.provider.update(reg.urn, old.id, old.outputs, inputs)
            else:
                outputs = self.postgresql.update(reg.type, old.outputs, inputs)
            self._save(Entry(reg.urn, reg.type, reg.name, old.id, inputs, outputs, reg.dependencies, reg.protect))
        return update

    def _deleter(self, entry: Entry, forget: bool = False) -> Callable[[], None]:
        def delete():
            if entry.type.startswith(DYNAMIC_PREFIX):
                self.provider.delete(entry.urn, entry.id, entry.outputs)
            else:
                self.postgresql.delete(entry.type, entry.outputs)
            if forget:
                with self.lock:
                    self.state.pop(entry.urn, None)
        return delete

    def _save(self, entry: Entry) -> None:
        """Checkpoint: the engine writes the state after every completed operation."""
        with self.lock:
            self.state[entry.urn] = entry

    # --- scheduling --------------------------------------------------------------------------

    def _execute(self, steps: list[_Step]) -> None:
        """Run the steps, each once all it waits for are done, picking at random among the ready
        ones, up to `parallel` at a time. The first failure stops new steps from starting."""
        done: set[int] = set()
        running: dict[Future, int] = {}
        error: BaseException | None = None
        # How many steps each one still waits for, and who waits for each: a step is ready when
        # its count reaches 0 (no scan of every step after each completion).
        waiting = [len(s.after) for s in steps]
        waiters: dict[int, list[int]] = {}
        for i, s in enumerate(steps):
            for j in s.after:
                waiters.setdefault(j, []).append(i)
        ready = [i for i, count in enumerate(waiting) if count == 0]
        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            while True:
                while error is None and ready and len(running) < self.parallel:
                    pick = self.random.randrange(len(ready))
                    ready[pick], ready[-1] = ready[-1], ready[pick]
                    i = ready.pop()
                    running[pool.submit(steps[i].run)] = i
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = running.pop(future)
                    if future.exception() is not None and error is None:
                        error = future.exception()
                    done.add(index)
                    for waiter in waiters.get(index, ()):
                        waiting[waiter] -= 1
                        if waiting[waiter] == 0:
                            ready.append(waiter)
        if error is not None:
            raise error
        assert len(done) == len(steps), "a step waits for something that never runs"


__all__ = ["EngineDouble", "ProviderError", "stack_file_config"]

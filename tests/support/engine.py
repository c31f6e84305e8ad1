"""Test code, not a product feature: a stand-in for the Pulumi engine (see DESIGN.md).

The Pulumi CLI cannot be installed here, so this runs the real program under
`pulumi.runtime.set_mocks` and forwards each resource the program declares to where the engine
would send it:

- dynamic resources (tables, indexes, policies, ...) go to the real dynamic provider, running
  in its own process (ProviderProcess) with the pickled provider from the resource's inputs;
- pulumi_postgresql and pulumi_random resources go to a small double that issues the
  equivalent SQL (postgresql_double.py; the real providers are plugins that cannot be
  downloaded here). Only the kinds this project declares are supported; anything else fails
  loudly.

State is kept between runs, so a test can `up`, edit a SQL file, `preview`, `up` again, and
check the database. Like the engine, a run diffs each declared resource against its state,
then creates, updates or replaces it, and finally deletes what is no longer declared, in
reverse creation order.
"""

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import yaml
from pulumi.runtime import rpc, settings as runtime_settings

from components.stack.program import build

from .postgresql_double import PostgresqlDouble
from .provider_process import ProviderError, ProviderProcess

PROJECT_DIR = Path(__file__).resolve().parents[2]
DYNAMIC_PREFIX = "pulumi-python:dynamic/pgstack:"


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


@dataclass
class Entry:
    type: str
    name: str
    id: str
    inputs: dict
    outputs: dict
    order: int


@dataclass
class RunResult:
    operations: dict[str, list[str]] = field(default_factory=lambda: {
        "create": [], "update": [], "replace": [], "delete": [], "same": []})

    def changed(self) -> dict[str, list[str]]:
        return {k: sorted(v) for k, v in self.operations.items() if v and k != "same"}


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, engine: "EngineDouble", preview: bool):
        self.engine = engine
        self.preview = preview

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        with self.engine.lock:
            try:
                if not args.custom:  # component resources have no provider
                    return "", args.inputs
                return self.engine.register(args.typ, args.name, args.inputs, self.preview)
            except Exception as exc:  # surfaced after the run, like an engine error
                self.engine.errors.append(exc)
                raise

    def call(self, args: pulumi.runtime.MockCallArgs):
        raise NotImplementedError(f"the program made an invoke the harness does not know: {args.token}")


class EngineDouble:
    def __init__(self, database: dict, stack: str = "dev", sql_root: Path | None = None, config: dict | None = None,
                 today=None):
        self.database = database
        self.today = today  # the program's current date (monthly partitions); None: the real one
        self.stack = stack
        self.sql_root = sql_root
        self.config = {**stack_file_config(stack), **connection_config(database), **(config or {})}
        self.secret_keys = [k for k in self.config if k == "pgstack:db_password" or k.endswith("_password")]
        self.provider = ProviderProcess(self.config)
        self.postgresql = PostgresqlDouble(database)
        self.state: dict[tuple[str, str], Entry] = {}
        self.lock = threading.Lock()
        self.errors: list[Exception] = []
        self._order = 0

    def close(self) -> None:
        self.provider.close()

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
        for key, entry in list(self.state.items()):
            if not entry.type.startswith(DYNAMIC_PREFIX):
                continue
            id_, outputs = self.provider.read(self._urn(entry.type, entry.name), entry.id, entry.outputs)
            if not id_:
                del self.state[key]
                gone.append(entry.name)
            else:
                entry.outputs = outputs
        return gone

    def _run(self, preview: bool) -> RunResult:
        self.result = RunResult()
        self.declared: dict[tuple[str, str], Entry] = {}
        self.errors = []
        runtime_settings.ROOT.set(None)
        pulumi.runtime.set_mocks(_Mocks(self, preview), project="pgstack", stack=self.stack, preview=preview)
        pulumi.runtime.set_all_config(dict(self.config), secret_keys=self.secret_keys)

        @pulumi.runtime.test
        def program():
            build(self.sql_root, today=self.today)

        try:
            program()
        except Exception:
            if self.errors:
                raise self.errors[0] from None
            raise
        if self.errors:
            raise self.errors[0]
        gone = sorted((e for k, e in self.state.items() if k not in self.declared), key=lambda e: -e.order)
        for entry in gone:
            self.result.operations["delete"].append(entry.name)
            if not preview:
                self._delete(entry)
        if not preview:
            self.state = dict(self.declared)
        return self.result

    # --- per resource --------------------------------------------------------------------------

    def register(self, typ: str, name: str, inputs: dict, preview: bool):
        if typ.startswith("pulumi:providers:"):
            return f"{name}-provider", inputs
        key = (typ, name)
        inputs = {k: rpc.unwrap_rpc_secret(v) for k, v in inputs.items()}
        old = self.state.get(key)
        if old is None:
            op, id_, outputs = "create", "", inputs
            if not preview:
                id_, outputs = self._create(typ, name, inputs)
        else:
            op, id_, outputs = self._change(old, inputs, preview)
        self.result.operations[op].append(name)
        order = old.order if old is not None and op != "replace" else self._next_order()
        self.declared[key] = Entry(typ, name, id_, inputs, outputs, order)
        return id_ or f"{name}-preview", outputs

    def _next_order(self) -> int:
        self._order += 1
        return self._order

    def _change(self, old: Entry, inputs: dict, preview: bool):
        if old.type.startswith(DYNAMIC_PREFIX):
            diff = self.provider.diff(self._urn(old.type, old.name), old.id, old.outputs, inputs)
        else:  # the Terraform providers update these in place
            diff = {"changes": old.inputs != inputs, "replaces": []}
        if not diff["changes"]:
            return "same", old.id, old.outputs
        if preview:
            return ("replace" if diff["replaces"] else "update"), old.id, inputs
        if diff["replaces"]:
            self._delete(old)
            id_, outputs = self._create(old.type, old.name, inputs)
            return "replace", id_, outputs
        if old.type.startswith(DYNAMIC_PREFIX):
            outputs = self.provider.update(self._urn(old.type, old.name), old.id, old.outputs, inputs)
        else:
            outputs = self.postgresql.update(old.type, old.outputs, inputs)
        return "update", old.id, outputs

    def _urn(self, typ: str, name: str) -> str:
        return f"urn:pulumi:{self.stack}::pgstack::{typ}::{name}"

    def _create(self, typ: str, name: str, inputs: dict):
        if typ.startswith(DYNAMIC_PREFIX):
            return self.provider.create(self._urn(typ, name), inputs)
        return inputs.get("name", name), self.postgresql.create(typ, inputs)

    def _delete(self, entry: Entry) -> None:
        if entry.type.startswith(DYNAMIC_PREFIX):
            self.provider.delete(self._urn(entry.type, entry.name), entry.id, entry.outputs)
        else:
            self.postgresql.delete(entry.type, entry.outputs)


__all__ = ["EngineDouble", "ProviderError", "stack_file_config"]

"""Test code: the program run under Pulumi's mock monitor, recording what it declares.

`run_program` runs `components.stack.program.build` for a stack with its Pulumi.<stack>.yaml
config (plus overrides) and returns the monitor, whose `registrations` hold every resource with
its inputs (secrets unwrapped, and which were secret), parent, dependencies and protect flag,
and whose `exports` hold the stack outputs. Nothing touches a database.
"""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings

from components.review.record import run_under_mocks
from components.stack.program import build

from .engine import stack_file_config

GENERATED = "generated-Pa55word"  # every RandomPassword's result under these mocks
CONFIG_SECRET = "s3cret-from-config"  # pgstack:db_password (and, in prod, the analyst's)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping each registration's parent and dependencies."""

    def __init__(self, mocks):
        super().__init__(mocks)
        self.registrations = []
        self.exports = {}  # name -> (value, is_secret)

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            raw = rpc.deserialize_properties(request.object)
            self.registrations.append({
                "type": request.type, "name": request.name, "urn": response.urn, "parent": request.parent,
                "dependencies": set(request.dependencies), "protect": request.protect,
                "inputs": {k: rpc.unwrap_rpc_secret(v) for k, v in raw.items()},
                "secret_inputs": {k for k, v in raw.items() if rpc.is_rpc_secret(v)},
            })
        return response


class EchoMocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        if args.typ == "random:index/randomPassword:RandomPassword":
            return f"{args.name}-id", {**args.inputs, "result": GENERATED}
        return f"{args.name}-id", args.inputs

    def call(self, args):
        return {}


def run_program(stack: str, config: dict | None = None, monitor: RecordingMonitor | None = None,
                today: date | None = None, sql_root: Path | None = None) -> RecordingMonitor:
    """Runs the program for `stack` under mocks; `config` overrides keys of its stack file,
    `sql_root` the project's sql/ folder."""
    monitor = monitor or RecordingMonitor(EchoMocks())
    values = {**stack_file_config(stack), "pgstack:db_password": CONFIG_SECRET,
              "pgstack:validation": '{"mode": "off"}',  # no database here; tests/test_validation.py checks it
              **(config or {})}
    if stack == "prod":
        values.setdefault("pgstack:analyst_password", "analyst-" + CONFIG_SECRET)

    def program():
        build(sql_root, today=today)

        async def record_exports():
            for name, value in runtime_settings.get_root_resource().outputs.items():
                value = pulumi.Output.from_input(value)
                monitor.exports[name] = (await value.future(), await value.is_secret())

        return pulumi.Output.from_input(record_exports())

    run_under_mocks(program, EchoMocks(), monitor, stack, values, [k for k in values if k.endswith("password")])
    return monitor


@dataclass(frozen=True)
class Declared:
    """What one run declared: a RecordingMonitor's registrations and exports, without the monitor."""
    registrations: list[dict]
    exports: dict


def of_type(monitor: RecordingMonitor | Declared, suffix: str) -> list[dict]:
    return [r for r in monitor.registrations if r["type"].endswith(suffix)]

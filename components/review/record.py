"""Run a stack's real program under Pulumi's mock monitor and record what it declares.

No database and no Pulumi backend: the program (components.stack.program.build) reads the
stack's Pulumi.<stack>.yaml, parses the SQL files and declares its resources (without its
validation at preview unless asked); a recording monitor keeps each one's type, name, inputs
and property dependencies. Secret config values the program requires (passwords) are
placeholders, and secret inputs are recorded only as SECRET.

Run as a script (`python record.py <project folder> <stack>`, JSON on stdout) it records the
program of whichever `components` comes first on sys.path: the access diff runs it that way
in a checkout of another git revision, so that revision's own program is what is recorded.
"""

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.proto import source_pb2

from components.settings import read_settings
from components.stack.program import build

NAMESPACE = "pgstack"
PLACEHOLDER = "placeholder-not-a-secret"
SECRET = "[secret]"
OMITTED_INPUTS = {"__provider"}  # the pickled dynamic provider: large, and of no use to a review


@dataclass(frozen=True)
class Declared:
    type: str
    name: str
    urn: str
    parent: str
    inputs: dict
    dependencies: dict[str, list[str]]  # input property -> URNs of the resources it comes from


class _EchoMocks(pulumi.runtime.Mocks):
    """Every resource's outputs are its inputs (a generated password gets a placeholder)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = PLACEHOLDER
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.declared: list[Declared] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            raw = rpc.deserialize_properties(request.object)
            inputs = {k: SECRET if rpc.is_rpc_secret(v) else v for k, v in raw.items() if k not in OMITTED_INPUTS}
            self.declared.append(Declared(
                type=request.type, name=request.name, urn=response.urn, parent=request.parent, inputs=inputs,
                dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items() if v.urns}))
        return response


@contextmanager
def without_stack_traces() -> Iterator[None]:
    """For a program run under mocks: the SDK extracts the whole Python stack of every
    registration, for the source position the engine shows beside a resource, and the mocks
    discard it (a seventh of a recording). A private function of the SDK: if a release renames
    it, recordings only take longer."""
    original = getattr(runtime_resource, "_get_stack_trace", None)
    if not callable(original):
        yield
        return
    runtime_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        runtime_resource._get_stack_trace = original


def run_under_mocks(program: Callable[[], object], mocks: pulumi.runtime.Mocks, monitor: pulumi_mocks.MockMonitor,
                    stack: str, config: dict[str, str], secret_keys: list[str], preview: bool = False) -> None:
    """Run `program` as the Pulumi program of `stack` under mocks, `monitor` taking its
    registrations, with the engine's `config`; without stack traces, from set_mocks on (which
    registers the Stack)."""
    with without_stack_traces():
        runtime_settings.ROOT.set(None)
        pulumi.runtime.set_mocks(mocks, project=NAMESPACE, stack=stack, preview=preview, monitor=monitor)
        pulumi.runtime.set_all_config(config, secret_keys=secret_keys)
        pulumi.runtime.test(program)()


def stack_config(project: Path, stack: str, *, validate: bool) -> dict[str, str]:
    """The stack's config as the engine hands it to the program (structured values as JSON),
    with a placeholder for every secret the program reads; without validation unless `validate`."""
    raw = yaml.safe_load((project / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))["config"]
    values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
    if not validate:
        values[f"{NAMESPACE}:validation"] = json.dumps({"mode": "off"})
    settings = read_settings(lambda key: values.get(f"{NAMESPACE}:{key}"),
                             [k for k in values if k.startswith(f"{NAMESPACE}:")])
    for key in settings.password_keys():
        values.setdefault(f"{NAMESPACE}:{key}", PLACEHOLDER)
    return values


def record(project: Path, stack: str, config: dict[str, str] | None = None, today: date | None = None,
           validate: bool = False) -> list[Declared]:
    """Every resource the program in `project` declares for `stack`: its stack file's config,
    with `config` (`pgstack:` keys, values as the engine hands them) over it; `today` decides
    which monthly partitions exist (the current UTC date by default).

    The program's validation at preview (`pgstack:validation`) runs only if `validate`: what is
    declared does not depend on it, and the access matrix needs no database (the preview
    validates). The plan command validates, as the `up` it plans would."""
    values = {**stack_config(project, stack, validate=validate), **(config or {})}
    monitor = _RecordingMonitor(_EchoMocks())
    run_under_mocks(lambda: build(sql_root=project / "sql", today=today), _EchoMocks(), monitor, stack, values,
                    secret_keys=[k for k in values if k.endswith("password")])
    return monitor.declared


def main(argv: list[str]) -> int:
    project, stack = Path(argv[0]).resolve(), argv[1]
    json.dump([asdict(d) for d in record(project, stack)], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Test code: the SDK's dynamic-provider server, run the way the Pulumi engine runs it.

`python -m pulumi.dynamic` is the program the engine starts for dynamic resources: it prints a
port and serves the ResourceProvider gRPC protocol. This starts it in a separate process whose
working directory is NOT the project (so `components` must import from the installed project,
as in a real deployment) and talks to it over gRPC with the pickled provider in `__provider`,
exactly as the engine does. Each server is a new process forked from one that did the imports
once (zygote.py); a subclass with another `command` (bench/) is started on its own.
"""

import asyncio
import copy
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import proto, rpc
from pulumi.runtime.proto import provider_pb2_grpc

from .zygote import provider_zygote

PROVIDER_KEY = "__provider"


class ProviderError(RuntimeError):
    """The provider process refused or failed an operation; the message is its error text."""


def pickled(provider) -> str:
    """The `__provider` value the SDK stores in state for this provider object."""
    return serialize_provider(provider)


_loops = threading.local()  # one event loop per thread (the engine calls from several at once)


class Received(dict):
    """Properties as a provider call returned them, with the Struct they came in. The engine
    hands them back unchanged (checked inputs to diff, create and update; a state's outputs to
    the next call), so they go back as they came instead of being encoded again. Never changed
    in place: that would raise, not send stale properties."""

    def __init__(self, struct: struct_pb2.Struct):
        super().__init__(rpc.deserialize_properties(struct))
        self.struct = struct

    def _read_only(self, *args, **kwargs):
        raise TypeError("properties a provider returned are not changed in place; copy them first")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = __ior__ = _read_only  # type: ignore

    def __deepcopy__(self, memo: dict) -> "Received":
        copied = Received.__new__(Received)
        dict.update(copied, copy.deepcopy(dict(self), memo))
        copied.struct = struct_pb2.Struct()
        copied.struct.CopyFrom(self.struct)
        return copied

    def __reduce__(self):
        return Received, (self.struct,)


def _to_struct(props: dict) -> struct_pb2.Struct:
    if isinstance(props, Received):
        return props.struct
    if not hasattr(_loops, "loop"):
        _loops.loop = asyncio.new_event_loop()
    return _loops.loop.run_until_complete(rpc.serialize_properties(props, {}))


def _from_struct(struct) -> dict:
    return Received(struct)


SERVER = [sys.executable, "-m", "pulumi.dynamic"]


def _drain(fd: int) -> None:
    """Read what the server prints until it exits: a pipe nobody reads blocks the process."""
    with open(fd, "rb", buffering=0) as stream:
        while stream.read(65536):
            pass


class ProviderProcess:
    command = SERVER  # bench/ runs a timed server instead

    def __init__(self, config: dict[str, str], env: dict[str, str] | None = None):
        self.workdir = tempfile.mkdtemp(prefix="dynamic-provider-")
        self.log = Path(self.workdir) / "provider.log"
        started_env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **(env or {})}
        started_env["PULUMI_PROJECT"] = "pgstack"
        self.process: subprocess.Popen | None = None
        if self.command is SERVER and env is None:  # forked from the imports done once (zygote.py)
            self.pid, port, stdout = provider_zygote(started_env).start(self.workdir, self.log)
            threading.Thread(target=_drain, args=(stdout,), daemon=True).start()
        else:
            self.process = subprocess.Popen(
                self.command, cwd=self.workdir, env=started_env,
                stdout=subprocess.PIPE, stderr=open(self.log, "w"), text=True)
            port = self.process.stdout.readline().strip()
            if not port.isdigit():
                self.process.wait()
                raise RuntimeError(f"dynamic provider did not start: {self.log.read_text()}")
            threading.Thread(target=self.process.stdout.read, daemon=True).start()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        self.stub.Configure(proto.ConfigureRequest(args=_to_struct(config), acceptSecrets=False))

    def close(self) -> None:
        self.channel.close()
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        else:
            os.kill(self.pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # gone once the kernel reaped it (the zygote ignores SIGCHLD)
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.005)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _call(self, method: str, request):
        try:
            return getattr(self.stub, method)(request)
        except grpc.RpcError as exc:
            raise ProviderError(exc.details()) from None

    def create(self, urn: str, props: dict) -> tuple[str, dict]:
        resp = self._call("Create", proto.CreateRequest(urn=urn, properties=_to_struct(props)))
        return resp.id, _from_struct(resp.properties)

    def check(self, urn: str, olds: dict, news: dict) -> dict:
        """The checked inputs; a check failure is raised, as the engine reports it."""
        resp = self._call("Check", proto.CheckRequest(urn=urn, olds=_to_struct(olds), news=_to_struct(news)))
        if resp.failures:
            raise ProviderError("; ".join(f"{f.property}: {f.reason}" if f.property else f.reason
                                          for f in resp.failures))
        return _from_struct(resp.inputs)

    def diff(self, urn: str, id_: str, olds: dict, news: dict) -> dict:
        resp = self._call("Diff", proto.DiffRequest(id=id_, urn=urn, olds=_to_struct(olds), news=_to_struct(news)))
        return {
            "changes": resp.changes == proto.DiffResponse.DIFF_SOME,
            "replaces": list(resp.replaces),
            "delete_before_replace": resp.deleteBeforeReplace,
        }

    def update(self, urn: str, id_: str, olds: dict, news: dict) -> dict:
        resp = self._call("Update", proto.UpdateRequest(id=id_, urn=urn, olds=_to_struct(olds), news=_to_struct(news)))
        return _from_struct(resp.properties)

    def read(self, urn: str, id_: str, props: dict) -> tuple[str, dict]:
        resp = self._call("Read", proto.ReadRequest(id=id_, urn=urn, properties=_to_struct(props)))
        return resp.id, _from_struct(resp.properties)

    def delete(self, urn: str, id_: str, props: dict) -> None:
        self._call("Delete", proto.DeleteRequest(id=id_, urn=urn, properties=_to_struct(props)))

"""The SDK's dynamic-provider server (`python -m pulumi.dynamic`), each call timed: run as a
script by bench/timing.py's TimedProviderProcess instead of `python -m pulumi.dynamic`.

Per gRPC call it appends one line to the file named by PGSTACK_BENCH_CALLS:
`method start end provider_seconds`, where start and end are time.monotonic() (the same clock
in every process of the machine) around the whole call, and provider_seconds the part spent in
the provider's own method (create, read, ...), the rest being the SDK's (de)serialization.
With PGSTACK_BENCH_PROFILE set, every call also runs under one cProfile profile (calls then
take turns), written to that path when the process is asked to stop (SIGTERM).
"""

import cProfile
import importlib.util
import os
import signal
import sys
import threading
import time
from pathlib import Path

from components.provider.base import CatalogObjectProvider
from components.provider.sample_data import SampleDataProvider

METHODS = ("Check", "Diff", "Create", "Update", "Read", "Delete")
PROVIDER_METHODS = ("check", "diff", "create", "update", "read", "delete")

_calls = open(os.environ["PGSTACK_BENCH_CALLS"], "a", buffering=1)  # noqa: SIM115 (lives with the process)
_write = threading.Lock()
_inner = threading.local()
_profile_path = os.environ.get("PGSTACK_BENCH_PROFILE")
_profile = cProfile.Profile() if _profile_path else None
_profile_turn = threading.Lock()


def _server_module():
    """pulumi/dynamic/__main__.py without its last line, a bare `main()` that starts serving."""
    origin = importlib.util.find_spec("pulumi.dynamic.__main__").origin
    source = Path(origin).read_text().rstrip()
    assert source.endswith("\nmain()"), "pulumi/dynamic/__main__.py no longer ends with main()"
    namespace = {"__name__": "pulumi_dynamic_server", "__file__": origin}
    exec(compile(source.removesuffix("main()"), origin, "exec"), namespace)  # noqa: S102
    return namespace


def _timed_call(method, name):
    def call(self, request, context):
        _inner.seconds = 0.0
        start = time.monotonic()
        try:
            if _profile is None:
                return method(self, request, context)
            with _profile_turn:
                return _profile.runcall(method, self, request, context)
        finally:
            end = time.monotonic()
            with _write:
                _calls.write(f"{name} {start:.6f} {end:.6f} {_inner.seconds:.6f}\n")
    return call


def _timed_method(method):
    def call(*args, **kwargs):
        start = time.monotonic()
        try:
            return method(*args, **kwargs)
        finally:
            _inner.seconds = getattr(_inner, "seconds", 0.0) + time.monotonic() - start
    return call


def _stop(signum, frame):
    if _profile is not None and _profile_path:
        with _profile_turn:
            _profile.dump_stats(_profile_path)
    os._exit(0)


def main() -> None:
    server = _server_module()
    servicer = server["DynamicResourceProviderServicer"]
    for name in METHODS:
        setattr(servicer, name, _timed_call(getattr(servicer, name), name))
    for cls in (CatalogObjectProvider, SampleDataProvider):
        for name in PROVIDER_METHODS:
            if name in vars(cls):
                setattr(cls, name, _timed_method(vars(cls)[name]))
    signal.signal(signal.SIGTERM, _stop)
    sys.stdout.flush()
    server["main"]()


if __name__ == "__main__":
    main()

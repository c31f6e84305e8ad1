"""Where the time of an engine stand-in run goes: the program, the provider process, and the
transport between them.

TimedProviderProcess runs the provider server through bench/provider_server.py, which logs
every call with its start and end (time.monotonic(), one clock for every process of the
machine) and the part spent in the provider's own method. TimedEngine is the engine stand-in
(tests/support/engine.py) with its phases timed. A phase's figures are unions of intervals:
with several calls in flight, a second counts once.
"""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.engine import EngineDouble
from tests.support.provider_process import ProviderProcess

SERVER = Path(__file__).with_name("provider_server.py")


def union(intervals: Iterable[tuple[float, float]]) -> float:
    """Seconds covered by at least one of the intervals."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


@dataclass
class Call:
    method: str
    start: float
    end: float
    provider: float  # seconds in the provider's own method


@dataclass
class Window:
    """What the provider process did between two instants."""

    seconds: float
    calls: list[Call]
    client: list[tuple[float, float]] = field(default_factory=list)  # the stand-in's side of each call

    @property
    def busy(self) -> float:
        """Seconds the provider process had at least one call in hand."""
        return union((c.start, c.end) for c in self.calls)

    @property
    def provider_busy(self) -> float:
        """Seconds inside the provider's own methods (approximated per call, then unioned: each
        call's provider part is placed at its end)."""
        return union((c.end - c.provider, c.end) for c in self.calls)

    @property
    def in_calls(self) -> float:
        """Seconds the stand-in had at least one call out (transport and provider)."""
        return union(self.client)

    def count(self, *methods: str) -> int:
        return sum(1 for c in self.calls if not methods or c.method in methods)


class TimedProviderProcess(ProviderProcess):
    command = [sys.executable, str(SERVER)]
    profile: Path | None = None  # set on the class to profile the next processes

    def __init__(self, config: dict[str, str]):
        fd, name = tempfile.mkstemp(prefix="pgstack-bench-calls-")
        os.close(fd)
        self.calls_file = Path(name)
        self.client: list[tuple[float, float]] = []
        env = {"PGSTACK_BENCH_CALLS": str(self.calls_file)}
        if self.profile is not None:
            env["PGSTACK_BENCH_PROFILE"] = str(self.profile)
        super().__init__(config, env=env)

    def _call(self, method: str, request):
        start = time.monotonic()
        try:
            return super()._call(method, request)
        finally:
            self.client.append((start, time.monotonic()))

    def calls(self, start: float, end: float) -> list[Call]:
        result = []
        for line in self.calls_file.read_text().splitlines():
            method, first, last, provider = line.split()
            if start <= float(first) and float(last) <= end:
                result.append(Call(method, float(first), float(last), float(provider)))
        return result

    @contextmanager
    def window(self) -> Iterator[Window]:
        """Time the block; the Window is filled in when it ends."""
        window = Window(0.0, [])
        start = time.monotonic()
        yield window
        end = time.monotonic()
        window.seconds = end - start
        window.calls = self.calls(start, end)
        window.client = [(a, b) for a, b in self.client if start <= a and b <= end]

    def close(self) -> None:
        if self.profile is not None:  # let it write its profile
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):  # killed below anyway
                self.process.wait(timeout=60)
        super().close()
        self.calls_file.unlink(missing_ok=True)


class TimedEngine(EngineDouble):
    """The engine stand-in, timing the program run under mocks and the apply phase of each run."""

    provider_process = TimedProviderProcess
    provider: TimedProviderProcess

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.phases: dict[str, float] = {}

    def _declared(self, preview: bool):
        start = time.monotonic()
        try:
            return super()._declared(preview)
        finally:
            self.phases["program"] = time.monotonic() - start

    def _execute(self, steps):
        start = time.monotonic()
        try:
            return super()._execute(steps)
        finally:
            self.phases["apply"] = time.monotonic() - start

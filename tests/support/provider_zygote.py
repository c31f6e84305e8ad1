"""Test code: start the dynamic-provider server without paying for its imports each time.

Each `python -m pulumi.dynamic` spends about half a second of CPU importing the SDK, gRPC and
`components` before it serves; the suite starts it over a hundred times on two cores. A zygote
process imports all that once, then forks one child per provider process: each child is a new
process (nothing of an earlier provider: no connection, no snapshot, no configuration), with
its own working directory, stdout and log, and runs `pulumi.dynamic` as `python -m` does
(runpy), so the engine's path is unchanged. The zygote starts the way ProviderProcess starts
the server: outside the project, without PYTHONPATH, so `components` imports from the installed
project. It creates no gRPC channel or server and no thread before forking.
"""

import atexit
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# Collections of the garbage collector (gc.set_threshold) in the test processes and the
# providers forked here: less often than Python's default (700, 10, 10), which made them a
# fifth of a program run under mocks.
GC_THRESHOLDS = (10_000, 10, 10)

ZYGOTE = r"""
import gc, io, json, os, runpy, signal, sys
import dill, grpc, pulumi.dynamic, pulumi.runtime.proto.provider_pb2_grpc  # what the server imports
import components.provider.kinds, components.provider.migration, components.provider.sample_data  # what unpickling does
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
gc.collect()
gc.freeze()  # the imports live as long as each child: no collection need scan them
gc.set_threshold(*json.loads(sys.argv[1]))
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.chdir(request["cwd"])
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(os.open(request["stdout"], os.O_WRONLY), 1)
            os.dup2(os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
            sys.stdin = open(0)
            sys.stdout = io.TextIOWrapper(open(1, "wb", buffering=0), write_through=True)
            sys.stderr = io.TextIOWrapper(open(2, "wb", buffering=0), write_through=True)
            sys.argv = ["pulumi.dynamic"]
            runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)
        finally:
            os._exit(1)
    sys.stdout.write(f"{pid}\n")
    sys.stdout.flush()
"""

STARTUP_TIMEOUT = 60.0  # seconds for a child to print its port


class Zygote:
    def __init__(self, env: dict[str, str]):
        self.workdir = tempfile.mkdtemp(prefix="provider-zygote-")
        self.log = Path(self.workdir) / "zygote.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen([sys.executable, "-c", ZYGOTE, json.dumps(GC_THRESHOLDS)],
                                            cwd=self.workdir, env=env,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def start(self, cwd: str, log: Path) -> tuple[int, str, int]:
        """A new provider server in `cwd`, its stderr in `log`: (its pid, the port it serves
        on, the file descriptor of its stdout, which the caller drains and closes)."""
        fifo = Path(cwd) / "stdout"
        os.mkfifo(fifo, 0o600)
        # Read-write: the open does not wait for the child, nor does the read see an end of
        # file before the child has opened its end.
        reader = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
        try:
            with self.lock:
                assert self.process.stdin is not None and self.process.stdout is not None
                self.process.stdin.write(json.dumps({"cwd": cwd, "stdout": str(fifo), "stderr": str(log)}) + "\n")
                self.process.stdin.flush()
                answer = self.process.stdout.readline().strip()
            if not answer.isdigit():
                raise RuntimeError(f"the provider zygote did not fork: {self.log.read_text()}")
            pid, line = int(answer), b""
            while not line.endswith(b"\n"):
                ready, _, _ = select.select([reader], [], [], STARTUP_TIMEOUT)
                if not ready:
                    raise RuntimeError(f"dynamic provider did not start: {log.read_text()}")
                line += os.read(reader, 64)
            # From now on the child's end keeps the pipe open: drain it blocking until it dies.
            drain = os.open(fifo, os.O_RDONLY)
        finally:
            os.close(reader)
        return pid, line.decode().strip(), drain


_zygote: Zygote | None = None
_zygote_lock = threading.Lock()


def zygote(env: dict[str, str]) -> Zygote:
    """This test process's zygote, started on first use (again if it died)."""
    global _zygote
    with _zygote_lock:
        if _zygote is None or not _zygote.alive():
            _zygote = Zygote(env)
            atexit.register(_zygote.close)
        return _zygote

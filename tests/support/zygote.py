"""Test code: start `python -m <module>` without paying for its imports each time.

Each `python -m pulumi.dynamic` spends about half a second of CPU importing the SDK, gRPC and
`components` before it serves, and each `python -m components.scaffold` (or plan, or review)
as long before it reads its arguments; the suite starts them over a hundred times on two
cores. A zygote process imports all that once, then forks one child per run: each child is a
new process (nothing of an earlier run: no connection, no snapshot, no configuration), with its
own working directory, environment, stdout and stderr (stdin is /dev/null), and runs the module
as `python -m` does (runpy, `__main__`, the same exit status), so what runs is unchanged. It
creates no gRPC channel or server and no thread before forking.

- `provider_zygote`: the dynamic-provider servers. It starts the way ProviderProcess starts the
  server: outside the project, without PYTHONPATH, so `components` imports from the installed
  project. Its children serve until they are killed; the kernel reaps them.
- `run_command`: the project's command-line tools, run to their end. The zygote starts in the
  project folder, where `python -m components.<tool>` finds `components` too.
"""

import atexit
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from contextlib import suppress
from pathlib import Path

# Collections of the garbage collector (gc.set_threshold) in the test processes and the
# processes forked here: less often than Python's default (700, 10, 10), which made them a
# fifth of a program run under mocks.
GC_THRESHOLDS = (10_000, 10, 10)

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROVIDER_IMPORTS = ("dill", "grpc", "pulumi.dynamic", "pulumi.runtime.proto.provider_pb2_grpc",  # the server's
                    # and what unpickling a provider imports
                    "components.provider.kinds", "components.provider.migration", "components.provider.sample_data")
COMMAND_IMPORTS = ("components.scaffold.cli", "components.plan.cli",  # what `python -m components.<tool>` imports
                   "components.review.access", "components.review.report", "components.review.revisions")

ZYGOTE = r"""
import atexit, gc, io, json, os, runpy, signal, sys, traceback
imports, thresholds, wait = json.loads(sys.argv[1])
for name in imports:
    __import__(name)
if not wait:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
gc.collect()
gc.freeze()  # the imports live as long as each child: no collection need scan them
gc.set_threshold(*thresholds)


def run(module):
    # As `python -m module` ends: its exit status, a traceback for an error, exit handlers run.
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit:
        code = 0 if exit.code is None else exit.code
        if not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    return code


for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.chdir(request["cwd"])
            if request.get("env") is not None:
                os.environ.clear()
                os.environ.update(request["env"])
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            for fd, name in ((1, "stdout"), (2, "stderr")):
                os.dup2(os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
            sys.stdin = open(0)
            sys.stdout = io.TextIOWrapper(open(1, "wb", buffering=0), write_through=True)
            sys.stderr = io.TextIOWrapper(open(2, "wb", buffering=0), write_through=True)
            sys.argv = [request["module"], *request["argv"]]
            code = run(request["module"])
        finally:
            os._exit(code)
    sys.stdout.write(f"{pid}\n")
    sys.stdout.flush()
    if wait:
        sys.stdout.write(f"{os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])}\n")
        sys.stdout.flush()
"""

STARTUP_TIMEOUT = 60.0  # seconds for a provider to print its port


class Zygote:
    def __init__(self, env: dict[str, str], cwd: str | None, imports: tuple[str, ...], wait: bool):
        self.workdir = tempfile.mkdtemp(prefix="zygote-")
        self.log = Path(self.workdir) / "zygote.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", ZYGOTE, json.dumps([imports, GC_THRESHOLDS, wait])],
                cwd=cwd or self.workdir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _fork(self, request: dict) -> int:
        """Send a request; the forked child's pid. The caller holds the lock."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        if not answer.isdigit():
            raise RuntimeError(f"the zygote did not fork: {self.log.read_text()}")
        return int(answer)

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
                pid = self._fork({"module": "pulumi.dynamic", "argv": [], "cwd": cwd, "stdout": str(fifo),
                                  "stderr": str(log)})
            line = b""
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

    def run(self, module: str, args: list[str], cwd: Path, env: dict[str, str] | None,
            timeout: float) -> subprocess.CompletedProcess:
        """`python -m module *args` in `cwd` with `env` (this process's by default), to its end."""
        with tempfile.TemporaryDirectory(prefix="command-", dir=self.workdir) as folder:
            out, err = Path(folder) / "stdout", Path(folder) / "stderr"
            with self.lock:
                pid = self._fork({"module": module, "argv": args, "cwd": str(cwd), "stdout": str(out),
                                  "stderr": str(err), "env": dict(os.environ) if env is None else env})
                assert self.process.stdout is not None
                expired = threading.Event()

                def kill() -> None:
                    expired.set()
                    with suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)

                timer = threading.Timer(timeout, kill)
                timer.start()
                try:
                    code = int(self.process.stdout.readline())  # once the zygote has waited for the child
                finally:
                    timer.cancel()
                if expired.is_set():
                    raise subprocess.TimeoutExpired([module, *args], timeout)
            return subprocess.CompletedProcess([sys.executable, "-m", module, *args], code,
                                               out.read_text(), err.read_text())


_zygotes: dict[str, Zygote] = {}
_zygotes_lock = threading.Lock()


def _zygote(kind: str, make) -> Zygote:
    """This test process's zygote of `kind`, started on first use (again if it died)."""
    with _zygotes_lock:
        if kind not in _zygotes or not _zygotes[kind].alive():
            _zygotes[kind] = make()
            atexit.register(_zygotes[kind].close)
        return _zygotes[kind]


def provider_zygote(env: dict[str, str]) -> Zygote:
    return _zygote("provider", lambda: Zygote(env, None, PROVIDER_IMPORTS, wait=False))


def run_command(module: str, *args: str, cwd: Path = PROJECT_DIR, env: dict[str, str] | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess:
    """What `subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
    stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)` returns, from a
    child of the command zygote."""
    command = _zygote("command", lambda: Zygote(dict(os.environ), str(PROJECT_DIR), COMMAND_IMPORTS, wait=True))
    return command.run(module, list(args), cwd, env, timeout)

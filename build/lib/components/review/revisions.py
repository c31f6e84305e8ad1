"""Record what a git revision's program declares: the revision is exported into a temporary
folder (`git archive`) and its own program runs there, in a separate Python process whose
`components` is that revision's (record.py run as a script), so a change to the program's code
between two revisions shows as much as a change to its SQL or stack config."""

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from .. import PgstackError
from . import record as record_module
from .record import Declared

RECORDER = Path(record_module.__file__).resolve()


class ReviewError(PgstackError):
    """A revision that cannot be read or whose program fails."""


def _git(repo: Path, *args: str) -> bytes:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    if done.returncode != 0:
        raise ReviewError(f"git {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def commit_of(repo: Path, revision: str) -> str:
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").decode().strip()
    except ReviewError:
        raise ReviewError(f"{repo} has no commit {revision!r}") from None


def export(repo: Path, revision: str, folder: Path) -> None:
    """The revision's files (as committed) into `folder`."""
    archive = _git(repo, "archive", "--format=tar", commit_of(repo, revision))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")


def record_project(project: Path, stack: str) -> list[Declared]:
    """Run the program found in `project` (its own `components`) and record what it declares."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project), os.environ.get("PYTHONPATH", "")])}
    # -P: the recorder's own folder is not put on sys.path, so `components` is the project's.
    done = subprocess.run([sys.executable, "-P", str(RECORDER), str(project), stack], cwd=project, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise ReviewError(f"the program of {project} failed for stack {stack}:\n{tail}")
    return [Declared(**item) for item in json.loads(done.stdout)]


def record_revision(repo: Path, revision: str | None, stack: str) -> list[Declared]:
    """What `revision` of the repository declares for `stack`; None: the working tree."""
    if revision is None:
        return record_project(repo, stack)
    with tempfile.TemporaryDirectory(prefix="pgstack-review-") as folder:
        export(repo, revision, Path(folder))
        return record_project(Path(folder), stack)

"""Validations that passed, remembered, so the same schema is not validated twice.

`pulumi up` runs the program twice (its preview, then the update), and a preview of a pull
request that changes no SQL validates exactly what the last one did. A run whose statements
(their text, session and source), stand-in roles, owner, validation settings and server
(PostgreSQL version) are those of a run that passed, on the same machine, pgstack version and
validation code (this package's source: a checkout whose checks changed does not reuse what
older checks passed, whatever its version says), does not validate again: it reports the
earlier run's result. Only a pass is remembered, so a statement PostgreSQL rejects is
validated, and reported, on every run. `pgstack:validation: {cache: false}` validates every
time.

Each pass is a small file named by the SHA-256 of all of the above, in the validation cache
folder (private to the user, scratch.cache_folder), written whole or not at all; the newest
KEEP are kept.
"""

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from ...settings import Validation
from .scratch import ValidationUnavailable, cache_folder
from .statements import Statement

KEEP = 256


@functools.cache
def code_digest(folder: Path = Path(__file__).parent) -> str:
    """The SHA-256 of the validation's code: the Python files of its package (`folder`)."""
    sha = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        sha.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()


def digest(statements: list[Statement], roles: list[str], owner: str, external: Iterable[tuple[str, str]],
           validation: Validation, server: list) -> str:
    """The SHA-256 of everything a validation's result depends on (`server`: scratch.server_identity),
    with the pgstack version and the validation's code."""
    try:
        version = metadata.version("pgstack")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        version = "source"
    parts = [code_digest(), version, server, validation.model_dump(mode="json", exclude={"password", "cache"}),
             roles, owner, sorted(external),
             [[s.source, s.schema, s.as_owner, s.step.statement.as_string(None)] for s in statements]]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _folder() -> Path:
    folder = cache_folder() / "validated"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def recall(digest: str) -> dict | None:
    """What the run that passed with this key reported (statements, server, notes), or None."""
    try:
        path = _folder() / digest
        report = json.loads(path.read_text())
        os.utime(path)  # recently used: kept longest
    except (OSError, ValueError, ValidationUnavailable):
        return None
    return report if isinstance(report, dict) else None


def remember(digest: str, report: dict) -> None:
    """Record a pass. A failure to write only means the next run validates again."""
    try:
        folder = _folder()
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".writing-")
        with os.fdopen(fd, "w") as f:
            json.dump(report, f)
        os.replace(temporary, folder / digest)  # whole or not at all
        # (A writer killed before its replace leaves a temporary file: pruned like the rest.)
        entries = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)
    except (OSError, ValidationUnavailable):
        pass

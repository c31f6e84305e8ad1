"""Validations that passed, remembered, so the same schema is not validated twice.

`pulumi up` runs the program twice (its preview, then the update), and a preview of a pull
request that changes no SQL validates exactly what the last one did. A run whose statements
(their text, session and source), stand-in roles, owner, validation settings and server
(PostgreSQL version) are those of a run that passed, on the same machine and pgstack version,
does not validate again: it reports the earlier run's result. Only a pass is remembered, so a
statement PostgreSQL rejects is validated, and reported, on every run. `pgstack:validation:
{cache: false}` validates every time.

Each pass is a small file named by the SHA-256 of all of the above, in the validation cache
folder (private to the user, scratch.cache_folder), written whole or not at all; the newest
KEEP are kept.
"""

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
FORMAT = 1  # bump when what a validation checks changes without its statements changing


def digest(statements: list[Statement], roles: list[str], owner: str, external: Iterable[tuple[str, str]],
           validation: Validation, server: list) -> str:
    """The SHA-256 of everything a validation's result depends on (`server`: scratch.server_identity),
    with the pgstack version and this format."""
    try:
        version = metadata.version("pgstack")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        version = "source"
    parts = [FORMAT, version, server, validation.model_dump(mode="json", exclude={"password", "cache"}),
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

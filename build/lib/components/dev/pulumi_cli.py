"""The Pulumi CLI that ./dev-up runs: the one on PATH, or the pinned version installed into the
project with Pulumi's official installer.

The installer (get.pulumi.com/install.sh) downloads the CLI from Pulumi's release servers, so it
needs the internet; when that fails, `InstallFailed` carries the exact command to run by hand.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from .. import PgstackError

# The CLI version ./dev-up installs: the one place it is pinned. Keep it at or above the pulumi
# SDK's lower bound in pyproject.toml (the SDK and the CLI are released together).
PULUMI_VERSION = "3.272.0"
INSTALLER_URL = "https://get.pulumi.com/install.sh"
# In the project, git-ignored; one folder per version, so changing the pin installs it anew.
INSTALL_DIR = f".pulumi-cli/{PULUMI_VERSION}"


class InstallFailed(PgstackError):
    def __init__(self, reason: str, command: str):
        self.reason, self.command = reason, command
        super().__init__(f"could not install the Pulumi CLI: {reason}")


def local_cli(project: Path) -> Path:
    return project / INSTALL_DIR / "bin" / "pulumi"


def find(project: Path) -> Path | None:
    """The CLI to use: the project's own install of the pinned version first, else `pulumi` on
    PATH, else None."""
    local = local_cli(project)
    if local.is_file():
        return local
    found = shutil.which("pulumi")
    return Path(found) if found else None


def installer_args(script: Path, project: Path) -> list[str]:
    """The installer's command line: the pinned version, into the project, leaving the user's
    shell profile alone (by default it adds its folder to PATH in ~/.bashrc or ~/.zshrc)."""
    return ["sh", str(script), "--version", PULUMI_VERSION,
            "--install-root", str((project / INSTALL_DIR).resolve()), "--no-edit-path"]


def manual_command(project: Path) -> str:
    """What to run by hand when dev-up cannot install the CLI itself."""
    args = shlex.join(installer_args(Path("-"), project)[2:])
    return f"curl -fsSL {INSTALLER_URL} | sh -s -- {args}"


def install(project: Path, say: Callable[[str], None] = print,
            progress: Callable[[str], AbstractContextManager] = lambda what: contextlib.nullcontext()) -> Path:
    """Install the pinned CLI into the project; return its path or raise InstallFailed.
    `progress(what)` wraps the download (which prints nothing by itself)."""
    say(f"installing the Pulumi CLI {PULUMI_VERSION} into {INSTALL_DIR}/ with Pulumi's installer")
    with tempfile.TemporaryDirectory(prefix="pulumi-install-") as tmp:
        script = Path(tmp) / "install.sh"
        try:
            with progress(f"downloading {INSTALLER_URL}"):
                script.write_bytes(urllib.request.urlopen(INSTALLER_URL, timeout=20).read())
        except OSError as exc:  # URLError, timeouts and refused connections are all OSErrors
            raise InstallFailed(f"cannot download {INSTALLER_URL} ({getattr(exc, 'reason', exc)})",
                                manual_command(project)) from None
        say("running: " + shlex.join(installer_args(Path("install.sh"), project)))
        result = subprocess.run(installer_args(script, project), cwd=tmp)
    cli = local_cli(project)
    if result.returncode != 0 or not cli.is_file():
        raise InstallFailed(f"the installer exited with {result.returncode}" if result.returncode
                            else f"the installer left no {cli}", manual_command(project))
    return cli

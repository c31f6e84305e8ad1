"""Test code: the scaffold command run as a user runs it, and the model of what it wrote."""

import os
import subprocess
from pathlib import Path

from components.model.declared import DeclaredTables
from components.model.objects import Module
from components.model.parser import parse_module
from components.scaffold import cli

from .zygote import run_command

PROJECT = Path(__file__).resolve().parents[2]


def scaffold(database: dict, out: Path, *args: str, password: str | None = None) -> subprocess.CompletedProcess:
    """`python -m components.scaffold --stack dev ...` on `database`, files under `out`."""
    env = {**os.environ, cli.PASSWORD_ENV: password if password is not None else database["password"]}
    return run_command("components.scaffold", "--stack", "dev", "--host", database["host"],
                       "--port", str(database["port"]), "--dbname", database["dbname"], "--user", database["user"],
                       "--out", str(out), *args, cwd=PROJECT, env=env)


def parsed(folder: Path, schema: str, known: DeclaredTables | None = None, roles=()) -> Module:
    return parse_module(folder.name, schema, folder, known or DeclaredTables(), set(roles))


def one_file_module(tmp_path: Path, name: str, text: str, schema: str, **kwargs) -> Module:
    folder = tmp_path / "expected" / name
    folder.mkdir(parents=True)
    (folder / "001_module.sql").write_text(text, encoding="utf-8")
    return parsed(folder, schema, **kwargs)

"""The project works as a built wheel, not only as an editable install: the process the Pulumi
engine starts for dynamic providers imports `components` from wherever the project is installed,
and the program finds sql/ from the project folder it runs in."""

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]

PROGRAM = """
import json, sys
import pulumi
from pulumi.runtime import mocks

class Echo(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return f"{args.name}-id", {**args.inputs, "result": "x"}
    def call(self, args):
        return {}

registered = []
class Monitor(mocks.MockMonitor):
    def RegisterResource(self, request):
        registered.append(request.type)
        return super().RegisterResource(request)

config = json.loads(sys.argv[1])
mocks_ = Echo()
pulumi.runtime.set_mocks(mocks_, project="pgstack", stack="dev", preview=True, monitor=Monitor(mocks_))
pulumi.runtime.set_all_config(config, secret_keys=["pgstack:db_password"])

import components
from components.stack.program import build

@pulumi.runtime.test
def run():
    build()

run()
print(json.dumps({"components": components.__file__, "resources": len(registered),
                  "tables": registered.count("pulumi-python:dynamic/pgstack:Table")}))
"""


def test_the_built_wheel_runs_the_program_from_a_project_without_components(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels),
                    str(PROJECT)], check=True, capture_output=True)
    (wheel,) = wheels.glob("pgstack-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "components/supabase/auth/001_auth_functions.sql" in names
    packages = {str(p.relative_to(PROJECT)) for p in (PROJECT / "components").rglob("__init__.py")}
    assert packages <= names, packages - names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", purelib],
                               check=True, capture_output=True, text=True).stdout.strip())
    with zipfile.ZipFile(wheel) as archive:  # what pip install does for a pure wheel
        archive.extractall(site)

    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py"):
        shutil.copy(PROJECT / name, project / name)
    shutil.copytree(PROJECT / "sql", project / "sql")
    assert not (project / "components").exists()

    config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in
              __import__("yaml").safe_load((PROJECT / "Pulumi.dev.yaml").read_text())["config"].items()}
    config.update({"pgstack:db_password": "x", "pgstack:validation": json.dumps({"mode": "off"})})
    # The dependencies come from the test environment's site-packages on PYTHONPATH: its .pth
    # files (the editable install of this project among them) are not read from there.
    environment = {"PYTHONPATH": sysconfig.get_path("purelib"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([str(venv / "bin" / "python"), "-c", PROGRAM, json.dumps(config)], cwd=project,
                            env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["components"].startswith(str(site)), outcome
    assert outcome["tables"] > 30 and outcome["resources"] > 200, outcome

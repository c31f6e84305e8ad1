"""The GitHub workflow (.github/workflows/pgstack.yml) cannot run here: actionlint checks it
(syntax, expressions, the inputs of every action it uses, the local composite action's too), and
its structure is what the README promises."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
WORKFLOW = PROJECT_DIR / ".github" / "workflows" / "pgstack.yml"


def actionlint() -> str:
    """The actionlint of this virtualenv ([test] extra) or of the PATH."""
    found = shutil.which("actionlint", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                             os.environ.get("PATH", "")]))
    if found is None:
        pytest.skip("actionlint is not installed (the [test] extra installs it)")
    return found


def lint(folder: Path, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run([actionlint(), "-no-color", *map(str, files)], cwd=folder, capture_output=True, text=True,
                          check=False)


def test_actionlint_passes_the_workflow():
    done = lint(PROJECT_DIR, WORKFLOW.relative_to(PROJECT_DIR))
    assert (done.returncode, done.stdout) == (0, "")


def test_actionlint_refuses_a_broken_workflow(tmp_path):
    """The check can fail: an unknown input of pulumi/actions and an unknown job are reported."""
    broken = WORKFLOW.read_text().replace("policyPacks: policy", "policyPack: policy").replace(
        "needs: up-dev", "needs: up-staging")
    shutil.copytree(PROJECT_DIR / ".github", tmp_path / ".github")
    (tmp_path / ".github" / "workflows" / "pgstack.yml").write_text(broken)
    done = lint(tmp_path, Path(".github/workflows/pgstack.yml"))
    assert done.returncode == 1
    assert 'input "policyPack" is not defined in action "pulumi/actions@v7"' in done.stdout
    assert '"up-staging"' in done.stdout


def test_the_workflow_does_what_the_readme_says():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    jobs = workflow["jobs"]
    events = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert set(events) == {"pull_request", "push"} and events["push"]["branches"] == ["main"]

    on_pull_request = {name for name, job in jobs.items() if job.get("if") == "github.event_name == 'pull_request'"}
    assert on_pull_request == {"access-diff", "preview"} and "if" not in jobs["tests"]
    assert any("python -m pytest" in step.get("run", "") for step in jobs["tests"]["steps"])
    diff = next(s["run"] for s in jobs["access-diff"]["steps"] if "components.review access-diff" in s.get("run", ""))
    assert "for stack in dev prod" in diff
    commenters = [s["uses"] for s in jobs["access-diff"]["steps"] if "sticky-pull-request-comment" in s.get("uses", "")]
    assert commenters == ["marocchino/sticky-pull-request-comment@v2"]

    assert [m["stack"] for m in jobs["preview"]["strategy"]["matrix"]["include"]] == ["dev", "prod"]
    preview = next(s["with"] for s in jobs["preview"]["steps"] if s.get("uses", "").startswith("pulumi/actions"))
    assert (preview["command"], preview["diff"], preview["policyPacks"], preview["comment-on-pr"]) == \
        ("preview", True, "policy", True)

    assert (jobs["up-dev"]["environment"], jobs["up-dev"]["needs"]) == ("dev", "tests")
    assert (jobs["up-prod"]["environment"], jobs["up-prod"]["needs"]) == ("prod", "up-dev")
    for name in ("up-dev", "up-prod"):
        assert jobs[name]["if"] == "github.event_name == 'push'"
        up = next(s["with"] for s in jobs[name]["steps"] if s.get("uses", "").startswith("pulumi/actions"))
        assert (up["command"], up["policyPacks"]) == ("up", "policy")

"""`.pre-commit-hooks.yaml` works as a hook repository: `pre-commit try-repo` builds
the tool from this checkout into its own environment and runs it on a project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLAWED_APP = ROOT / "examples" / "flawed-app"
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci", *args], cwd=cwd, check=True, capture_output=True
    )


def _try_repo(project: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home)}
    return subprocess.run(
        [str(PRE_COMMIT), "try-repo", str(ROOT), "fastapi-expert", "--all-files"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="try-repo needs this checkout to be a git repository (not an sdist)")
def test_the_hook_reviews_the_whole_project_and_fails_on_findings(tmp_path: Path) -> None:
    assert PRE_COMMIT.exists(), "pre-commit is a dev dependency: `make install` installs it"
    project = tmp_path / "service"
    shutil.copytree(FLAWED_APP, project)
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "init")
    home = tmp_path / "pre-commit-home"

    flawed = _try_repo(project, home)
    assert flawed.returncode == 1, flawed.stdout + flawed.stderr
    assert "fastapi-expert" in flawed.stdout and "Failed" in flawed.stdout
    # every planted defect, cross-module ones included: the hook saw the whole project
    assert "Found 56 findings" in flawed.stdout
    assert "FX210" in flawed.stdout

    # A clean project passes; the cache folder the review writes ignores itself.
    for path in project.rglob("*.py"):
        path.unlink()
    (project / "app.py").write_text("from fastapi import FastAPI\n\napp = FastAPI()\n", encoding="utf-8")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "clean")
    clean = _try_repo(project, home)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True)
    assert status.stdout == ""

"""`--fix --unsafe-fixes` on a copy of examples/flawed-app: every fixable finding
goes, the code still parses and still passes its own tests, and a second run
changes nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fastapi_expert.cli import main
from fastapi_expert.config import Config
from fastapi_expert.review.engine import review_paths

APP = Path(__file__).resolve().parents[1] / "examples" / "flawed-app"


def _texts(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.py"))}


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytest.importorskip("fastapi", reason="running the flawed app's tests needs fastapi (dev extra)")
    target = tmp_path / "flawed-app"
    shutil.copytree(APP, target, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    monkeypatch.chdir(tmp_path)
    return target


def test_fix_removes_every_fixable_finding_and_tests_still_pass(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = review_paths([copy], Config(), cwd=copy.parent)
    fixable = [f for f in before.findings if f.fix is not None]
    assert len({f.code for f in fixable}) >= 10

    main(["review", "--isolated", "--fix", "--unsafe-fixes", "--exit-zero", "flawed-app"])
    capsys.readouterr()
    after = review_paths([copy], Config(), cwd=copy.parent)
    assert [f"{f.path}:{f.location.line} {f.code}" for f in after.findings if f.fix is not None] == []
    assert not [f for f in after.findings if f.code.startswith("FX0")]
    # Fixing removed findings and added none.
    key = lambda f: (f.code, f.path)  # noqa: E731 - a local sort key
    assert len(after.findings) == len(before.findings) - len(fixable), sorted(map(key, after.findings))

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr

    fixed = _texts(copy)
    main(["review", "--isolated", "--fix", "--unsafe-fixes", "--exit-zero", "flawed-app"])
    assert _texts(copy) == fixed, "a second --fix changed the code again"

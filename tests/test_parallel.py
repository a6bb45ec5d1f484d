"""Per-file rules in forked workers give the same findings as one process, and a
worker that dies is reported with its file while the review finishes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import pytest

from fastapi_expert.config import Config
from fastapi_expert.review import parallel, registry
from fastapi_expert.review.engine import review_paths
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid

APP = Path(__file__).resolve().parents[1] / "examples" / "flawed-app"
pytestmark = pytest.mark.skipif(not parallel.fork_available(), reason="needs the fork start method (Linux)")


@pytest.fixture(autouse=True)
def _parallel_even_for_few_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_FILES_FOR_PARALLEL", 1)


def _keys(result: object) -> list[tuple[str, int, str, str]]:
    return [(f.path, f.location.line, f.code, f.message) for f in result.findings]  # type: ignore[attr-defined]


def test_parallel_equals_serial() -> None:
    serial = review_paths([APP], Config(jobs=1), cwd=APP)
    forked = review_paths([APP], Config(jobs=2), cwd=APP)
    assert _keys(forked) == _keys(serial)
    assert len(serial.findings) > 30


class _KillsWorker(Rule):
    """Kills the worker process on one file.

    ## What it does
    Nothing useful.

    ## Why is this bad?
    It dies.

    ## References
    - none
    """

    code = "FX298"
    name = "kills-worker"
    summary = "Exits the process when it reviews security.py in a worker."
    valid: ClassVar = (Valid("x = 1"),)
    invalid: ClassVar = (Invalid("x = 1", lines=(1,)),)
    parent = os.getpid()

    def check_file(self, ctx: FileContext) -> None:
        if ctx.module.path.endswith("security.py") and os.getpid() != self.parent:
            os._exit(3)


def test_a_dying_worker_is_reported_with_its_file(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = (*registry.all_rules(), _KillsWorker)
    monkeypatch.setattr("fastapi_expert.review.engine.all_rules", lambda: rules)
    _KillsWorker.parent = os.getpid()
    result = review_paths([APP], Config(jobs=2), cwd=APP)
    died = [f for f in result.findings if f.code == "FX002"]
    assert [f.path for f in died] == ["app/security.py"]
    assert "worker process died" in died[0].message
    # every other file was still reviewed
    assert any(f.path == "app/routers/orders.py" for f in result.findings)

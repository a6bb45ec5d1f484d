"""The result cache: reuse only what cannot have changed, never fail because of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fastapi_expert.cli import main
from fastapi_expert.config import Config
from fastapi_expert.review import cache as cache_module
from fastapi_expert.review import engine
from fastapi_expert.review.cache import CACHE_DIR_ENV, ResultCache
from fastapi_expert.review.engine import enabled_rules, review_paths
from fastapi_expert.review.tool_codes import INTERNAL_ERROR
from fastapi_expert.types import Finding

ROUTE = """\
from fastapi import FastAPI
from app.services import build_report

app = FastAPI()


@app.get("/report")
async def report(report_id: int) -> dict[str, object]:
    return build_report(report_id)
"""
SERVICES = """\
from app.clients import fetch_json


def build_report(report_id: int) -> dict[str, object]:
    return {"rows": fetch_json(f"/reports/{report_id}")}
"""
BLOCKING_CLIENT = """\
import requests


def fetch_json(path: str) -> object:
    return requests.get("https://api.internal" + path, timeout=5).json()
"""
QUIET_CLIENT = """\
def fetch_json(path: str) -> object:
    return {"path": path}
"""


def _project(root: Path, client: str = BLOCKING_CLIENT) -> Path:
    app = root / "app"
    app.mkdir(parents=True, exist_ok=True)
    (app / "__init__.py").write_text("", encoding="utf-8")
    (app / "main.py").write_text(ROUTE, encoding="utf-8")
    (app / "services.py").write_text(SERVICES, encoding="utf-8")
    (app / "clients.py").write_text(client, encoding="utf-8")
    return root


def _cache(folder: Path, config: Config | None = None) -> ResultCache:
    config = config or Config()
    return ResultCache(folder, config, (r.code for r in enabled_rules(config)))


def _review(root: Path, folder: Path, config: Config | None = None) -> engine.ReviewResult:
    config = config or Config(root=root)
    return review_paths([root / "app"], config, cwd=root, cache=_cache(folder, config))


def _codes(result: engine.ReviewResult) -> list[tuple[str, str, int]]:
    return [(f.code, f.path, f.location.line) for f in result.findings]


@pytest.fixture
def no_analysis(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the analyses run (a review answered from the cache runs none)."""
    calls: list[int] = []
    real = engine.run_review

    def counting(inputs: list[engine.InputFile], config: Config) -> engine.ReviewResult:
        calls.append(len(inputs))
        return real(inputs, config)

    monkeypatch.setattr(engine, "run_review", counting)
    return calls


def test_an_unchanged_tree_is_answered_from_the_cache(tmp_path: Path, no_analysis: list[int]) -> None:
    root = _project(tmp_path / "proj")
    first = _review(root, tmp_path / "cache")
    second = _review(root, tmp_path / "cache")
    assert no_analysis == [4]  # the second review analysed nothing
    assert not first.from_cache and second.from_cache
    assert second.findings == first.findings  # fixes and chains included
    assert any(f.code == "FX210" and f.chain for f in second.findings)
    assert (second.files, second.lines) == (first.files, first.lines)
    assert set(second.sources) == set(first.sources)


def test_a_change_in_another_module_reaches_the_findings_of_the_route(tmp_path: Path, no_analysis: list[int]) -> None:
    """The route's FX210 rests on clients.py: editing only that file must not
    leave the route's cached finding behind."""
    root = _project(tmp_path / "proj")
    assert any(code == "FX210" and path.endswith("main.py") for code, path, _ in _codes(_review(root, tmp_path / "cache")))
    (root / "app" / "clients.py").write_text(QUIET_CLIENT, encoding="utf-8")
    after = _review(root, tmp_path / "cache")
    assert not after.from_cache
    assert not any(code == "FX210" for code, _, _ in _codes(after))
    assert len(no_analysis) == 2


def test_a_new_file_and_a_removed_file_change_the_scope(tmp_path: Path) -> None:
    root = _project(tmp_path / "proj")
    _review(root, tmp_path / "cache")
    (root / "app" / "extra.py").write_text("import time\n\n\nasync def f() -> None:\n    time.sleep(1)\n", encoding="utf-8")
    with_extra = _review(root, tmp_path / "cache")
    assert not with_extra.from_cache and any(f.path.endswith("extra.py") for f in with_extra.findings)
    (root / "app" / "extra.py").unlink()
    without = _review(root, tmp_path / "cache")
    assert not any(f.path.endswith("extra.py") for f in without.findings)


def test_another_configuration_is_another_entry(tmp_path: Path, no_analysis: list[int]) -> None:
    root = _project(tmp_path / "proj")
    everything = _review(root, tmp_path / "cache")
    ignoring = _review(root, tmp_path / "cache", Config(root=root, ignore=("FX210",)))
    assert not ignoring.from_cache
    assert {f.code for f in everything.findings} - {f.code for f in ignoring.findings} == {"FX210"}
    assert _review(root, tmp_path / "cache").from_cache  # the first entry is still there
    assert len(no_analysis) == 2


def test_another_tool_build_does_not_reuse_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "proj")
    _review(root, tmp_path / "cache")
    monkeypatch.setattr(cache_module, "_tool_fingerprint", lambda: "another-build")
    assert not _review(root, tmp_path / "cache").from_cache


@pytest.mark.parametrize(
    "damage",
    [
        b"\x00\xff not json at all",
        b'{"format": 1, "key": "',  # cut mid-write
        b"[1, 2, 3]",
        b'{"format": 999}',
    ],
    ids=["garbage", "truncated", "foreign-json", "other-format"],
)
def test_a_damaged_entry_is_ignored_and_rewritten(tmp_path: Path, damage: bytes) -> None:
    root = _project(tmp_path / "proj")
    expected = _review(root, tmp_path / "cache").findings
    (entry,) = (tmp_path / "cache").glob("v*/*.json")
    entry.write_bytes(damage)
    again = _review(root, tmp_path / "cache")
    assert not again.from_cache and again.findings == expected
    assert json.loads(entry.read_bytes())["format"] == cache_module.FORMAT  # rebuilt
    assert _review(root, tmp_path / "cache").from_cache


def test_an_entry_with_the_right_key_but_wrong_types_is_ignored(tmp_path: Path) -> None:
    root = _project(tmp_path / "proj")
    expected = _review(root, tmp_path / "cache").findings
    (entry,) = (tmp_path / "cache").glob("v*/*.json")
    data = json.loads(entry.read_text(encoding="utf-8"))
    path = next(iter(data["findings"]))
    data["findings"][path][0]["loc"] = ["one", 2, 3, 4]
    entry.write_text(json.dumps(data), encoding="utf-8")
    again = _review(root, tmp_path / "cache")
    assert not again.from_cache and again.findings == expected


def test_a_cache_that_cannot_be_written_is_ignored(tmp_path: Path) -> None:
    """A file where the folder should be: mkdir fails whoever runs the test
    (permissions would not stop root, which CI runs as)."""
    root = _project(tmp_path / "proj")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    first = _review(root, blocker)
    second = _review(root, blocker)
    assert first.findings == second.findings and not second.from_cache
    assert blocker.read_text(encoding="utf-8") == ""


def test_the_folder_ignores_itself_and_is_tagged(tmp_path: Path) -> None:
    root = _project(tmp_path / "proj")
    _review(root, tmp_path / "cache")
    assert (tmp_path / "cache" / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    assert (tmp_path / "cache" / "CACHEDIR.TAG").read_text(encoding="utf-8").startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert not list((tmp_path / "cache").glob("v*/.tmp-*"))


def test_a_result_with_an_internal_error_is_not_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "proj")
    real = engine.run_review

    def crashing(inputs: list[engine.InputFile], config: Config) -> engine.ReviewResult:
        result = real(inputs, config)
        crash = engine._tool_finding(INTERNAL_ERROR, "app/main.py", "internal error in rule FX999 (x): boom")
        result.findings = [*result.findings, crash]
        return result

    monkeypatch.setattr(engine, "run_review", crashing)
    _review(root, tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("v*/*.json"))


def test_the_oldest_scopes_are_pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "MAX_SCOPES", 2)
    root = _project(tmp_path / "proj")
    for ignored in ("FX201", "FX202", "FX203"):
        _review(root, tmp_path / "cache", Config(root=root, ignore=(ignored,)))
    assert len(list((tmp_path / "cache").glob("v*/*.json"))) == 2


def test_unreadable_files_are_part_of_the_scope(tmp_path: Path) -> None:
    root = _project(tmp_path / "proj")
    (root / "app" / "broken.py").write_bytes(b"x = '\xff'\n")
    first = _review(root, tmp_path / "cache")
    second = _review(root, tmp_path / "cache")
    assert second.from_cache and second.findings == first.findings
    assert any(f.code == "FX001" and f.path.endswith("broken.py") for f in second.findings)
    (root / "app" / "broken.py").write_text("x = 1\n", encoding="utf-8")
    assert not any(f.code == "FX001" for f in _review(root, tmp_path / "cache").findings)


# -- the command line ---------------------------------------------------------


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().out


def test_cli_second_run_says_it_came_from_the_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "proj")
    monkeypatch.chdir(root)
    folder = tmp_path / "cli-cache"
    first_code, first = _cli(["review", "--isolated", "--no-source", "--color", "never", "--cache-dir", str(folder), "app"], capsys)
    second_code, second = _cli(["review", "--isolated", "--no-source", "--color", "never", "--cache-dir", str(folder), "app"], capsys)
    assert first_code == second_code == 1
    assert "from the cache" not in first and "from the cache" in second
    assert first.split("\nFound")[0] == second.split("\nFound")[0]  # the same findings, in the same order


def test_cli_no_cache_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "proj")
    monkeypatch.chdir(root)
    folder = tmp_path / "env-cache"
    monkeypatch.setenv(CACHE_DIR_ENV, str(folder))
    _cli(["review", "--isolated", "--no-cache", "app"], capsys)
    assert not folder.exists()
    _cli(["review", "--isolated", "app"], capsys)  # the environment variable names the folder
    assert list(folder.glob("v*/*.json"))


def test_cli_json_summary_tells_where_the_result_came_from(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "proj")
    monkeypatch.chdir(root)
    runs = [json.loads(_cli(["review", "--isolated", "--format", "json", "app"], capsys)[1]) for _ in range(2)]
    assert [r["summary"]["from_cache"] for r in runs] == [False, True]
    assert runs[0]["findings"] == runs[1]["findings"]


def test_default_folder_is_beside_the_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CACHE_DIR_ENV)
    assert cache_module.default_cache_dir(Config(root=tmp_path)) == tmp_path / ".fastapi_expert_cache"


def test_reviews_running_at_once_leave_a_readable_entry(tmp_path: Path) -> None:
    """Six processes review the same tree at the same time, all writing the
    same entry: every one succeeds, and what is left loads as a cache hit."""
    root = _project(tmp_path / "proj")
    folder = tmp_path / "shared-cache"
    env = {**os.environ, CACHE_DIR_ENV: str(folder)}
    command = [sys.executable, "-m", "fastapi_expert", "review", "--isolated", "--format", "json", "app"]
    procs = [subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(6)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [1] * 6, [err.decode() for _, err in outputs]
    findings = {json.dumps(json.loads(out)["findings"]) for out, _ in outputs}
    assert len(findings) == 1
    entries = list(folder.glob("v*/*.json"))
    assert len(entries) == 1 and not list(folder.glob("v*/.tmp-*"))
    last = subprocess.run(command, cwd=root, env=env, capture_output=True, check=False)
    assert json.loads(last.stdout)["summary"]["from_cache"] is True


def test_stored_findings_round_trip_exactly(tmp_path: Path) -> None:
    """Fix edits (with multi-line content), applicability and chains survive."""
    source = textwrap.dedent(
        """\
        import time

        from fastapi import FastAPI

        app = FastAPI(debug=True)


        @app.get("/")
        async def root() -> dict[str, str]:
            time.sleep(1)
            return {}
        """
    )
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text(source, encoding="utf-8")
    first = _review(root, tmp_path / "cache")
    second = _review(root, tmp_path / "cache")
    assert second.from_cache
    assert [f.to_dict() for f in second.findings] == [f.to_dict() for f in first.findings]
    assert {f.code for f in second.findings if f.fix is not None} >= {"FX201", "FX413"}
    assert all(isinstance(f, Finding) for f in second.findings)

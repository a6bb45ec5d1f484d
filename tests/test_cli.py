"""The command line: exit codes, the JSON contract, configuration, colour, stdin."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fastapi_expert.cli import main

SLEEPY = "import time\n\nasync def f():\n    time.sleep(1)\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text(SLEEPY)
    (tmp_path / "app" / "clean.py").write_text("x = 1\n")
    return tmp_path


def test_exit_codes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "app/clean.py"]) == 0
    assert main(["review"]) == 1
    assert main(["review", "--exit-zero"]) == 0
    assert main(["review", "--fail-on", "error"]) == 1
    assert main(["review", "--ignore", "FX201"]) == 0
    assert main(["review", "does-not-exist"]) == 2
    assert main(["review", "--select", "FX9"]) == 2
    assert main(["review", "--jobs", "0"]) == 2
    err = capsys.readouterr().err
    assert "no such file or directory: does-not-exist" in err
    assert "'--select' names 'FX9', which matches no rule" in err
    assert "--jobs takes a whole number of at least 1" in err


def test_json_contract(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["version"] == 1
    (finding,) = doc["findings"]
    assert set(finding) >= {"code", "name", "severity", "path", "line", "column", "end_line", "end_column", "message", "fix"}
    assert finding["path"] == "app/main.py"
    assert (finding["line"], finding["column"], finding["end_line"], finding["end_column"]) == (4, 5, 4, 18)
    assert finding["fix"]["applicability"] == "safe"
    assert doc["summary"]["files"] == 2 and doc["summary"]["findings"] == 1


def test_text_output_plain_when_not_a_terminal(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["review"])
    out = capsys.readouterr().out
    assert "\x1b[" not in out
    assert "app/main.py" in out and "4:5" in out and "FX201" in out
    assert "    time.sleep(1)" in out and "^^^^^^^^^^^^^" in out
    assert "Found 1 finding (1 error, 0 warning, 0 info) in 2 files" in out


def test_colour_always_and_no_color(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    main(["review", "--color", "always"])
    assert "\x1b[" in capsys.readouterr().out
    monkeypatch.setenv("NO_COLOR", "1")
    main(["review", "--color", "auto"])
    assert "\x1b[" not in capsys.readouterr().out


def test_pyproject_configuration(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text('[tool.fastapi-expert]\nignore = ["FX201"]\n')
    assert main(["review"]) == 0
    (project / "pyproject.toml").write_text('[tool.fastapi-expert]\nper-file-ignores = {"app/main.py" = ["FX2"]}\n')
    assert main(["review"]) == 0
    (project / "pyproject.toml").write_text('[tool.fastapi-expert]\nexclude = ["app"]\n')
    assert main(["review"]) == 0


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ('ignor = ["FX201"]', "unknown key 'ignor'"),
        ('ignore = "FX201"', "key 'ignore' must be a list of strings"),
        ('select = ["FX9"]', "'select' names 'FX9'"),
        ("per-file-ignores = 3", "key 'per-file-ignores' must be a table"),
    ],
)
def test_bad_configuration_is_exit_2_naming_the_key(project: Path, capsys: pytest.CaptureFixture[str], table: str, needle: str) -> None:
    (project / "pyproject.toml").write_text(f"[tool.fastapi-expert]\n{table}\n")
    assert main(["review"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_broken_toml_is_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text("[tool.fastapi-expert\n")
    assert main(["review"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_stdin(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(SLEEPY))
    assert main(["review", "-", "--stdin-filename", "app/editor.py", "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["findings"][0]["path"] == "app/editor.py"


def test_fix_and_diff(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "--diff"]) == 1
    diff = capsys.readouterr().out
    assert "-    time.sleep(1)" in diff and "+    await asyncio.sleep(1)" in diff
    assert (project / "app" / "main.py").read_text() == SLEEPY  # --diff writes nothing
    assert main(["review", "--fix"]) == 0
    fixed = (project / "app" / "main.py").read_text()
    assert "await asyncio.sleep(1)" in fixed and "import asyncio" in fixed
    assert main(["review", "--fix"]) == 0
    assert (project / "app" / "main.py").read_text() == fixed  # idempotent


def test_a_report_that_cannot_be_written_is_exit_2_not_a_traceback(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Python's own status for an uncaught exception is 1, which CI reads as "findings".
    for target in ("missing-dir/report.sarif", "app"):  # no such folder; a folder
        assert main(["review", "--format", "sarif", "--output-file", target]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"fastapi-expert: error: cannot write the report to {target}: "), err
        assert "Traceback" not in err and err.count("\n") == 1


def test_an_audit_report_that_cannot_be_written_is_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("fastapi", reason="the audit imports the app, which needs FastAPI")
    (project / "webapp.py").write_text("from fastapi import FastAPI\n\napp = FastAPI()\n")
    assert main(["audit", "webapp:app", "--app-dir", str(project), "--no-probe", "-o", "missing-dir/audit.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fastapi-expert: error: cannot write the report to missing-dir/audit.json: "), err


def test_fixed_files_that_cannot_be_written_are_named_and_the_others_written(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "app" / "other.py").write_text(SLEEPY)
    real = Path.write_bytes

    def refuse_main(self: Path, data: bytes) -> int:
        if self.name == "main.py":  # root ignores file modes: refuse it here instead
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", refuse_main)
    assert main(["review", "--fix"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "fastapi-expert: error: fixed but not written: app/main.py (Permission denied); 1 other fixed file was written\n"
    )
    assert captured.out == ""  # no report of fixes that did not land
    assert (project / "app" / "main.py").read_text() == SLEEPY
    assert "await asyncio.sleep(1)" in (project / "app" / "other.py").read_text()


def test_rules_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "json"]) == 0
    rules = json.loads(capsys.readouterr().out)["rules"]
    assert {"code", "name", "area", "severity", "fixable", "summary"} <= set(rules[0])
    assert main(["explain", "FX201"]) == 0
    out = capsys.readouterr().out
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## References"):
        assert section in out
    assert main(["explain", "blocking-sleep-in-async"]) == 0
    capsys.readouterr()
    assert main(["explain", "FX999"]) == 2


def test_module_entry_point_and_version() -> None:
    out = subprocess.run([sys.executable, "-m", "fastapi_expert", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("fastapi-expert ")


def test_configuration_may_name_audit_codes(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.fastapi-expert]\nignore = ["FX112", "FX201"]\n')
    assert main(["review"]) == 0


def test_newer_syntax_notice_does_not_fail_the_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sys as _sys

    if _sys.version_info >= (3, 12):
        pytest.skip("this interpreter reads PEP 695 natively, so FX003 is not emitted")
    (project / "app" / "clean.py").write_text("type UserId = int\n")
    (project / "app" / "main.py").write_text("x = 1\n")
    assert main(["review"]) == 0
    assert "FX003" in capsys.readouterr().out

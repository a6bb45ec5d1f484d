"""Bad input: exit 2 with one clear line, a traceback only with --verbose."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import pytest

from fastapi_expert.cli import main

_names = itertools.count()


def write_module(tmp_path: Path, source: str) -> str:
    """A module with a name no other test uses (sys.modules outlives a test)."""
    name = f"audit_bad_input_{next(_names)}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return name


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["audit", *args, "--app-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_imports: None) -> None:
    monkeypatch.chdir(tmp_path)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_module_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(tmp_path, capsys, "no_such_module_here:app")
    assert code == 2 and out == ""
    assert "could not import module 'no_such_module_here'" in one_line(err)


def test_target_without_attribute(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(tmp_path, capsys, "just_a_module")
    assert code == 2 and "MODULE:ATTRIBUTE" in one_line(err)


def test_module_whose_import_raises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write_module(tmp_path, 'raise RuntimeError("DATABASE_URL is not set")\n')
    code, _, err = run(tmp_path, capsys, f"{name}:app")
    assert code == 2
    assert one_line(err).endswith("RuntimeError: DATABASE_URL is not set")


def test_module_importing_a_missing_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write_module(tmp_path, "import package_that_is_not_installed\n")
    code, _, err = run(tmp_path, capsys, f"{name}:app")
    assert code == 2 and "No module named 'package_that_is_not_installed'" in one_line(err)


def test_verbose_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write_module(tmp_path, 'raise RuntimeError("boom")\n')
    code, _, err = run(tmp_path, capsys, f"{name}:app", "--verbose")
    assert code == 2 and "Traceback" in err and err.strip().endswith("RuntimeError: boom")


def test_missing_attribute(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write_module(tmp_path, "from fastapi import FastAPI\napp = FastAPI()\n")
    code, _, err = run(tmp_path, capsys, f"{name}:application")
    assert code == 2 and f"module '{name}' has no attribute 'application'" in one_line(err)


def test_attribute_that_is_not_an_asgi_app(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write_module(tmp_path, "app = 42\n")
    code, _, err = run(tmp_path, capsys, f"{name}:app")
    assert code == 2 and "is not an ASGI application (it is int)" in one_line(err)


def test_asgi_app_that_is_not_fastapi(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write_module(tmp_path, "from starlette.applications import Starlette\napp = Starlette()\n")
    code, _, err = run(tmp_path, capsys, f"{name}:app")
    assert code == 2 and "not FastAPI (Starlette)" in one_line(err)


def test_factory_without_the_flag_and_a_failing_factory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write_module(
        tmp_path,
        """
        from fastapi import FastAPI

        def create_app() -> FastAPI:
            return FastAPI()

        def broken_factory() -> FastAPI:
            raise ValueError("unsafe production settings")
        """,
    )
    code, _, err = run(tmp_path, capsys, f"{name}:create_app")
    assert code == 2 and "add --factory" in one_line(err)
    code, _, err = run(tmp_path, capsys, f"{name}:broken_factory", "--factory")
    assert code == 2 and one_line(err).endswith("ValueError: unsafe production settings")
    code, out, err = run(tmp_path, capsys, f"{name}:create_app", "--factory", "--routes")
    assert code == 0 and "/openapi.json" in out


LIFESPAN_APP = """
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI


@asynccontextmanager
async def failing(app):
    raise ConnectionError("cannot reach the database at db:5432")
    yield


@asynccontextmanager
async def hanging(app):
    await anyio.sleep(60)
    yield


app = FastAPI(lifespan=failing)
slow = FastAPI(lifespan=hanging)
"""


def test_lifespan_that_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write_module(tmp_path, LIFESPAN_APP)
    code, _, err = run(tmp_path, capsys, f"{name}:app")
    assert code == 2
    assert "lifespan startup failed" in one_line(err) and "cannot reach the database at db:5432" in err
    code, _, err = run(tmp_path, capsys, f"{name}:app", "--no-probe")  # no lifespan without probes
    assert code in {0, 1} and err == ""


def test_lifespan_that_hangs_is_cut_by_the_timeout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write_module(tmp_path, LIFESPAN_APP)
    code, _, err = run(tmp_path, capsys, f"{name}:slow", "--timeout", "0.3")
    assert code == 2 and "did not finish within 0.3 s" in one_line(err)


def test_app_printing_at_import_keeps_stdout_for_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    name = write_module(tmp_path, 'from fastapi import FastAPI\nprint("hello from the app")\napp = FastAPI()\n')
    code, out, err = run(tmp_path, capsys, f"{name}:app", "--format", "json")
    assert json.loads(out)["version"] == 1 and "hello from the app" in err and code in {0, 1}


HOSTILE_MOUNTS = """
from fastapi import FastAPI


class Hostile:
    def __getattribute__(self, name):
        raise RuntimeError(f"no attribute access ({name})")

    async def __call__(self, scope, receive, send):
        raise AssertionError("the audit must not call it")


hostile = Hostile()  # at module level too: the module scans must not touch it
app = FastAPI()
app.mount("/hostile", hostile)
app.mount("/loop", app)


@app.post("/items", summary="Create")
def create() -> dict[str, int]:
    return {}
"""


def test_a_hostile_mount_and_a_cyclic_one_are_audited_as_opaque(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    name = write_module(tmp_path, HOSTILE_MOUNTS)
    code, out, err = run(tmp_path, capsys, f"{name}:app", "--format", "json", "--timeout", "1")
    assert code in {0, 1} and err == "", err
    mounts = {r["path"]: (r["mounted_app"], r["entered"]) for r in json.loads(out)["routes"] if r["kind"] == "mount"}
    assert mounts == {"/hostile": ("Hostile", False), "/loop": ("FastAPI", False)}

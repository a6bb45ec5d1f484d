from __future__ import annotations

import ast

from fastapi_expert.review.model.module import ModuleInfo, own_nodes
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.testing._tests import visible_conftests

_ATTR = "dependency_overrides"


def _is_overrides(expr: ast.expr) -> bool:
    """`<anything>.dependency_overrides`."""
    return isinstance(expr, ast.Attribute) and expr.attr == _ATTR


def _is_empty_dict(expr: ast.expr) -> bool:
    if isinstance(expr, ast.Dict):
        return not expr.keys
    return isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "dict" and not expr.args and not expr.keywords


def _sets_override(node: ast.AST) -> bool:
    """`x.dependency_overrides[dep] = fake`, `x.dependency_overrides = {dep: fake}`,
    `x.dependency_overrides.update(...)` / `.setdefault(...)`."""
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Subscript) and _is_overrides(target.value):
                return True
            if _is_overrides(target) and isinstance(node.value, ast.Dict) and node.value.keys:
                return True
        return False
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in {"update", "setdefault"} and _is_overrides(node.func.value)
    return False


def _resets_overrides(node: ast.AST) -> bool:
    """`.dependency_overrides.clear()` / `.pop(...)`, `del ...dependency_overrides[k]`,
    or assigning the attribute anything but a non-empty dict literal (`= {}`, `= saved`)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in {"clear", "pop", "popitem"} and _is_overrides(node.func.value)
    if isinstance(node, ast.Delete):
        return any(
            (isinstance(t, ast.Subscript) and _is_overrides(t.value)) or _is_overrides(t) for t in node.targets
        )
    if isinstance(node, ast.Assign):
        return any(_is_overrides(t) for t in node.targets) and not (
            isinstance(node.value, ast.Dict) and node.value.keys
        )
    return False


def _sets_in_function(body: ast.AST) -> ast.AST | None:
    """The first statement or call of a function's own body that sets an override."""
    found = [n for n in own_nodes(body) if _sets_override(n)]
    return min(found, key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)), default=None)


class DependencyOverridesNotCleared(Rule):
    """Flags `app.dependency_overrides[...] = ...` in tests that nothing resets.

    ## What it does
    In test modules, finds a test function, fixture or helper that sets an entry of
    `<app>.dependency_overrides` (by item assignment, `.update(...)` or assigning a
    non-empty dict) when neither that module nor a `conftest.py` above it ever resets
    the overrides: no `.dependency_overrides.clear()`, `.pop(...)`,
    `del ...dependency_overrides[...]` or `... .dependency_overrides = {}`.
    Module-level overrides (applied for the whole session on purpose) are not
    reported.

    ## Why is this bad?
    `dependency_overrides` is a plain dict on the application object, which lives
    for the whole test session. An override set in one test stays active for every
    test that runs after it, in any module: a test that expects the real database,
    the real settings or a real authentication check silently gets the fake, and
    results depend on test order. FastAPI's guide resets it with
    `app.dependency_overrides = {}`; a fixture that yields and then clears keeps
    each override scoped to the tests that asked for it.

    ## References
    - https://fastapi.tiangolo.com/advanced/testing-dependencies/
    - https://docs.pytest.org/en/stable/how-to/fixtures.html#teardown-cleanup-aka-fixture-finalization
    """

    code = "FX602"
    name = "dependency-overrides-not-cleared"
    summary = "A test sets `app.dependency_overrides[...]` and nothing ever clears it."

    valid = (
        Valid(
            """
            import pytest
            from fastapi.testclient import TestClient

            from app.main import app, get_current_user


            @pytest.fixture
            def client():
                app.dependency_overrides[get_current_user] = lambda: {"id": 1, "name": "alice"}
                with TestClient(app) as c:
                    yield c
                app.dependency_overrides.clear()


            def test_me(client):
                assert client.get("/me").json()["name"] == "alice"
            """,
            filename="tests/test_users.py",
            files={
                "app/main.py": """
from fastapi import Depends, FastAPI

app = FastAPI()


def get_current_user():
    raise NotImplementedError


@app.get("/me")
def me(user: dict = Depends(get_current_user)):
    return user
""",
            },
        ),
        Valid(
            """
            from fastapi.testclient import TestClient

            from app.main import app, get_settings


            def test_maintenance_mode():
                app.dependency_overrides[get_settings] = lambda: {"maintenance": True}
                with TestClient(app) as client:
                    assert client.get("/status").status_code == 503
            """,
            filename="tests/api/test_status.py",
            files={
                "tests/conftest.py": """
import pytest

from app.main import app


@pytest.fixture(autouse=True)
def reset_overrides():
    yield
    app.dependency_overrides = {}
""",
                "app/main.py": """
from fastapi import Depends, FastAPI, HTTPException

app = FastAPI()


def get_settings():
    return {"maintenance": False}


@app.get("/status")
def status_(settings: dict = Depends(get_settings)):
    if settings["maintenance"]:
        raise HTTPException(503)
    return {"ok": True}
""",
            },
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi.testclient import TestClient

            from app.main import app, get_db


            class FakeDB:
                def get_user(self, user_id):
                    return {"id": user_id}


            def test_read_user():
                app.dependency_overrides[get_db] = FakeDB
                with TestClient(app) as client:
                    assert client.get("/users/1").json() == {"id": 1}


            def test_read_missing_user():
                # runs with FakeDB too, whether it wants to or not
                with TestClient(app) as client:
                    assert client.get("/users/999").status_code == 404
            """,
            lines=(12,),
            filename="tests/test_users.py",
            files={
                "app/main.py": """
from fastapi import Depends, FastAPI

app = FastAPI()


def get_db():
    raise RuntimeError("no database in this example")


@app.get("/users/{user_id}")
def read_user(user_id: int, db=Depends(get_db)):
    return db.get_user(user_id)
""",
            },
        ),
        Invalid(
            """
            import pytest
            from httpx import ASGITransport, AsyncClient

            from app.main import app, get_current_user, get_settings


            @pytest.fixture
            async def admin_client():
                app.dependency_overrides.update(
                    {get_current_user: lambda: {"id": 1, "role": "admin"}}
                )
                async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c:
                    yield c


            @pytest.fixture
            def debug_settings():
                app.dependency_overrides[get_settings] = lambda: {"debug": True}
            """,
            lines=(9, 18),
            filename="tests/test_admin.py",
            files={
                "app/main.py": """
from fastapi import Depends, FastAPI

app = FastAPI()


def get_current_user():
    raise NotImplementedError


def get_settings():
    return {"debug": False}
""",
            },
        ),
    )

    def __init__(self) -> None:
        self._resets: dict[str, bool] = {}

    def _module_resets(self, module: ModuleInfo) -> bool:
        cached = self._resets.get(module.path)
        if cached is None:
            cached = any(_resets_overrides(n) for n in ast.walk(module.tree))
            self._resets[module.path] = cached
        return cached

    def check_file(self, ctx: FileContext) -> None:
        module = ctx.module
        if not module.is_test or _ATTR not in ctx.source.text:
            return
        if self._module_resets(module):
            return
        if any(self._module_resets(c) for c in visible_conftests(ctx.project, module)):
            return
        for func in module.all_functions:
            found = _sets_in_function(func.node)
            if found is None:
                continue
            ctx.report(
                found,
                f"`{func.name}` sets `dependency_overrides` and nothing in this module or its "
                "conftest ever resets them, so the override leaks into every later test; clear "
                "it after use (`yield` then `app.dependency_overrides.clear()` in a fixture).",
            )

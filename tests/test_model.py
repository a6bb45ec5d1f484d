"""The semantic model on its own: names, FastAPI structure, dependencies, calls."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from fastapi_expert.review.engine import review_sources
from fastapi_expert.review.model.module import build_module
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.source import SourceFile, parse_source


def project(files: dict[str, str]) -> Project:
    from pathlib import Path

    from fastapi_expert.review.discovery import module_name

    packages = {Path(p).parent for p in files if p.endswith("__init__.py")}
    modules = []
    for path, raw in files.items():
        text = textwrap.dedent(raw)
        tree = parse_source(text, path)
        modules.append(build_module(SourceFile(path, text, tree), module_name(Path(path), Path("."), packages)))
    return Project(modules)


def test_import_aliases_resolve() -> None:
    p = project(
        {
            "main.py": """
            import fastapi as f
            from fastapi import APIRouter as R
            from time import sleep as nap
            import os.path
            app = f.FastAPI()
            r = R()
            """
        }
    )
    m = p.by_name["main"]
    assert m.imports == {"f": "fastapi", "R": "fastapi.APIRouter", "nap": "time.sleep", "os": "os"}
    assert {o.kind for o in p.fastapi.objects.values()} == {"app", "router"}


def test_an_import_inside_a_function_binds_like_a_module_level_one_unless_the_top_rebinds_it() -> None:
    # `import shutil` kept inside a function (to keep start-up light) still names the
    # module its calls use; a module-level binding of the same name wins.
    p = project(
        {
            "main.py": """
            import json as shutil_like

            async def cleanup(path):
                import shutil
                import os.path as osp
                import xml.etree.ElementTree
                shutil.rmtree(path)

            def other():
                import json
            """
        }
    )
    m = p.by_name["main"]
    assert m.imports == {
        "shutil_like": "json",
        "shutil": "shutil",
        "osp": "os.path",
        "xml": "xml",
        "json": "json",
    }
    cleanup = p.lookup("main.cleanup")
    assert cleanup is not None and not isinstance(cleanup, tuple)
    call = next(n for n in ast.walk(cleanup.node) if isinstance(n, ast.Call))
    assert p.resolve(m, call.func) == "shutil.rmtree"


def test_relative_imports_between_project_modules() -> None:
    p = project(
        {
            "pkg/__init__.py": "",
            "pkg/api/__init__.py": "",
            "pkg/api/users.py": "from ..services import helper\nfrom . import deps\n",
            "pkg/services.py": "def helper():\n    return 1\n",
            "pkg/api/deps.py": "",
        }
    )
    users = p.by_name["pkg.api.users"]
    assert users.imports["helper"] == "pkg.services.helper"
    assert users.imports["deps"] == "pkg.api.deps"
    assert p.canonical("pkg.api.users.helper") == "pkg.services.helper"


def test_include_router_prefixes_across_modules_and_factory() -> None:
    p = project(
        {
            "app/__init__.py": "",
            "app/routers/__init__.py": "",
            "app/routers/items.py": """
            from fastapi import APIRouter
            router = APIRouter(prefix="/items")

            @router.get("/{item_id}")
            async def read_item(item_id: int): ...

            @router.api_route("/bulk", methods=["PUT", "PATCH"])
            def bulk(): ...

            @router.websocket("/ws")
            async def ws(websocket): ...
            """,
            "app/main.py": """
            from fastapi import FastAPI, APIRouter
            from app.routers import items
            from app.routers.items import router as items_router

            def create_app() -> FastAPI:
                app = FastAPI()
                api = APIRouter(prefix="/api")
                api.include_router(items.router, prefix="/v1")
                app.include_router(api)

                def health(): ...

                app.add_api_route("/health", health, methods=["GET"])
                return app
            """,
        }
    )
    routes = {(r.methods, tuple(r.full_paths), r.is_websocket) for r in p.fastapi.routes}
    assert ((("GET",), ("/api/v1/items/{item_id}",), False)) in routes
    assert ((("PUT", "PATCH"), ("/api/v1/items/bulk",), False)) in routes
    assert (((), ("/api/v1/items/ws",), True)) in routes
    assert ((("GET",), ("/health",), False)) in routes


def test_dependencies_through_annotated_alias_and_router_level() -> None:
    p = project(
        {
            "app/__init__.py": "",
            "app/deps.py": """
            from typing import Annotated
            from fastapi import Depends, Security
            from fastapi.security import OAuth2PasswordBearer
            from sqlalchemy.ext.asyncio import AsyncSession

            oauth2 = OAuth2PasswordBearer(tokenUrl="token")

            async def get_session():
                yield None

            async def current_user(token: Annotated[str, Depends(oauth2)], session: "SessionDep"):
                return token

            SessionDep = Annotated[AsyncSession, Depends(get_session)]
            UserDep = Annotated[dict, Security(current_user, scopes=["me"])]

            def audit(): ...
            """,
            "app/main.py": """
            from fastapi import FastAPI, APIRouter, Depends
            from app.deps import SessionDep, UserDep, audit

            router = APIRouter(dependencies=[Depends(audit)])
            app = FastAPI()

            @router.get("/me")
            async def me(session: SessionDep, user: UserDep): ...

            app.include_router(router)
            """,
        }
    )
    (route,) = p.fastapi.routes
    targets = [d.target for d in route.all_dependencies()]
    assert targets[0] == "app.deps.audit"
    assert "app.deps.get_session" in targets
    assert "app.deps.current_user" in targets
    assert "app.deps.oauth2" in targets
    user_dep = next(d for d in route.dependencies if d.target == "app.deps.current_user")
    assert user_dep.is_security and user_dep.scopes == ("me",)
    assert p.fastapi.is_security_dependency(user_dep)


def test_receiver_types_and_call_targets() -> None:
    p = project(
        {
            "svc.py": """
            import requests
            from sqlalchemy.orm import Session

            class Repo:
                def __init__(self, db: Session):
                    self.db = db
                def load(self):
                    return self.fetch()
                def fetch(self):
                    return 1

            def work(db: Session):
                s = requests.Session()
                s.get("x")
                db.execute("x")
                Repo(db).load()
                r = Repo(db)
                r.load()
            """
        }
    )
    work = p.by_name["svc"].functions["work"]
    targets = [site.target for site in p.calls.sites_of(work)]
    assert "requests.Session.get" in targets
    assert "sqlalchemy.orm.Session.execute" in targets
    assert "svc.Repo.load" in targets
    load = p.by_name["svc"].classes["Repo"].methods["load"]
    assert [s.target for s in p.calls.sites_of(load)] == ["svc.Repo.fetch"]


def test_runs_on_event_loop_and_thread_offload() -> None:
    p = project(
        {
            "m.py": """
            import asyncio
            import time
            from fastapi.concurrency import run_in_threadpool

            def inner():
                time.sleep(1)

            def middle():
                inner()

            def offloaded():
                time.sleep(1)

            def only_sync_caller():
                inner()

            async def route():
                middle()
                await run_in_threadpool(offloaded)
                await asyncio.to_thread(offloaded)
            """
        }
    )
    funcs = p.by_name["m"].functions
    calls = p.calls
    assert calls.runs_on_loop(funcs["route"])
    assert calls.runs_on_loop(funcs["middle"])
    assert calls.runs_on_loop(funcs["inner"])
    assert not calls.runs_on_loop(funcs["offloaded"])
    assert not calls.runs_on_loop(funcs["only_sync_caller"])
    path = calls.blocking_path(funcs["middle"])
    assert path is not None
    assert [s.target for s in path.steps] == ["m.inner", "time.sleep"]


def test_module_level_instances_and_statement_order() -> None:
    p = project(
        {
            "db.py": """
            from sqlalchemy import create_engine
            from sqlalchemy.orm import sessionmaker
            from passlib.context import CryptContext
            engine = create_engine("sqlite://")
            SessionLocal = sessionmaker(bind=engine)
            pwd_context = CryptContext(schemes=["bcrypt"])
            """,
            "svc.py": """
            from db import SessionLocal, pwd_context, engine
            import db

            def work():
                session = SessionLocal()
                session.execute("x")
                pwd_context.hash("pw")
                db.pwd_context.verify("a", "b")
                with engine.begin() as conn:
                    conn.execute("y")
            """,
        }
    )
    work = p.by_name["svc"].functions["work"]
    targets = [site.target for site in p.calls.sites_of(work)]
    assert "sqlalchemy.orm.Session.execute" in targets
    assert "passlib.context.CryptContext.hash" in targets
    assert "passlib.context.CryptContext.verify" in targets
    assert "sqlalchemy.engine.Connection.execute" in targets


def test_include_in_a_method_on_an_app_passed_as_parameter() -> None:
    p = project(
        {
            "app/__init__.py": "",
            "app/auth.py": """
            from fastapi import APIRouter, Depends
            from fastapi.security import HTTPBasic, HTTPBasicCredentials
            security = HTTPBasic()
            def http_basic_or_jwt_token(credentials: HTTPBasicCredentials = Depends(security)) -> str:
                return credentials.username
            """,
            "app/trading.py": """
            from fastapi import APIRouter
            router = APIRouter()
            @router.post("/locks")
            def add_locks() -> dict[str, str]:
                return {}
            """,
            "app/server.py": """
            from fastapi import Depends, FastAPI
            class ApiServer:
                def __init__(self) -> None:
                    self.app = FastAPI()
                    self.configure_app(self.app)
                    self.app.include_router(self.extra_router())
                def configure_app(self, app: FastAPI) -> None:
                    from app.auth import http_basic_or_jwt_token
                    from app.trading import router as api_trading
                    app.include_router(api_trading, prefix="/api/v1", dependencies=[Depends(http_basic_or_jwt_token)])
            """,
        }
    )
    (route,) = p.fastapi.routes
    assert route.full_paths == ["/api/v1/locks"]
    assert [d.target for d in route.dependencies] == ["app.auth.http_basic_or_jwt_token"]
    assert p.fastapi.is_security_dependency(route.dependencies[0])
    assert "app.server.ApiServer.<self.app>" in p.fastapi.objects


def test_a_project_module_named_like_a_library_does_not_capture_it() -> None:
    """`app/utils/time.py` defining `sleep` is not the standard library's `time`:
    `time.sleep()` in an `async def` is still the blocking call."""
    result = review_sources(
        {
            "app/__init__.py": "",
            "app/utils/__init__.py": "",
            "app/utils/time.py": "def sleep(seconds: float) -> None:\n    pass\n",
            "app/main.py": "import time\n\n\nasync def handler() -> None:\n    time.sleep(1)\n",
        }
    )
    assert [(f.code, f.path) for f in result.findings if f.code == "FX201"] == [("FX201", "app/main.py")]


def test_a_project_reviewed_from_above_its_import_root_still_resolves_across_modules() -> None:
    """Module names carry an extra prefix (`proj.app.services`) while the code
    imports `app.services`: a suffix that starts at a package still matches."""
    result = review_sources(
        {
            "proj/__init__.py": "",
            "proj/app/__init__.py": "",
            "proj/app/services.py": "import requests\n\n\ndef fetch() -> object:\n    return requests.get('https://x', timeout=5)\n",
            "proj/app/main.py": "from app.services import fetch\n\n\nasync def handler() -> object:\n    return fetch()\n",
        }
    )
    assert [(f.code, f.path) for f in result.findings if f.code == "FX210"] == [("FX210", "proj/app/main.py")]


_CYCLE = """
import requests

def a(flag):
    c()
    if flag:
        b()

def b():
    a(False)

def c():
    requests.get("https://x", timeout=1)
"""


def test_blocking_paths_do_not_depend_on_which_function_is_asked_first() -> None:
    """a -> b -> a is a cycle, a -> c blocks. Asking a first used to cut the cycle
    at a, settle "b does not block" for good, and then miss b -> a -> c."""
    for first, second in (("a", "b"), ("b", "a")):
        p = project({"app/__init__.py": "", "app/helpers.py": _CYCLE})
        helpers = p.by_name["app.helpers"]
        graph = p.calls
        answers = {name: graph.blocking_path(helpers.functions[name]) for name in (first, second)}
        assert {name: path is not None for name, path in answers.items()} == {"a": True, "b": True}, first
        path = answers["b"]
        assert path is not None and [s.caller.name for s in path.steps] == ["b", "a", "c"]


_NESTED_HANDLER = """
from fastapi import FastAPI

class Server:
    def configure(self, app: FastAPI):
        @app.on_event("startup")
        async def started():
            await self.warm_up()

    async def warm_up(self):
        return None
"""


def test_a_call_target_does_not_depend_on_the_function_it_was_first_asked_in() -> None:
    """A nested function's decorator belongs to two functions: it runs in the
    enclosing one (where `app` is typed) and is a node of the nested one (as its
    call sites, which the event-loop search resolves). The answer given in one
    used to be the answer for both, whichever asked first."""
    p = project({"app/__init__.py": "", "app/server.py": _NESTED_HANDLER})
    module = p.by_name["app.server"]
    configure = module.classes["Server"].methods["configure"]
    started = next(f for f in module.all_functions if f.name == "started")
    decorator = started.node.decorator_list[0]
    assert isinstance(decorator, ast.Call)
    _ = p.calls  # resolves the call sites of every async def, `started` included
    assert p.call_target(module, started, decorator) is None  # `app` is not typed in `started`
    assert p.call_target(module, configure, decorator) == "fastapi.FastAPI.on_event"
    assert p.call_target(module, started, decorator) is None


def test_a_nested_startup_handler_is_reported_whatever_resolved_it_first() -> None:
    # `jobs.py`, reviewed first, makes the rules build the call graph before the
    # walk reaches the decorator: the order in which the handler went unreported.
    jobs = """
    import time

    async def tick():
        pause()

    def pause():
        time.sleep(1)
    """
    result = review_sources(
        {"app/__init__.py": "", "app/jobs.py": textwrap.dedent(jobs), "app/server.py": textwrap.dedent(_NESTED_HANDLER)}
    )
    assert any(f.code == "FX210" for f in result.findings)  # the call graph was built
    assert [(f.code, f.location.line) for f in result.findings if f.code == "FX108"] == [("FX108", 6)]


def test_functions_reached_through_an_import_alias_or_a_constructor_run_on_the_loop() -> None:
    """The event-loop search skips calls whose written name is no project
    function's; an alias (`helper as tidy`), a re-export under another name and
    a class (its `__init__`) are still project functions."""
    p = project(
        {
            "app/__init__.py": "from app.util import compact as squeeze\n",
            "app/util.py": """
            def helper():
                return 1

            def compact():
                return 2

            class Worker:
                def __init__(self):
                    self.ready = True
            """,
            "app/main.py": """
            from app import squeeze, util
            from app.util import helper as tidy

            async def handler():
                tidy()
                squeeze()
                util.Worker()
            """,
        }
    )
    util = p.by_name["app.util"]
    graph = p.calls
    assert graph.runs_on_loop(util.functions["helper"])
    assert graph.runs_on_loop(util.functions["compact"])
    assert graph.runs_on_loop(util.classes["Worker"].methods["__init__"])


def test_a_module_spells_whole_identifiers_as_the_parser_reads_them() -> None:
    p = project(
        {
            "app/__init__.py": "",
            # `include_router` written with a fullwidth "i" (U+FF49): the parser reads `include_router`.
            "app/main.py": 'domain = "x"  # the main thing\napp.\uff49nclude_router(router)\n',
        }
    )
    module = p.by_name["app.main"]
    assert module.spells("domain") and module.spells("main")  # in code, and in a comment
    assert not module.spells("dom") and not module.spells("ain")  # never part of a longer name
    assert module.spells("include_router")  # normalised as the parser does
    assert not module.spells("mount")


def test_an_include_written_with_fullwidth_letters_still_includes_the_router() -> None:
    """FX114 reads only the files that spell `include_router`: through the same
    normalisation as the parser, so an include spelled with compatibility
    characters is not skipped."""
    files = {
        "app/__init__.py": "",
        "app/users.py": textwrap.dedent(
            """
            from fastapi import APIRouter

            router = APIRouter()

            @router.get("/users")
            def users() -> list[str]:
                return []
            """
        ),
        "app/main.py": "from fastapi import FastAPI\n\nfrom app.users import router\n\napp = FastAPI()\napp.\uff49nclude_router(router)\n",
    }
    assert [f.code for f in review_sources(files).findings if f.code == "FX114"] == []
    files["app/main.py"] = "from fastapi import FastAPI\n\nfrom app.users import router\n\napp = FastAPI()\n"
    assert [f.code for f in review_sources(files).findings if f.code == "FX114"] == ["FX114"]


def test_a_dependency_instance_is_called_with_its_call_signature() -> None:
    """FastAPI calls a class with its `__init__` signature and an instance with
    its `__call__` one: each has its own sub-dependencies."""
    p = project(
        {
            "app/__init__.py": "",
            "app/deps.py": """
            from fastapi import Depends

            def get_db(): ...
            def current_user(): ...
            def settings(): ...

            class RoleChecker:
                def __init__(self, role: str, config=Depends(settings)) -> None:
                    self.role = role

                def __call__(self, user=Depends(current_user)) -> None: ...

            class Repository:
                def __init__(self, db=Depends(get_db)) -> None: ...

                def __call__(self, user=Depends(current_user)) -> None: ...

            admin_only = RoleChecker("admin")
            """,
            "app/main.py": """
            from fastapi import Depends, FastAPI
            from app.deps import RoleChecker, Repository, admin_only

            app = FastAPI()

            @app.delete("/inline")
            def inline(_=Depends(RoleChecker("admin"))): ...

            @app.delete("/named")
            def named(_=Depends(admin_only)): ...

            @app.get("/class")
            def by_class(repo: Repository = Depends()): ...
            """,
        }
    )
    children = {
        route.path: [child.target for dep in route.dependencies for child in dep.children] for route in p.fastapi.routes
    }
    assert children == {
        "/inline": ["app.deps.current_user"],
        "/named": ["app.deps.current_user"],
        "/class": ["app.deps.get_db"],
    }


def test_a_router_a_factory_returns_gets_the_include_prefix() -> None:
    p = project(
        {
            "app/__init__.py": "",
            "app/items.py": """
            from fastapi import APIRouter, Depends

            def require_user(): ...

            def make_router(tag: str) -> APIRouter:
                router = APIRouter(tags=[tag])

                @router.get("/{item_id}")
                def read(item_id: int): ...

                return router

            def build_other():
                other = APIRouter()

                @other.post("")
                def create(): ...

                return other

            admin = build_other()
            """,
            "app/main.py": """
            from fastapi import Depends, FastAPI
            from app.items import admin, make_router, require_user

            app = FastAPI()
            app.include_router(make_router("items"), prefix="/items", dependencies=[Depends(require_user)])
            app.include_router(admin, prefix="/admin")
            """,
        }
    )
    paths = {route.endpoint.name: route.full_paths for route in p.fastapi.routes if route.endpoint}
    assert paths == {"read": ["/items/{item_id}"], "create": ["/admin"]}
    (read,) = (r for r in p.fastapi.routes if r.path == "/{item_id}")
    assert "app.items.require_user" in [d.target for d in read.all_dependencies()]


def test_routers_included_in_a_loop_get_each_turns_prefix() -> None:
    # `for r in [...]`, a module-level list of (module, prefix) pairs, and a list
    # built in the factory: each turn of the loop is one include.
    p = project(
        {
            "app/__init__.py": "",
            "app/items.py": """
            from fastapi import APIRouter
            router = APIRouter(prefix="/items")

            @router.delete("/{item_id}")
            def delete_item(item_id: int): ...
            """,
            "app/users.py": """
            from fastapi import APIRouter
            router = APIRouter(prefix="/users")

            @router.delete("/{user_id}")
            def delete_user(user_id: int): ...
            """,
            "app/main.py": """
            from fastapi import APIRouter, FastAPI
            from app import items, users

            VERSIONED = [(items, "/v1"), (users, "/v2")]

            def create_app() -> FastAPI:
                app = FastAPI()
                health = APIRouter()

                @health.get("/health")
                def health_check(): ...

                for module, prefix in VERSIONED:
                    app.include_router(module.router, prefix=prefix)
                for router in [items.router]:
                    app.include_router(router, prefix="/plain")
                extra = [health]
                for router in extra:
                    app.include_router(router, prefix="/ops")
                return app
            """,
        }
    )
    paths = {route.endpoint.name: sorted(route.full_paths) for route in p.fastapi.routes if route.endpoint}
    assert paths == {
        "delete_item": ["/plain/items/{item_id}", "/v1/items/{item_id}"],
        "delete_user": ["/v2/users/{user_id}"],
        "health_check": ["/ops/health"],
    }


def test_a_blocking_path_names_the_first_call_written_and_error_branches_last() -> None:
    p = project(
        {
            "app/store.py": """
            import json
            import os
            import tempfile

            def write_atomically(path: str, data: dict) -> None:
                fd, tmp = tempfile.mkstemp()
                try:
                    with os.fdopen(fd, "w") as handle:
                        json.dump(data, handle)
                    os.replace(tmp, path)
                except BaseException:
                    os.unlink(tmp)
                    raise

            def save(data: dict) -> None:
                write_atomically("state.json", data)
            """
        }
    )
    graph = p.calls
    path = graph.blocking_path(graph.by_qualname["app.store.save"])
    assert path is not None
    assert [step.target for step in path.steps] == ["app.store.write_atomically", "os.replace"]


def test_names_re_exported_by_star_imports_are_found() -> None:
    p = project(
        {
            "app/__init__.py": "",
            "app/errors/__init__.py": "from .domain import *\nfrom .http import *\n",
            "app/errors/domain.py": "from .base import *\n\nclass NotFound(AppError): ...\n\nclass _Internal(Exception): ...\n",
            "app/errors/base.py": "__all__ = ['AppError']\n\nclass AppError(Exception): ...\n\nclass Hidden(Exception): ...\n",
            "app/errors/http.py": "from app.errors import *\n",  # a cycle back to the package
        }
    )
    assert p.canonical("app.errors.NotFound") == "app.errors.domain.NotFound"
    assert p.canonical("app.errors.AppError") == "app.errors.base.AppError"
    # private names and names outside `__all__` stay behind; a cycle ends
    assert p.lookup("app.errors._Internal") is None
    assert p.lookup("app.errors.Hidden") is None
    assert p.lookup("app.errors.http.Missing") is None


def test_scope_nodes_of_is_scope_nodes_filtered_in_the_same_order() -> None:
    """The one-pass walk the FastAPI model collects with, checked against the plain
    walk on every scope of this package's own code (over a thousand scopes of every
    statement and expression kind the tool is written in)."""
    from pathlib import Path

    from fastapi_expert.review.model.module import scope_nodes, scope_nodes_of

    wanted = (ast.Assign, ast.AnnAssign, ast.For, ast.AsyncFor, ast.Call, ast.Name, ast.Lambda, ast.IfExp, ast.Dict)
    package = Path(__file__).resolve().parents[1] / "src" / "fastapi_expert"
    scopes = 0
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bodies = [tree.body] + [n.body for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
        for body in bodies:
            expected = [n for n in scope_nodes(body) if isinstance(n, wanted)]
            assert scope_nodes_of(body, wanted) == expected, path
            scopes += 1
    assert scopes > 1000


def test_a_client_attribute_typed_through_itself_does_not_recurse() -> None:
    # `self.a` is assigned from a chain on `self.a`: its type is asked while it is being
    # worked out. Unguarded, that recursed until every rule on the file crashed (FX002).
    from fastapi_expert.review.engine import review_sources

    source = textwrap.dedent(
        """
        import docker

        class Images:
            def __init__(self) -> None:
                self.a = self.a.images.get("base")
                self.b = docker.from_env()

            async def refresh(self) -> None:
                self.a.images.get("base")
                self.b.images.pull("base")
        """
    )
    found = [(f.code, f.location.line) for f in review_sources({"app/images.py": source}).findings]
    assert found == [("FX202", 11)]  # `self.b.images.pull`: `self.a` stays untyped


def test_a_router_re_exported_under_another_name_keeps_its_include() -> None:
    # A package `__init__` re-exports each module's `router` as `<x>_router`; the app
    # includes it under that name. The include (its prefix, its dependencies) must
    # reach the routes, as it does for a router re-exported under its own name.
    p = project(
        {
            "app/__init__.py": "",
            "app/v1/__init__.py": "from app.v1.audits import router as audits_router\n",
            "app/v1/audits.py": """
            from fastapi import APIRouter
            router = APIRouter()

            @router.get("/audits")
            def list_audits(): ...
            """,
            "app/main.py": """
            from fastapi import APIRouter, FastAPI
            from app.v1 import audits_router

            api = APIRouter(prefix="/api/v1")
            api.include_router(audits_router)
            app = FastAPI()
            app.include_router(api)
            """,
        }
    )
    assert [(i.parent, i.child) for i in p.fastapi.includes] == [
        ("app.main.api", "app.v1.audits.router"),
        ("app.main.app", "app.main.api"),
    ]
    assert [r.full_paths for r in p.fastapi.routes] == [["/api/v1/audits"]]


def test_a_folder_without_init_inside_a_package_is_part_of_the_module_name(tmp_path: Path) -> None:
    """`app/api/v1/users.py` with no `app/api/__init__.py` (a namespace portion
    between packages) is imported as `app.api.v1.users`: discovery names it so,
    and a blocking call behind that import is found from the route."""
    from fastapi_expert.config import Config
    from fastapi_expert.review.discovery import discover
    from fastapi_expert.review.engine import review_paths

    files = {
        "app/__init__.py": "",
        "app/api/v1/__init__.py": "",
        "app/api/v1/users.py": "import requests\n\n\ndef fetch() -> object:\n    return requests.get('https://x', timeout=5)\n",
        "app/main.py": "from app.api.v1.users import fetch\n\n\nasync def handler() -> object:\n    return fetch()\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    names = {f.display: f.module for f in discover([tmp_path], Config(), tmp_path)}
    assert names["app/api/v1/users.py"] == "app.api.v1.users"
    result = review_paths([tmp_path], Config(), cwd=tmp_path)
    assert [(f.code, f.path) for f in result.findings if f.code == "FX210"] == [("FX210", "app/main.py")]
    # The same tree given as sources (the editor and MCP path) names it the same way.
    found = review_sources(files).findings
    assert [(f.code, f.path) for f in found if f.code == "FX210"] == [("FX210", "app/main.py")]


def test_a_dependency_in_an_alias_of_an_alias_from_another_module_is_a_dependency() -> None:
    # `ScopeDep = Annotated[Scope, Depends(get_scope)]` wraps `Scope`, an alias written in
    # another module: `Depends` resolves where `ScopeDep` is written, not where `Scope` is.
    p = project(
        {
            "app/__init__.py": "",
            "app/types.py": "from typing import Any\n\nScope = dict[str, Any]\n",
            "app/deps.py": """
            from typing import Annotated

            from fastapi import Depends

            from app.types import Scope

            def get_scope() -> dict:
                return {}

            ScopeDep = Annotated[Scope, Depends(get_scope)]
            """,
            "app/main.py": """
            from fastapi import FastAPI

            from app.deps import ScopeDep

            app = FastAPI()

            @app.get("/models")
            def list_models(scope: ScopeDep) -> list[str]:
                return []
            """,
        }
    )
    (route,) = p.fastapi.routes
    assert [d.target for d in route.all_dependencies()] == ["app.deps.get_scope"]


def test_paths_and_prefixes_built_from_string_constants_are_read() -> None:
    # `APIRouter(prefix=API + VERSION_1 + ARTIFACTS)` and `@router.get(ITEM)`: the constants
    # are known before run time; a parameter or a setting is not.
    p = project(
        {
            "app/__init__.py": "",
            "app/constants.py": 'API = "/api"\nVERSION_1 = "/v1"\nARTIFACTS = "/artifacts"\nITEM = "/{artifact_id}"\n',
            "app/main.py": """
            from fastapi import APIRouter, FastAPI

            from app.constants import API, ARTIFACTS, ITEM, VERSION_1
            from app.settings import settings

            router = APIRouter(prefix=API + VERSION_1 + ARTIFACTS)

            @router.get(ITEM)
            def get_artifact(artifact_id: str): ...

            @router.get(f"{ITEM}/versions")
            def list_versions(artifact_id: str): ...

            other = APIRouter(prefix=settings.API_PREFIX)

            @other.get("/health")
            def health(): ...

            def make_router(prefix: str) -> APIRouter:
                PREFIX = prefix
                r = APIRouter(prefix=PREFIX)

                @r.get("/x")
                def x(): ...

                return r

            app = FastAPI()
            app.include_router(router)
            app.include_router(other)
            """,
            "app/settings.py": "class S:\n    API_PREFIX = '/s'\n\nsettings = S()\n",
        }
    )
    paths = {r.endpoint.name: r.full_paths for r in p.fastapi.routes if r.endpoint is not None}
    assert paths["get_artifact"] == ["/api/v1/artifacts/{artifact_id}"]
    assert paths["list_versions"] == ["/api/v1/artifacts/{artifact_id}/versions"]
    assert paths["health"] == ["/health"]  # the setting's value is not known: no prefix

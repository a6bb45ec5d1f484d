from __future__ import annotations

import ast

from fastapi_expert.review.model.callgraph import CallSite
from fastapi_expert.review.model.module import FunctionInfo
from fastapi_expert.review.model.once import once_per_process_calls, runs_once
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.concurrency._blocking import is_cli_command, kind_label
from fastapi_expert.types import ChainLink, Severity


def _name(site: CallSite) -> str:
    """The callee as the call writes it: `Connection()` for a constructor (the
    graph resolves it to `Connection.__init__`, a name not written anywhere at
    the call), `server.start()` for a method, so that each step can be found."""
    written = _written(site)
    if written is not None:
        return written
    return site.callee.name if site.callee is not None else (site.target or "?").rsplit(".", 1)[-1]


def _written(site: CallSite) -> str | None:
    text = site.caller.module.source.segment(site.node.func)
    if not text or "\n" in text or len(text) > 40:
        return None
    return text


def _caller(func: FunctionInfo) -> str:
    """`Tunnel.__init__` rather than `__init__`: the chain passes through the
    methods of several classes, often with the same name."""
    if func.class_name is not None and func.parent is None:
        return f"{func.class_name.rsplit('.', 1)[-1]}.{func.name}"
    return func.name


# The examples' plugin loader: once per process unless a caller asks to `reload`.
_PLUGINS = """
from importlib.metadata import entry_points

_plugins: dict[str, object] | None = None

def load_plugins(reload: bool = False) -> dict[str, object]:
    global _plugins
    if _plugins is not None and not reload:
        return _plugins
    loaded = {ep.name: ep.load() for ep in entry_points(group="app.plugins")}
    _plugins = loaded
    return loaded
"""


# The examples' secret reader: an environment variable, or a token file for a
# name under `file/`.
_SECRETS = """
import os

def get_secret(name: str) -> str | None:
    if name.startswith("os.environ/"):
        name = name.removeprefix("os.environ/")
    if name.startswith("file/"):
        with open(name.removeprefix("file"), encoding="utf-8") as token:
            return token.read().strip()
    return os.environ.get(name)

def get_secret_str(name: str) -> str:
    return get_secret(name) or ""
"""


class BlockingCallViaHelpers(Rule):
    """Flags an `async def` that calls a sync helper which, somewhere below, blocks.

    ## What it does
    Follows the project's call graph from every call an `async def` makes to a
    plain `def` of the project, through any number of sync helpers in any
    module, to a call that blocks (HTTP with `requests`, a sync database
    session, `time.sleep`, file or process I/O, CPU-heavy hashing). The finding
    sits on the call in the `async def`, where the fix goes, and carries the
    chain of calls down to the blocking one. Helpers handed to a thread
    (`run_in_threadpool`, `asyncio.to_thread`, `anyio.to_thread.run_sync`) are
    not followed: they do not run on the event loop. Command-line commands (an
    `async def` registered with Typer, Click/asyncclick or Cyclopts, also by
    import path with Cyclopts' lazy loading, or one
    that sync code runs with `asyncio.run(...)` and the project uses nowhere
    else, also one defined in the function that runs it, and any coroutine of
    a script: a module that ends in `if __name__ == "__main__":`, imports no
    web framework or server, and no other module imports) are not flagged:
    each runs alone on the loop made for it. Neither is
    a coroutine that only such commands await (directly or through other such
    coroutines, each use of its name an `await`, or its hand-over to
    `asyncio.run`/`anyio.run`): the command waits for it on that same loop.
    Nor is an app's lifespan (handed to `lifespan=`, `on_startup=`, or an
    `@app.on_event("startup")` handler, and their shutdown peers) or a
    coroutine only it awaits: the server runs it before it accepts the first
    connection and after the last has closed, so no request waits (loading the
    plug-ins or a first `ping` of Redis there is start-up work, like the loading
    of models FastAPI's documentation puts there). A command or lifespan that
    starts a task of its own is flagged: the task shares its loop. Nor is a
    plain function without parameters wrapped in `functools.cache` or
    `lru_cache`, nor what it calls: its body runs once per process, at the
    first call, and every later call answers from memory.
    Nor is a block that runs once per process: guarded by a flag that it sets,
    when the flag lives as long as the process (a `global`, also one a
    function of the module sets or fills; a class attribute; an attribute of
    `self` in a class whose `__new__` or metaclass hands out one shared
    instance), like a shared server's `if not self.running:` start, also
    when the test lets a caller ask for the block again through a parameter
    that defaults to `False` (`if _plugins is not None and not reload:
    return _plugins`): a call that leaves it off runs the block once, and a
    call that turns it on (`load_plugins(reload=True)`) is followed into it.
    Nor is a branch that cannot run for the string constant (or `None`) the
    call passes down or leaves as the default (`get_secret("OPENAI_API_KEY")`
    never takes the `if name.startswith("file/"):` that reads a token file),
    also through helpers that pass the parameter on as it is, unless the helper
    assigns it again, through a loop variable that walks a table of constants
    (when the branch is ruled out for each), and through a local variable that
    every assignment left standing sets to one constant (`module_file = None` when the `if config_file
    is not None:` that would set it otherwise is ruled out).
    A query of a file's metadata (`exists`, `is_file`, `is_dir`, `stat`,
    `getsize`) and the creation of a directory that is left alone when it exists
    (`exist_ok=True`, or under `if not d.exists():`) do not end a chain: each is
    one system call the kernel answers from its cache, cheaper than the thread
    hop that would move it off the loop (written in the `async def` itself they
    are FX204's). The helper's next call that reads or writes is named instead;
    and the check does count when the helper then hands the checked path to a
    library call that may load it (`if os.path.exists(f): nx.read_graphml(f)`).
    Nor does a read of `/proc` or `/sys`, which the kernel answers from memory.

    ## Why is this bad?
    A sync function called from a coroutine runs on the event loop. Every
    checker that looks at one function at a time misses this: the blocking call
    is in another file, in a function that is itself correct in a sync context.
    While it blocks, the worker serves no other request.

    ## References
    - https://fastapi.tiangolo.com/async/#path-operation-functions
    - https://www.starlette.io/threadpool/
    - https://anyio.readthedocs.io/en/stable/threads.html
    """

    code = "FX210"
    name = "blocking-call-via-helpers"
    summary = "An `async def` calls sync project code that blocks further down."
    severity = Severity.ERROR

    valid = (
        Valid(
            # The local API server is one per port (`__new__` hands out the kept
            # instance): its start, polled with `time.sleep`, runs once per process.
            """
            from fastapi import FastAPI
            from app.server import LocalServer

            app = FastAPI()

            @app.get("/runs")
            async def runs() -> dict[str, str]:
                server = LocalServer()
                server.start()
                return {"api": server.url}
            """,
            filename="app/main.py",
            files={
                "app/server.py": """
import subprocess
import time

class LocalServer:
    _instances: dict[int, "LocalServer"] = {}

    def __new__(cls, port: int = 4200) -> "LocalServer":
        if port not in cls._instances:
            cls._instances[port] = super().__new__(cls)
        return cls._instances[port]

    def __init__(self, port: int = 4200) -> None:
        if not hasattr(self, "running"):
            self.port = port
            self.running = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if not self.running:
            self.running = True
            subprocess.Popen(["uvicorn", "app.api:app", "--port", str(self.port)])
            time.sleep(0.5)
""",
            },
        ),
        Valid(
            """
            from fastapi import FastAPI
            from fastapi.concurrency import run_in_threadpool
            from app.services import load_report

            app = FastAPI()

            @app.get("/report")
            async def report():
                return await run_in_threadpool(load_report, 7)
            """,
            filename="app/main.py",
            files={
                "app/services.py": """
import requests

def load_report(report_id):
    return requests.get(f"https://reports.internal/{report_id}", timeout=5).json()
""",
            },
        ),
        Valid(
            """
            import requests
            from fastapi import FastAPI

            app = FastAPI()

            def fetch(url):
                return requests.get(url, timeout=5).text

            @app.get("/page")
            def page():  # sync route: FastAPI runs it in the threadpool
                return {"body": fetch("https://example.org")}
            """
        ),
        Valid(
            # A command of a CLI app: it is alone on the loop the CLI runs it on,
            # so waiting for a local server to come up delays nothing else.
            """
            import cyclopts
            from app.client import connect

            runs = cyclopts.App(name="runs")

            @runs.command
            async def cancel(run_id: str) -> None:
                async with connect() as client:
                    await client.post(f"/runs/{run_id}/cancel")
            """,
            filename="app/cli.py",
            files={
                "app/client.py": """
import time

import httpx

class LocalServer:
    def wait_ready(self) -> None:
        for _ in range(100):
            try:
                httpx.get("http://127.0.0.1:4200/health", timeout=1)
                return
            except httpx.ConnectError:
                time.sleep(0.1)

def connect() -> httpx.AsyncClient:
    LocalServer().wait_ready()
    return httpx.AsyncClient(base_url="http://127.0.0.1:4200")
""",
            },
        ),
        Valid(
            # An argparse command runs its coroutine with `asyncio.run()` on a loop
            # made for it, and nothing else runs or awaits that coroutine: saving
            # the result to disk at the end delays no request and no other task.
            """
            import argparse
            import asyncio

            import httpx
            from app.cli.store import PresetStore

            async def _build_preset(api_url: str, store: PresetStore, name: str) -> str:
                async with httpx.AsyncClient(base_url=api_url) as client:
                    spec = (await client.get(f"/presets/{name}/spec")).json()
                return store.save(name, spec)

            def create_preset(api_url: str, name: str) -> str:
                return asyncio.run(_build_preset(api_url, PresetStore("/home/me/.presets"), name))

            def main() -> None:
                parser = argparse.ArgumentParser(prog="presets")
                parser.add_argument("name")
                args = parser.parse_args()
                print(create_preset("http://127.0.0.1:8000", args.name))
            """,
            filename="app/cli/presets.py",
            files={
                "app/cli/store.py": """
import json
from pathlib import Path

class PresetStore:
    def __init__(self, root: str) -> None:
        self.root = root

    def save(self, name: str, spec: dict[str, str]) -> str:
        target = f"{self.root}/{name}.json"
        Path(target).write_text(json.dumps(spec))
        return target
""",
            },
        ),
        Valid(
            # Read once per process, then answered from the cache.
            """
            from fastapi import FastAPI
            from app.env import agent_url

            app = FastAPI()

            @app.get("/agent")
            async def agent() -> dict[str, str]:
                return {"url": agent_url("http://localhost:3000")}
            """,
            filename="app/main.py",
            files={
                "app/env.py": """
from functools import lru_cache
from pathlib import Path

@lru_cache(maxsize=1)
def in_container() -> bool:
    with Path("/proc/self/cgroup").open() as cgroup:
        return "docker" in cgroup.read()

def agent_url(url: str) -> str:
    return url.replace("localhost", "host.docker.internal") if in_container() else url
""",
            },
        ),
        Valid(
            # Loaded once per process into a module global; only a caller that
            # passes `reload=True` scans the entry points again, and none does.
            """
            from fastapi import FastAPI
            from app.plugins import load_plugins

            app = FastAPI()

            @app.get("/plugins")
            async def plugins() -> list[str]:
                return sorted(load_plugins())
            """,
            filename="app/main.py",
            files={
                "app/plugins.py": _PLUGINS,
            },
        ),
        Valid(
            # The provisioner is awaited only by a Typer command (and its resources
            # only by the provisioner): it runs on the command's own loop, so saving
            # the new default to the user's profile file delays nothing else.
            """
            import typer
            from app.provisioning import provisioner_for

            pools = typer.Typer()

            @pools.command()
            async def create(name: str, kind: str = "cloud") -> None:
                provisioner = provisioner_for(kind)
                template = await provisioner.provision(name)
                typer.echo(template)
            """,
            filename="app/cli.py",
            files={
                "app/provisioning.py": """
import functools

import httpx
from app.profiles import set_profile_value

def with_client(fn):
    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        async with httpx.AsyncClient(base_url="https://cloud.example") as client:
            return await fn(*args, client=client, **kwargs)
    return wrapper

class Bucket:
    async def provision(self, client: httpx.AsyncClient, name: str) -> str:
        await client.post("/buckets", json={"name": name})
        return name

class CloudProvisioner:
    def __init__(self) -> None:
        self._bucket = Bucket()

    @with_client
    async def provision(self, name: str, client: httpx.AsyncClient) -> dict[str, str]:
        bucket = await self._bucket.provision(client, name)
        set_profile_value("default_bucket", bucket)
        return {"bucket": bucket}

def provisioner_for(kind: str) -> CloudProvisioner:
    return {"cloud": CloudProvisioner}[kind]()
""",
                "app/profiles.py": """
from pathlib import Path

def set_profile_value(key: str, value: str) -> None:
    with open(Path("~/.app/profile.toml").expanduser(), "a") as profile:
        profile.write(f"{key} = {value!r}\\n")
""",
            },
        ),
        Valid(
            # The app's lifespan runs before the server accepts its first connection:
            # preparing the data folder and loading the enabled plug-ins (each entry
            # point's metadata read from disk) there delays no request.
            """
            from contextlib import asynccontextmanager

            from fastapi import FastAPI
            from app.settings import SettingsManager, prepare_data_dir

            @asynccontextmanager
            async def lifespan(app: FastAPI):
                prepare_data_dir()
                settings = SettingsManager("/etc/app/config.yml")
                await settings.apply()
                yield

            app = FastAPI(lifespan=lifespan)

            @app.get("/health")
            async def health() -> dict[str, str]:
                return {"status": "ok"}
            """,
            filename="app/main.py",
            files={
                "app/settings.py": """
from importlib.metadata import entry_points
from pathlib import Path

def prepare_data_dir() -> None:
    Path("/var/lib/app").mkdir(parents=True, exist_ok=True)

def load_plugins(enabled: list[str]) -> list[object]:
    return [ep.load() for ep in entry_points(group="app.plugins") if ep.name in enabled]

class SettingsManager:
    def __init__(self, path: str) -> None:
        self.path = path
        self.plugins: list[object] = []

    async def apply(self) -> None:
        self.plugins = load_plugins(["audit"])
""",
            },
        ),
        Valid(
            # The server command runs its set-up coroutine, defined inside it, with
            # `asyncio.run()` before it starts the server: alone on that loop.
            """
            import asyncio

            import typer
            import uvicorn
            from app.setup import Initializer

            initializer = Initializer()

            def add_commands(cli: typer.Typer) -> None:
                @cli.command("run-server")
                def run_server(migrate: bool = True) -> None:
                    async def _prepare() -> None:
                        if migrate:
                            await initializer.init_all()

                    asyncio.run(_prepare())
                    uvicorn.run("app.main:app")
            """,
            filename="app/cli.py",
            files={
                "app/setup.py": """
from pathlib import Path

class Initializer:
    def __init__(self) -> None:
        self.templates: dict[str, str] = {}

    async def init_all(self) -> None:
        for name in ("welcome", "reset"):
            self.templates[name] = self._load(name)

    def _load(self, name: str) -> str:
        return Path(f"/srv/app/templates/{name}.html").read_text()
""",
            },
        ),
        Valid(
            # Plug-in hooks run at import by `anyio.run` (a loop of their own) and
            # awaited by a Typer command: alone in both places.
            """
            from importlib.metadata import entry_points

            def load_plugins() -> list[object]:
                return [ep.load() for ep in entry_points(group="app.plugins")]

            async def run_startup_hooks() -> int:
                return len(load_plugins())
            """,
            filename="app/plugins.py",
            files={
                "app/__init__.py": """
def _run_plugin_hooks() -> None:
    import anyio

    from app.plugins import run_startup_hooks

    anyio.run(run_startup_hooks)

_run_plugin_hooks()
""",
                "app/cli.py": """
import typer
from app.plugins import run_startup_hooks

cli = typer.Typer()

@cli.command()
async def diagnose() -> None:
    typer.echo(await run_startup_hooks())
""",
            },
        ),
        Valid(
            # The token file is read only for a name under `file/`; this call
            # asks for an environment variable (through a wrapper that passes the
            # name on), so that branch cannot run.
            """
            from fastapi import FastAPI
            from app.secrets import get_secret_str

            app = FastAPI()

            @app.get("/models")
            async def models() -> dict[str, bool]:
                return {"openai": bool(get_secret_str("OPENAI_API_KEY"))}
            """,
            filename="app/main.py",
            files={
                "app/secrets.py": _SECRETS,
            },
        ),
        Valid(
            # Only checks that the file is there (one `stat`, answered from the
            # kernel's cache): handing the chain to a thread would cost more.
            """
            from fastapi import FastAPI, HTTPException
            from app.flows import resolve_flow

            app = FastAPI()

            @app.post("/flows/{name}/run")
            async def run_flow(name: str) -> dict[str, str]:
                path = resolve_flow(name)
                if path is None:
                    raise HTTPException(status_code=404)
                return {"flow": path.name}
            """,
            filename="app/main.py",
            files={
                "app/flows.py": """
from pathlib import Path

FLOWS = Path("/srv/flows")

def resolve_flow(name: str) -> Path | None:
    path = FLOWS / f"{name}.json"
    return path if path.is_file() else None
""",
            },
        ),
        Valid(
            # `/proc` is made by the kernel in memory when read: no disk is touched.
            """
            import os

            from fastapi import FastAPI

            app = FastAPI()

            def start_time(pid: int) -> str | None:
                try:
                    with open(f"/proc/{pid}/stat", "rb") as stat:
                        return stat.read().split()[21].decode()
                except OSError:
                    return None

            @app.get("/owner")
            async def owner() -> dict[str, str | None]:
                return {"started": start_time(os.getpid())}
            """
        ),
        Valid(
            # The call leaves `config_file` at its default `None`: the module file is
            # never looked for, so the name is only imported (already loaded).
            """
            from fastapi import FastAPI
            from app.plugins import load_hook

            app = FastAPI()

            @app.post("/hooks/{name}")
            async def run_hook(name: str) -> dict[str, str]:
                return {"hook": repr(load_hook(f"app.hooks.{name}"))}
            """,
            filename="app/main.py",
            files={
                "app/plugins.py": """
import importlib
import os

def load_hook(value: str, config_file: str | None = None) -> object:
    module_file = None
    if config_file is not None:
        module_file = os.path.join(os.path.dirname(config_file), value.replace(".", "/") + ".py")
    if module_file is not None and os.path.exists(module_file):
        with open(module_file, encoding="utf-8") as source:
            return compile(source.read(), module_file, "exec")
    return importlib.import_module(value)
""",
            },
        ),
        Valid(
            # Each name the loop passes comes from a table of constants, and none
            # is under `file/`.
            """
            from fastapi import FastAPI
            from app.identity import identity

            app = FastAPI()

            @app.get("/identity")
            async def who() -> dict[str, str]:
                return identity()
            """,
            filename="app/main.py",
            files={
                "app/secrets.py": _SECRETS,
                "app/identity.py": """
from app.secrets import get_secret_str

_IDENTITY_ENV = (("org", "APP_ORG_ID"), ("project", "APP_PROJECT_ID"))

def identity() -> dict[str, str]:
    return {key: get_secret_str(env) for key, env in _IDENTITY_ENV}
""",
            },
        ),
    )
    invalid = (
        Invalid(
            # Cached per argument: every new name reads the disk again.
            """
            from fastapi import FastAPI
            from app.templates import template_text

            app = FastAPI()

            @app.get("/templates/{name}")
            async def template(name: str) -> dict[str, str]:
                return {"text": template_text(name)}
            """,
            lines=(8,),
            filename="app/main.py",
            files={
                "app/templates.py": """
from functools import cache
from pathlib import Path

@cache
def template_text(name: str) -> str:
    return Path("/srv/templates", name).read_text()
""",
            },
        ),
        Invalid(
            """
            from fastapi import FastAPI
            from app.services import build_report

            app = FastAPI()

            @app.get("/report")
            async def report(report_id: int):
                return build_report(report_id)
            """,
            lines=(8,),
            filename="app/main.py",
            files={
                "app/services.py": """
from app.clients import fetch_json

def build_report(report_id):
    data = fetch_json(f"/reports/{report_id}")
    return {"id": report_id, "rows": data}
""",
                "app/clients.py": """
import requests

def fetch_json(path):
    return _get(path)

def _get(path):
    return requests.get("https://api.internal" + path, timeout=5).json()
""",
            },
        ),
        Invalid(
            # Run with `asyncio.run()` by a command, but also awaited by a route:
            # there it shares the server's loop.
            """
            import asyncio

            from fastapi import FastAPI
            from app.store import save_preset

            app = FastAPI()

            async def build_preset(name: str) -> str:
                await asyncio.sleep(0)
                return save_preset(name)

            @app.post("/presets/{name}")
            async def create(name: str) -> dict[str, str]:
                return {"path": await build_preset(name)}

            def cli(name: str) -> None:
                print(asyncio.run(build_preset(name)))
            """,
            lines=(10,),
            filename="app/main.py",
            files={
                "app/store.py": """
from pathlib import Path

def save_preset(name: str) -> str:
    Path(f"/srv/presets/{name}.json").write_text("{}")
    return name
""",
            },
        ),
        Invalid(
            # Awaited by a command, but by a route too: there it shares the server's loop.
            """
            from pathlib import Path

            def save_default(name: str) -> None:
                Path("/srv/app/defaults.toml").write_text(f"pool = {name!r}")

            class Provisioner:
                async def provision(self, name: str) -> dict[str, str]:
                    save_default(name)
                    return {"pool": name}
            """,
            lines=(8,),
            filename="app/provisioning.py",
            files={
                "app/main.py": """
import typer
from fastapi import FastAPI
from app.provisioning import Provisioner

app = FastAPI()
cli = typer.Typer()

@cli.command()
async def provision(name: str) -> None:
    await Provisioner().provision(name)

@app.post("/pools/{name}/provision")
async def provision_pool(name: str) -> dict[str, str]:
    return await Provisioner().provision(name)
""",
            },
        ),
        Invalid(
            # Awaited by the lifespan, but by a route too: there it runs on a loop
            # that serves requests.
            """
            from importlib.metadata import entry_points

            def load_plugins(enabled: list[str]) -> list[object]:
                return [ep.load() for ep in entry_points(group="app.plugins") if ep.name in enabled]

            class SettingsManager:
                def __init__(self) -> None:
                    self.plugins: list[object] = []

                async def apply(self) -> None:
                    self.plugins = load_plugins(["audit"])
            """,
            lines=(11,),
            filename="app/settings.py",
            files={
                "app/main.py": """
from contextlib import asynccontextmanager

from fastapi import FastAPI
from app.settings import SettingsManager

settings = SettingsManager()

@asynccontextmanager
async def lifespan(app: FastAPI):
    await settings.apply()
    yield

app = FastAPI(lifespan=lifespan)

@app.post("/settings/reload")
async def reload_settings() -> dict[str, bool]:
    await settings.apply()
    return {"ok": True}
""",
            },
        ),
        Invalid(
            # The same once-per-process load, asked for again on every call of
            # the reload route: each one scans the entry points on the loop.
            """
            from fastapi import FastAPI
            from app.plugins import load_plugins

            app = FastAPI()

            @app.post("/plugins/reload")
            async def reload_plugins() -> list[str]:
                return sorted(load_plugins(reload=True))
            """,
            lines=(8,),
            filename="app/main.py",
            files={
                "app/plugins.py": _PLUGINS,
            },
        ),
        Invalid(
            # The same, one helper further down: the switch is followed wherever
            # the chain turns it on.
            """
            from fastapi import FastAPI
            from app.plugins import load_plugins

            app = FastAPI()

            def refresh_plugins(names: list[str]) -> list[str]:
                plugins = load_plugins(reload=True)
                return [name for name in names if name in plugins]

            @app.post("/plugins/refresh")
            async def refresh(names: list[str]) -> list[str]:
                return refresh_plugins(names)
            """,
            lines=(12,),
            filename="app/main.py",
            files={
                "app/plugins.py": _PLUGINS,
            },
        ),
        Invalid(
            # A lifespan that starts a task shares the loop with it from then on.
            """
            import asyncio
            from contextlib import asynccontextmanager
            from pathlib import Path

            from fastapi import FastAPI

            async def poll_updates() -> None:
                while True:
                    await asyncio.sleep(60)

            def prepare_data_dir() -> None:
                Path("/var/lib/app/state.json").write_text("{}")

            @asynccontextmanager
            async def lifespan(app: FastAPI):
                poller = asyncio.create_task(poll_updates())
                prepare_data_dir()
                yield
                poller.cancel()

            app = FastAPI(lifespan=lifespan)
            """,
            lines=(17,),
            filename="app/main.py",
        ),
        Invalid(
            # The secret's name comes from the settings: it may name a token file.
            """
            from fastapi import FastAPI
            from app.secrets import get_secret
            from app.settings import settings

            app = FastAPI()

            @app.get("/models")
            async def models() -> dict[str, bool]:
                return {"custom": get_secret(settings.api_key_ref) is not None}
            """,
            lines=(9,),
            filename="app/main.py",
            files={
                "app/secrets.py": _SECRETS,
                "app/settings.py": """
class Settings:
    api_key_ref: str = "file/run/secrets/api-key"

settings = Settings()
""",
            },
        ),
        Invalid(
            # The check comes before a load from disk by a library: the graph file
            # is read on the loop.
            """
            from fastapi import FastAPI
            from app.graphs import load_graph

            app = FastAPI()

            @app.get("/graphs/{name}/nodes")
            async def nodes(name: str) -> int:
                graph = load_graph(f"/srv/graphs/{name}.graphml")
                return 0 if graph is None else graph.number_of_nodes()
            """,
            lines=(8,),
            filename="app/main.py",
            files={
                "app/graphs.py": """
import os

import networkx as nx

def load_graph(file_name: str) -> nx.Graph | None:
    if os.path.exists(file_name):
        return nx.read_graphml(file_name)
    return None
""",
            },
        ),
    )

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        func = ctx.module.function_of_node.get(node)
        if func is None:
            return
        graph = ctx.project.calls
        cli: bool | None = None  # asked only once a path is found: it scans the project
        once = once_per_process_calls(ctx.project, func)
        for site in graph.sites_of(func):
            if site.callee is None or site.callee.is_async or runs_once(site.callee) or site.node in once:
                continue
            path = graph.blocking_path(
                site.callee, forced=graph.turns_on_switch(site), constants=graph.call_constants(site)
            )
            if path is None:
                continue
            if cli is None:
                cli = is_cli_command(ctx.project, ctx.module, node)
            if cli:
                return
            chain = [ChainLink(ctx.location(site.node), f"`{_caller(func)}` calls `{_name(site)}()`")]
            for step in path.steps:
                where = step.caller.module.source.location(step.node)
                if step is path.final:
                    kind = kind_label(step.target, path.blocking)
                    note = f"`{_caller(step.caller)}` makes the blocking call `{step.target}()` ({kind})"
                else:
                    note = f"`{_caller(step.caller)}` calls `{_name(step)}()`"
                chain.append(ChainLink(where, note))
            ctx.report(
                site.node,
                f"`{_name(site)}()` blocks the event loop: it reaches `{path.final.target}()` "
                f"{len(path.steps)} call(s) down; make the chain async or run it with "
                f"`await run_in_threadpool(...)`.",
                chain=chain,
            )

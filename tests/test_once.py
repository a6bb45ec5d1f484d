"""Code that runs once per process: the event-loop search does not follow it."""

from __future__ import annotations

import ast

from fastapi_expert.review.engine import review_sources
from fastapi_expert.review.model.module import FunctionInfo
from fastapi_expert.review.model.once import once_per_process_calls
from fastapi_expert.review.model.project import Project
from test_model import project

_SERVER = """
import time

class Server:
{new}
    def __init__(self, port=None):
        self.port = port
        self.running = False

    def start(self):
        if not self.running:
            self.running = True
            time.sleep(0.1)

def get_client():
    server = Server()
    server.start()
    return server.port
"""

_SINGLETON_NEW = """
    _instances = {}

    def __new__(cls, port=None):
        if port not in cls._instances:
            cls._instances[port] = super().__new__(cls)
        return cls._instances[port]
"""


def _function(p: Project, qualname: str) -> FunctionInfo:
    func = p.calls.by_qualname[qualname]
    return func


def _once_names(p: Project, qualname: str) -> set[str]:
    return {ast.unparse(call.func) for call in once_per_process_calls(p, _function(p, qualname))}


def test_a_shared_instances_guarded_start_runs_once() -> None:
    p = project({"app/server.py": _SERVER.format(new=_SINGLETON_NEW)})
    assert _once_names(p, "app.server.Server.start") == {"time.sleep"}
    assert p.calls.blocking_path(_function(p, "app.server.get_client")) is None


def test_the_same_guard_on_an_instance_per_call_is_followed() -> None:
    # Without the cached `__new__`, every `Server()` is a new object whose flag is unset.
    p = project({"app/server.py": _SERVER.format(new="    pass")})
    assert _once_names(p, "app.server.Server.start") == set()
    path = p.calls.blocking_path(_function(p, "app.server.get_client"))
    assert path is not None and path.final.target == "time.sleep"


def test_a_singleton_base_class_or_metaclass_shares_instances() -> None:
    through_base = """
import time

class Singleton:
    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

class Server(Singleton):
    started = False

    def start(self):
        if self.started:
            return
        self.started = True
        time.sleep(1)
"""
    through_meta = """
import time

class One(type):
    _instances = {}

    def __call__(cls, *args, **kwargs):
        if cls not in cls._instances:
            cls._instances[cls] = super().__call__(*args, **kwargs)
        return cls._instances[cls]

class Server(metaclass=One):
    def start(self):
        if not getattr(self, "ready", False):
            time.sleep(1)
        if not self.ready:
            self.ready = True
            time.sleep(2)
"""
    p = project({"app/base.py": through_base, "app/meta.py": through_meta})
    assert _once_names(p, "app.base.Server.start") == {"time.sleep"}
    calls = once_per_process_calls(p, _function(p, "app.meta.Server.start"))
    # `getattr(...)` is no flag this reader knows: only the second block is once
    assert [c.lineno for c in calls if ast.unparse(c.func) == "time.sleep"] == [18]


def test_a_global_set_under_its_own_guard_runs_once() -> None:
    source = """
import json

_config = None

def config():
    global _config
    if _config is None:
        with open("settings.json") as handle:
            _config = json.load(handle)
    return _config

def reload(force):
    global _config
    if _config is None or force:
        with open("settings.json") as handle:
            _config = json.load(handle)
    return _config

def never_sets():
    global _config
    if _config is None:
        open("settings.json").close()
    return _config
"""
    p = project({"app/settings.py": source})
    assert _once_names(p, "app.settings.config") == {"open", "json.load"}
    assert p.calls.blocking_path(_function(p, "app.settings.config")) is None
    # `or force` runs the block again; a guard that never sets its flag guards nothing
    assert _once_names(p, "app.settings.reload") == set()
    assert _once_names(p, "app.settings.never_sets") == set()
    assert p.calls.blocking_path(_function(p, "app.settings.reload")) is not None


def test_a_class_attribute_set_after_an_early_return_runs_once() -> None:
    source = """
import time

class Warmup:
    _done = False

    @classmethod
    def ensure(cls):
        if cls._done:
            return
        time.sleep(1)
        cls._done = True

    def per_instance(self):
        if self._done:
            return
        time.sleep(1)
        self._done = True
"""
    p = project({"app/warm.py": source})
    assert _once_names(p, "app.warm.Warmup.ensure") == {"time.sleep"}
    # `self._done = True` sets an attribute of one instance, and the class builds many
    assert _once_names(p, "app.warm.Warmup.per_instance") == set()


_ROUTES = """
from fastapi import FastAPI

from app.server import Server, get_client

app = FastAPI()
_ready = False


@app.get("/health")
async def health() -> dict[str, int | None]:
    return {"port": get_client()}


@app.get("/warm")
async def warm() -> None:
    global _ready
    if not _ready:
        _ready = True
        Server().start()
"""


def _fx210_lines(new: str) -> list[int]:
    result = review_sources({"app/__init__.py": "", "app/server.py": _SERVER.format(new=new), "app/main.py": _ROUTES})
    return sorted(f.location.line for f in result.findings if f.code == "FX210")


def test_fx210_does_not_report_a_shared_servers_first_start() -> None:
    assert _fx210_lines(_SINGLETON_NEW) == []
    # one instance per call: both routes wait for `time.sleep` every time
    # (`/warm` only once, through its own global flag)
    assert _fx210_lines("    pass") == [12]


def test_a_global_set_by_the_function_the_guard_calls_runs_once() -> None:
    source = """
import json

CONFIG = None
CACHE = {}

def setup_logging():
    global CONFIG
    CONFIG = json.load(open("logging.json"))

def log_only():
    print(json.load(open("logging.json")))

def ensure_logging():
    if not CONFIG:
        setup_logging()

def ensure_nothing():
    if not CONFIG:
        log_only()

def shadowed(CONFIG=None):
    if not CONFIG:
        setup_logging()
"""
    p = project({"app/logs.py": source})
    assert _once_names(p, "app.logs.ensure_logging") == {"setup_logging"}
    assert p.calls.blocking_path(_function(p, "app.logs.ensure_logging")) is None
    # a callee that sets no flag, or a parameter that shadows the global, guards nothing
    assert _once_names(p, "app.logs.ensure_nothing") == set()
    assert _once_names(p, "app.logs.shadowed") == set()


def test_filling_an_empty_container_sets_its_flag() -> None:
    source = """
import json

SETTINGS: dict = {}
_seen: dict = {}

def load_settings():
    SETTINGS.update(json.load(open("settings.json")))

def ensure_settings():
    if not SETTINGS:
        load_settings()

def remember(key):
    if not _seen:
        _seen[key] = open("seen.txt").read()

def per_call():
    found = {}
    if not found:
        found.update(json.load(open("settings.json")))
    return found
"""
    p = project({"app/settings.py": source})
    assert _once_names(p, "app.settings.ensure_settings") == {"load_settings"}
    assert _once_names(p, "app.settings.remember") == {"open", "open('seen.txt').read"}
    # a local container is new on every call
    assert _once_names(p, "app.settings.per_call") == set()


def test_a_cached_classmethod_with_settings_only_runs_once() -> None:
    source = """
from functools import cache, lru_cache

class Signer:
    @classmethod
    @cache
    def signer(cls, expiration: int | None = None) -> bytes:
        return open("key.pem", "rb").read()

    @classmethod
    @lru_cache(maxsize=8)
    def for_tenant(cls, tenant: str) -> bytes:
        return open(f"{tenant}.pem", "rb").read()

    @cache
    def per_instance(self) -> bytes:
        return open("key.pem", "rb").read()

@cache
def settings() -> bytes:
    return open("settings.toml", "rb").read()

@cache
def template(name: str) -> bytes:
    return open(name, "rb").read()
"""
    from fastapi_expert.review.model.once import runs_once

    p = project({"app/keys.py": source})
    verdicts = {name: runs_once(_function(p, f"app.keys.{name}")) for name in (
        "Signer.signer", "Signer.for_tenant", "Signer.per_instance", "settings", "template",
    )}
    # a required parameter is a cache key (one run per tenant); `self` one per instance
    assert verdicts == {
        "Signer.signer": True,
        "Signer.for_tenant": False,
        "Signer.per_instance": False,
        "settings": True,
        "template": False,
    }

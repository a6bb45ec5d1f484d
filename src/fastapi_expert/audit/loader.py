"""Import the user's application the way uvicorn does.

`module:attribute` (the attribute may be dotted), `--app-dir` put first on
`sys.path` (uvicorn's default is the current directory), and `--factory` to call
the attribute for the app. Every failure is an `AppLoadError` carrying one line
a user can act on; the original exception stays chained for `--verbose`.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi_expert.errors import FastAPIExpertError


class AppLoadError(FastAPIExpertError):
    """The app could not be imported, built or started."""


@dataclass(frozen=True)
class LoadedApp:
    target: str
    app: Any  # the FastAPI instance
    asgi: Any  # what a server would run: the app itself or a wrapper around it
    module: ModuleType


def _split(target: str) -> tuple[str, str]:
    module, sep, attr = target.partition(":")
    if not sep or not module or not attr:
        raise AppLoadError(f"'{target}' is not MODULE:ATTRIBUTE (for example app.main:app)")
    return module, attr


def import_module(name: str, app_dir: str | None) -> ModuleType:
    directory = os.path.abspath(app_dir if app_dir is not None else ".")
    if app_dir is not None and not os.path.isdir(directory):
        raise AppLoadError(f"--app-dir {app_dir}: no such directory")
    if directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise AppLoadError(
                f"could not import module '{name}' (searched from {directory}; use --app-dir)"
            ) from exc
        raise AppLoadError(f"importing '{name}' failed: {type(exc).__name__}: {exc}") from exc
    except BaseException as exc:  # the user's module may raise anything, even SystemExit
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise AppLoadError(f"importing '{name}' failed: {type(exc).__name__}: {exc}") from exc


def _is_asgi(obj: object) -> bool:
    return callable(obj) and not isinstance(obj, type)


def find_fastapi(obj: Any) -> Any | None:
    """The FastAPI instance, or the one inside ASGI middleware wrapping it (`.app`)."""
    from fastapi import FastAPI

    seen = 0
    while obj is not None and seen < 10:
        if isinstance(obj, FastAPI):
            return obj
        obj = getattr(obj, "app", None)
        seen += 1
    return None


def load_app(target: str, *, app_dir: str | None = None, factory: bool = False) -> LoadedApp:
    module_name, attr = _split(target)
    module = import_module(module_name, app_dir)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise AppLoadError(f"module '{module_name}' has no attribute '{attr}'") from exc
    if factory:
        if not callable(obj):
            raise AppLoadError(f"'{target}' is not callable, so it cannot be a --factory")
        try:
            obj = obj()
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise AppLoadError(f"the factory '{target}' failed: {type(exc).__name__}: {exc}") from exc
    app = find_fastapi(obj)
    if app is None:
        if not factory and callable(obj) and not _is_asgi_instance(obj):
            raise AppLoadError(f"'{target}' is a function, not an app; add --factory if it builds the app")
        if _is_asgi(obj):
            raise AppLoadError(
                f"'{target}' is an ASGI app but not FastAPI ({type(obj).__name__}); the audit reads FastAPI's routes"
            )
        raise AppLoadError(f"'{target}' is not an ASGI application (it is {type(obj).__name__})")
    return LoadedApp(target=target, app=app, asgi=obj, module=module)


def _is_asgi_instance(obj: object) -> bool:
    # A plain function taking (scope, receive, send) is an ASGI app; a factory takes none.
    import inspect

    if not (inspect.isfunction(obj) or inspect.ismethod(obj)):
        return True
    try:
        return len(inspect.signature(obj).parameters) == 3
    except (TypeError, ValueError):
        return True


def relative(path: str | os.PathLike[str]) -> str:
    """`path` relative to the current directory when it is below it (the Finding contract)."""
    absolute = Path(path).resolve()
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return absolute.as_posix()

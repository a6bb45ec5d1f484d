"""The catalogue: every rule class, explicitly.

Rules are found by walking the `rules` package once (a rule module holds exactly
one Rule subclass); the result is validated by the catalogue meta-test, so a
malformed rule fails the suite with its module name rather than at run time.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache

from fastapi_expert.review.rules.base import Rule


@cache
def all_rules() -> tuple[type[Rule], ...]:
    from fastapi_expert.review import rules as package

    found: dict[str, type[Rule]] = {}
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.ispkg or info.name.endswith(".base"):
            continue
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Rule) and "code" in obj.__dict__ and obj.__module__ == module.__name__:
                if obj.code in found:
                    raise RuntimeError(f"duplicate rule code {obj.code} in {info.name} and {found[obj.code].__module__}")
                found[obj.code] = obj
    return tuple(found[code] for code in sorted(found))


def rule_by_code(code: str) -> type[Rule] | None:
    code = code.upper()
    return next((r for r in all_rules() if r.code == code), None)


def rule_by_name(name: str) -> type[Rule] | None:
    return next((r for r in all_rules() if r.name == name), None)

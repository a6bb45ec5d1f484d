from __future__ import annotations

import datetime
import decimal
import enum
import re
import types
import typing
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData, RouteInfo
from fastapi_expert.types import Finding, Severity

# Checked in order: `bool` before `int` (above), `datetime` before `date`.
_TYPED_SAMPLES: tuple[tuple[type, str], ...] = (
    (int, "7"),
    (float, "7.5"),
    (decimal.Decimal, "7.5"),
    (uuid.UUID, "00000000-0000-4000-8000-000000000007"),
    (datetime.datetime, "2026-01-01T00:00:00"),
    (datetime.date, "2026-01-01"),
)
_PARAM = re.compile(r"{([a-zA-Z_]\w*)(?::([^}]*))?}")
_SAMPLES = {
    "int": "7",
    "float": "7.5",
    "uuid": "00000000-0000-4000-8000-000000000007",
    "path": "fx/sample",
    "str": "fx-sample",
}


def sample_path(route: RouteInfo) -> str:
    """A concrete path only this route's own pattern is sure to match, whose values
    also pass the types the parameters are declared with (`item_id: int`, an
    `Enum`): a probe answered 422 tells nothing about what it was sent to test."""

    def value(match: re.Match[str]) -> str:
        convertor = route.param_convertors.get(match.group(1))
        kind = match.group(2) or ""
        if convertor is not None:
            name = type(convertor).__name__.lower()
            kind = next((k for k in _SAMPLES if name.startswith(k) or (k == "int" and "integer" in name)), kind)
        if kind in {"", "str"}:  # Starlette matches any segment: the declared type decides
            typed = typed_sample(route.path_param_types.get(match.group(1)))
            if typed is not None:
                return typed
        return _SAMPLES.get(kind, _SAMPLES["str"])

    return _PARAM.sub(value, route.path)


def typed_sample(annotation: Any, depth: int = 0) -> str | None:
    """A path segment that validates as `annotation`, or None for a string (or a
    type with no sample here: the default one is used)."""
    if annotation is None or depth > 4:
        return None
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return typed_sample(typing.get_args(annotation)[0], depth + 1)
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        return quote(str(choices[0]), safe="") if choices else None
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return typed_sample(members[0], depth + 1) if members else None
    if not isinstance(annotation, type):
        return None
    if issubclass(annotation, enum.Enum):
        first = next(iter(annotation), None)
        return quote(str(first.value), safe="") if first is not None else None
    if issubclass(annotation, bool):
        return "true"
    for base, sample in _TYPED_SAMPLES:
        if issubclass(annotation, base):
            return sample
    return None


def _methods(route: RouteInfo) -> set[str]:
    return {m for m in route.methods if m != "HEAD"}


def _competes(earlier: RouteInfo, later: RouteInfo) -> bool:
    """Can `earlier` take a request meant for `later`? Not the mounts that lead to
    `later` (the table lists a mount's routes right after it), and not a route
    that only answers on another `Host`."""
    if id(earlier) in later.parents:
        return False
    return earlier.host is None or earlier.host == later.host


class ShadowedRoute(Check):
    """Flags a route that an earlier route with the same method and a broader path always answers first.

    ## What it does
    Walks the route table in the order Starlette matches it and, for each
    route, builds a concrete path its own pattern matches (`/orders/summary`,
    `/items/7`); if an earlier route with a common method matches that path too
    (`/orders/{order_id}` declared before `/orders/summary`, or a duplicate
    path), the later route is reported. Mounts shadow every method under their
    prefix.

    ## Why is this bad?
    Starlette takes the first route that matches. The later endpoint never
    runs: `GET /orders/summary` reaches `get_order(order_id="summary")` and
    answers 422 or 404. Nothing warns; the route is in the docs and looks fine
    in review. Declare the fixed path before the parameterised one.

    ## References
    - https://fastapi.tiangolo.com/tutorial/path-params/#order-matters
    - https://github.com/fastapi/fastapi/issues/2521
    """

    code = "FX112"
    name = "shadowed-route"
    summary = "A route is never reached: an earlier route with the same method and a broader path matches first."
    severity = Severity.ERROR

    def run(self, data: AuditData) -> Iterable[Finding]:
        routes = [r for r in data.app.routes if r.kind in {"http", "route", "mount"} and r.path_regex is not None]
        for index, later in enumerate(routes):
            if later.kind == "mount" or later.framework:
                continue
            sample = sample_path(later)
            for earlier in routes[:index]:
                if not _competes(earlier, later):
                    continue
                common = _methods(later) if earlier.kind == "mount" else _methods(earlier) & _methods(later)
                if not common or not earlier.path_regex.match(sample):
                    continue
                what = "mount" if earlier.kind == "mount" else f"`{','.join(sorted(common))} {earlier.path}`"
                yield self.finding(
                    later.location,
                    f"`{','.join(sorted(common))} {later.path}` is never reached: the earlier {what} "
                    f"({earlier.name or 'unnamed'}) matches it first; declare `{later.path}` before it.",
                )
                break

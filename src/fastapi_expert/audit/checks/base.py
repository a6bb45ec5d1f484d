"""How a runtime check is written: one small class per module.

Like a review rule (`review/rules/base.py`): identity in class variables, the
documentation in the docstring (`## What it does`, `## Why is this bad?`,
`## References`), and one method, `run`, that reads `AuditData` (plain data, no
FastAPI import) and returns findings. A check that reuses a static rule's code
reuses its name too, so one `ignore` entry silences both.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Iterator
from typing import ClassVar

from fastapi_expert.audit.model import AuditData, Exchange
from fastapi_expert.types import Area, Finding, Location, Severity

PROBE_DESCRIPTIONS = {
    "malformed-json": "a malformed JSON body",
    "wrong-content-type": "a body with the wrong content type",
    "not-found": "an unknown path",
    "wrong-method": "a method the route does not allow",
    "preflight": "a CORS preflight",
    "unauthenticated": "a request without credentials",
}


def describe_probe(probe: str) -> str:
    return PROBE_DESCRIPTIONS.get(probe, probe)


def probe_exchanges(data: AuditData) -> Iterator[tuple[Exchange, Location]]:
    """Every probe request and its answer (none with --no-probe), with where to
    report it: the route it went to, else the app."""
    if data.probes is None:
        return
    for exchange in data.probes.exchanges:
        location = exchange.route.location if exchange.route is not None else data.app.location
        yield exchange, location


REQUIRED_SECTIONS = ("## What it does", "## Why is this bad?", "## References")
_CODE = re.compile(r"^FX[0-7]\d\d$")


class Check:
    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    severity: ClassVar[Severity] = Severity.WARNING
    default_enabled: ClassVar[bool] = True
    # Reads what the probes observed: silent with --no-probe.
    needs_probes: ClassVar[bool] = False

    @classmethod
    def area(cls) -> Area:
        return Area(int(cls.code[2]))

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    def run(self, data: AuditData) -> Iterable[Finding]:
        raise NotImplementedError

    def finding(self, location: Location, message: str) -> Finding:
        return Finding(self.code, self.name, self.severity, location, message)


def validate_check(check: type[Check]) -> list[str]:
    problems = []
    if not _CODE.match(check.code):
        problems.append(f"bad code {check.code}")
    doc = check.doc()
    problems += [f"{check.code}: docstring lacks {s}" for s in REQUIRED_SECTIONS if s not in doc]
    if not check.summary or "\n" in check.summary:
        problems.append(f"{check.code}: summary must be one line")
    return problems

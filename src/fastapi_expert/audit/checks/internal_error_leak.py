from __future__ import annotations

import os
import re
from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check, describe_probe, probe_exchanges
from fastapi_expert.audit.model import AuditData
from fastapi_expert.types import Finding, Severity

_TRACE = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+|[\\/]site-packages[\\/]")


def leaks(body: str) -> str | None:
    """What in a response body gives the app's internals away, if anything."""
    match = _TRACE.search(body)
    if match:
        return "a stack trace" if match.group(0).startswith(("Traceback", "File")) else "an internal path"
    # A source file under the server's working directory (`/srv/app/main.py`).
    if re.search(re.escape(os.getcwd().rstrip("/\\")) + r"[\\/][^\s\"']+\.py\b", body):
        return "an internal path"
    return None


class InternalErrorLeak(Check):
    """Flags a response body that carries a stack trace or an internal file path.

    ## What it does
    Reads the bodies the app sent back to the probes (malformed bodies, unknown
    paths, wrong methods, requests without credentials) and reports those
    holding a Python traceback, a `File "...py", line N` frame, a
    `site-packages` path or the server's working directory.

    ## Why is this bad?
    Tracebacks and paths tell an attacker the code layout, library versions and
    sometimes data: the first step of a targeted attack. Log them; answer the
    client with a generic message.

    ## References
    - https://owasp.org/www-community/Improper_Error_Handling
    - https://fastapi.tiangolo.com/tutorial/handling-errors/#override-the-default-exception-handlers
    """

    code = "FX419"
    name = "internal-error-leak"
    summary = "Exception text or a traceback is sent to the client."
    severity = Severity.ERROR
    needs_probes = True

    def run(self, data: AuditData) -> Iterable[Finding]:
        for exchange, location in probe_exchanges(data):
            what = leaks(exchange.body)
            if what is None:
                continue
            yield self.finding(
                location,
                f"`{exchange.request_line}` with {describe_probe(exchange.probe)} sent {what} to the "
                "client; log it and answer with a generic message.",
            )

from __future__ import annotations

import ast
import re

from fastapi_expert.review.rules._util import keyword
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.security._crypto import is_test
from fastapi_expert.review.rules.security._web import (
    append_arguments_edit,
    has_star_kwargs,
    request_functions,
)
from fastapi_expert.types import Fix, Severity

_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
# No default timeout: waits forever unless `timeout=` is given.
_REQUESTS = frozenset(
    {
        *(f"requests.{v}" for v in _VERBS),
        *(f"requests.api.{v}" for v in _VERBS),
        *(f"requests.Session.{v}" for v in _VERBS),
        *(f"requests.sessions.Session.{v}" for v in _VERBS),
    }
)
_URLOPEN = frozenset({"urllib.request.urlopen"})
# Default 5 s timeout; flagged only for `timeout=None` / `verify=False`.
_HTTPX = frozenset(
    {
        *(f"httpx.{v}" for v in (*_VERBS, "stream")),
        "httpx.Client",
        "httpx.AsyncClient",
        "httpx.Client.__init__",
        "httpx.AsyncClient.__init__",
        *(f"httpx.Client.{v}" for v in (*_VERBS, "stream", "send")),
        *(f"httpx.AsyncClient.{v}" for v in (*_VERBS, "stream", "send")),
    }
)
# Bandit's `# nosec` (bare, or naming B113 `request_without_timeout`): the project runs
# Bandit, whose B113 is this very check, and has judged this call.
_NOSEC = re.compile(r"#\s*nosec\b(?P<codes>[:\s]*[\w, ]+)?", re.IGNORECASE)


def _bandit_accepted(line: str) -> bool:
    found = _NOSEC.search(line)
    if found is None:
        return False
    codes = [c for c in re.split(r"[\s,:]+", found.group("codes") or "") if c]
    named = [c for c in codes if re.fullmatch(r"B\d{3}|[a-z_]+", c, re.IGNORECASE)]
    return not named or any(c.upper() == "B113" or c.lower() == "request_without_timeout" for c in named)


_TLS_OFF_TARGETS = frozenset(
    {*_REQUESTS, "httpx.Client", "httpx.AsyncClient", *(f"httpx.{v}" for v in (*_VERBS, "stream"))}
)


class HttpRequestWithoutTimeout(Rule):
    """Flags outbound HTTP calls that can wait forever, or that turn TLS verification off.

    ## What it does
    Finds `requests.get/post/...(...)` (module functions and `requests.Session`
    methods) and `urllib.request.urlopen(...)` called without `timeout=`, any
    `requests` / `httpx` call or `httpx.Client` / `httpx.AsyncClient` created
    with `timeout=None`, and `verify=False` on any of them. httpx calls that
    merely omit `timeout` are fine: httpx applies a 5-second default. Test code
    is skipped (test files, and modules that import pytest such as a test suite
    shipped in the package): no request waits on it. So is a call marked with
    Bandit's `# nosec` (bare, or naming `B113`, Bandit's own check for a request
    without timeout): the project has judged it.

    ## Why is this bad?
    `requests` and `urlopen` have no default timeout: if the upstream accepts
    the connection and never answers, the call blocks forever. In a FastAPI
    worker that is a threadpool slot (sync routes) or the whole event loop
    (async routes) gone for good; a few such requests and the service stops
    answering. `verify=False` disables certificate checks, so anyone on the
    network path can impersonate the upstream and read or alter the traffic
    (credentials included).

    ## Fix safety
    The fix adds `timeout=10` to `requests` / `urlopen` calls. It is unsafe:
    a request that used to wait as long as needed now fails with a timeout
    after 10 seconds; pick the value that fits the upstream. No fix is offered
    for `timeout=None` or `verify=False`.

    ## References
    - https://requests.readthedocs.io/en/latest/user/advanced/#timeouts
    - https://www.python-httpx.org/advanced/timeouts/
    - https://www.python-httpx.org/advanced/ssl/
    - https://docs.python.org/3/library/urllib.request.html#urllib.request.urlopen
    - https://fastapi.tiangolo.com/async/
    """

    code = "FX422"
    name = "http-request-without-timeout"
    summary = "An outbound HTTP call has no timeout, or disables TLS verification."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            import httpx
            import requests
            from fastapi import FastAPI

            app = FastAPI()
            client = httpx.AsyncClient(base_url="https://api.partner.example")  # 5 s default

            @app.get("/rates")
            async def rates():
                response = await client.get("/rates")
                return response.json()

            @app.get("/legacy-rates")
            def legacy_rates():
                return requests.get("https://legacy.partner.example/rates", timeout=5).json()
            """
        ),
        Valid(
            """
            import requests

            from app.settings import settings

            def fetch_profile(user_id: int) -> dict:
                url = f"https://profiles.internal/{user_id}"
                return requests.get(url, timeout=settings.http_timeout, verify=settings.ca_bundle).json()
            """,
            filename="app/clients.py",
            files={"app/settings.py": "class Settings:\n    http_timeout = 5\n    ca_bundle = True\n\nsettings = Settings()\n"},
        ),
        Valid(
            """
            from urllib.request import urlopen

            import pytest

            from app.plugins import Plugin

            class PluginContractSuite:
                \"\"\"Tests every plugin package runs against its own plugin (shipped with the app).\"\"\"

                @pytest.fixture
                def plugin(self) -> type[Plugin]:
                    raise NotImplementedError

                def test_icon_is_reachable(self, plugin: type[Plugin]) -> None:
                    with urlopen(plugin.icon_url) as response:
                        assert response.status == 200
            """,
            filename="app/testing/plugin_suite.py",
            files={"app/plugins.py": "class Plugin:\n    icon_url = ''\n"},
        ),
        Valid(
            # The project runs Bandit, whose B113 is this check, and accepted this call.
            """
            import requests

            def predict(url: str, rows: list[dict[str, float]]) -> dict[str, object]:
                response = requests.post(url, json={"instances": rows})  # nosec B113
                return response.json()
            """
        ),
    )
    invalid = (
        Invalid(
            """
            import requests
            from fastapi import FastAPI

            app = FastAPI()

            @app.post("/payments")
            def pay(amount: int):
                response = requests.post("https://psp.example/charges", json={"amount": amount})
                return response.json()
            """,
            lines=(8,),
            fixed="""
            import requests
            from fastapi import FastAPI

            app = FastAPI()

            @app.post("/payments")
            def pay(amount: int):
                response = requests.post("https://psp.example/charges", json={"amount": amount}, timeout=10)
                return response.json()
            """,
        ),
        Invalid(
            """
            import httpx

            client = httpx.AsyncClient(timeout=None)
            internal = httpx.Client(base_url="https://10.0.0.5", verify=False)

            async def fetch_report(report_id: int) -> bytes:
                response = await client.get(f"https://reports.example/{report_id}")
                return response.content
            """,
            lines=(3, 4),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        if is_test(ctx):
            return  # a hung test is not a hung worker (a test suite shipped in the package included)
        target = ctx.call_target(node)
        if target is None:
            return
        # The callee's text is unparsed only for a finding: this runs on every call.
        if target in _TLS_OFF_TARGETS or target in {"httpx.Client.__init__", "httpx.AsyncClient.__init__"}:
            verify = keyword(node, "verify")
            if verify is not None and isinstance(verify.value, ast.Constant) and verify.value.value is False:
                ctx.report(
                    verify,
                    f"`{ast.unparse(node.func)}(..., verify=False)` turns off TLS certificate checks, so anyone on "
                    "the network path can impersonate the server; remove it or pass the CA bundle "
                    "path to `verify=`.",
                )
        timeout = keyword(node, "timeout")
        if timeout is not None:
            if isinstance(timeout.value, ast.Constant) and timeout.value.value is None and (
                target in _REQUESTS or target in _HTTPX or target in _URLOPEN
            ):
                ctx.report(
                    timeout,
                    f"`{ast.unparse(node.func)}(..., timeout=None)` can wait forever for a silent upstream and hold "
                    "the worker; set a finite timeout (e.g. `timeout=10`).",
                )
            return
        if has_star_kwargs(node):
            return
        if target in _REQUESTS or (target in _URLOPEN and len(node.args) < 3):
            if _bandit_accepted(ctx.source.line_text(node.lineno)):
                return
            edit = append_arguments_edit(ctx, node, "timeout=10")
            func = ctx.function()
            # Only code a request runs holds a worker; elsewhere (a client SDK, a CLI, a job)
            # the call itself hangs.
            if func is not None and func.node in request_functions(ctx.project):
                what = "a silent upstream blocks this worker forever"
            else:
                what = "a silent upstream leaves it waiting forever"
            ctx.report(
                node,
                f"`{ast.unparse(node.func)}()` has no timeout, so {what}; pass `timeout=` (e.g. `timeout=10`).",
                fix=Fix("Add `timeout=10`", (edit,), safe=False) if edit is not None else None,
            )

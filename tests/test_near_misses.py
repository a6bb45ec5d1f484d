"""The near-misses an expert would not flag stay silent, across the direct and
the transitive blocking rules."""

from __future__ import annotations

import textwrap

from fastapi_expert.config import Config
from fastapi_expert.review.engine import review_sources

SERVICES = textwrap.dedent(
    """
    import time
    import requests

    def fetch(url):
        return requests.get(url, timeout=5).text

    def slow_report():
        time.sleep(1)
        return fetch("https://reports.internal/daily")
    """
)

MAIN = textwrap.dedent(
    """
    import asyncio
    import time

    import anyio
    import requests
    from fastapi import FastAPI
    from fastapi.concurrency import run_in_threadpool
    from starlette.concurrency import run_in_threadpool as starlette_threadpool

    from app.services import fetch, slow_report

    app = FastAPI()

    @app.get("/sync")
    def sync_route() -> dict[str, str]:
        # a plain def route runs in FastAPI's threadpool: blocking is fine here
        time.sleep(0.1)
        return {"body": requests.get("https://example.org", timeout=5).text + fetch("https://a")}

    @app.get("/threadpool")
    async def threadpool() -> dict[str, str]:
        body = await run_in_threadpool(requests.get, "https://example.org", timeout=5)
        report = await run_in_threadpool(slow_report)
        other = await starlette_threadpool(fetch, "https://b")
        return {"body": body.text, "report": report, "other": other}

    @app.get("/anyio")
    async def with_anyio() -> dict[str, str]:
        report = await anyio.to_thread.run_sync(slow_report)
        return {"report": report}

    @app.get("/to-thread")
    async def with_to_thread() -> dict[str, str]:
        await asyncio.to_thread(time.sleep, 0.1)
        text = await asyncio.to_thread(lambda: requests.get("https://c", timeout=5).text)
        return {"text": text}

    @app.get("/executor")
    async def with_executor() -> dict[str, str]:
        loop = asyncio.get_running_loop()
        report = await loop.run_in_executor(None, slow_report)
        return {"report": report}
    """
)


def test_threadpool_and_sync_routes_are_not_flagged() -> None:
    result = review_sources(
        {"app/__init__.py": "", "app/services.py": SERVICES, "app/main.py": MAIN},
        Config(select=("FX2",)),
    )
    assert [f"{f.path}:{f.location.line} {f.code} {f.message}" for f in result.findings] == []


def test_the_same_calls_without_a_thread_are_flagged() -> None:
    bad = textwrap.dedent(
        """
        import requests
        from fastapi import FastAPI
        from app.services import slow_report

        app = FastAPI()

        @app.get("/bad")
        async def bad() -> dict[str, str]:
            report = slow_report()
            return {"body": requests.get("https://example.org", timeout=5).text, "report": report}
        """
    )
    result = review_sources(
        {"app/__init__.py": "", "app/services.py": SERVICES, "app/main.py": bad}, Config(select=("FX2",))
    )
    assert sorted((f.location.line, f.code) for f in result.findings) == [(10, "FX210"), (11, "FX202")]


def test_blocking_call_three_calls_deep_across_two_modules_carries_the_chain() -> None:
    route = textwrap.dedent(
        """
        from fastapi import FastAPI
        from app.services import build_report

        app = FastAPI()

        @app.get("/report")
        async def report(report_id: int) -> dict[str, object]:
            return build_report(report_id)
        """
    )
    services = textwrap.dedent(
        """
        from app.clients import fetch_json

        def build_report(report_id):
            return {"rows": fetch_json(f"/reports/{report_id}")}
        """
    )
    clients = textwrap.dedent(
        """
        import requests

        def fetch_json(path):
            return _get(path)

        def _get(path):
            return requests.get("https://api.internal" + path, timeout=5).json()
        """
    )
    result = review_sources(
        {"app/__init__.py": "", "app/main.py": route, "app/services.py": services, "app/clients.py": clients},
        Config(select=("FX2",)),
    )
    (finding,) = result.findings
    # Reported where the code on the event loop makes the call that eventually blocks.
    assert (finding.code, finding.path, finding.location.line) == ("FX210", "app/main.py", 9)
    assert [(link.location.path, link.location.line) for link in finding.chain] == [
        ("app/main.py", 9),
        ("app/services.py", 5),
        ("app/clients.py", 5),
        ("app/clients.py", 8),
    ]
    assert "requests.get" in finding.chain[-1].note


def test_fx308_reads_the_default_of_an_alias_in_the_module_that_defines_it() -> None:
    """`MaybeName = Annotated[str | None, F(None)]` in app/types.py, with `F` imported
    there only: the field has a default, in the alias's own module's names."""
    sources = {
        "app/__init__.py": "",
        "app/types.py": (
            "from typing import Annotated\n\nfrom pydantic import Field as F\n\n"
            "MaybeName = Annotated[str | None, F(None)]\n"
        ),
        "app/models.py": (
            "from pydantic import BaseModel\n\nfrom app.types import MaybeName\n\n\n"
            "class ItemCreate(BaseModel):\n    name: MaybeName\n"
        ),
    }
    assert [f for f in review_sources(sources, Config(select=("FX308",))).findings] == []

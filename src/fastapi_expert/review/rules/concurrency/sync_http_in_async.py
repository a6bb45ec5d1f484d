from __future__ import annotations

from fastapi_expert.review.model.blocking import BlockingKind
from fastapi_expert.review.rules.base import Invalid, Rule, Valid
from fastapi_expert.review.rules.concurrency._blocking import DirectBlockingCall
from fastapi_expert.types import Severity


class SyncHttpInAsync(DirectBlockingCall, Rule):
    """Flags a synchronous HTTP client call made directly in an `async def`.

    ## What it does
    Finds calls that perform a blocking HTTP request in the body of a coroutine
    function: `requests.get/post/...` and `requests.Session` methods, the
    module-level `httpx.get/post/...` helpers and `httpx.Client` methods,
    `urllib.request.urlopen`, `urllib3` and `http.client`, and the requests of
    the LLM SDKs' synchronous clients (`openai.OpenAI`, `AzureOpenAI`,
    `anthropic.Anthropic`, google-genai's `genai.Client`:
    `client.chat.completions.create(...)`, `client.messages.create(...)`,
    `client.models.generate_content(...)`; openai's module-level
    `openai.chat.completions.create(...)` and its 0.x `openai.ChatCompletion.create(...)`),
    which hold the loop for the seconds a completion takes, and the Docker SDK's
    client (`docker.from_env()`: `client.containers.run(...)`,
    `client.images.build(...)`, each an HTTP request to the Docker daemon, also
    when the client is an attribute the class declares or `__init__` sets,
    `self.docker_client.containers.list()`). Receivers are typed
    from annotations, constructors and module-level instances, so
    `session.get(...)` on a `requests.Session()` is found, while
    `await client.get(...)` on an `httpx.AsyncClient` is not. Calls in a
    nested `def` or `lambda` handed to `run_in_threadpool`,
    `asyncio.to_thread` or `anyio.to_thread.run_sync` are not flagged, and
    neither are plain `def` routes, which FastAPI runs in its threadpool, or
    command-line commands (Typer, Click/asyncclick, Cyclopts, a coroutine
    only ever run with `asyncio.run(...)`, one only such commands await, or a
    coroutine of a script that no other module imports), which run alone on
    their loop, or an app's lifespan (or start-up and
    shutdown handlers) and what only it awaits, which run before the first
    request and after the last.
    The message offers "make it a plain `def`" only for a route or dependency
    that awaits nothing itself.

    ## Why is this bad?
    An `async def` route runs on the event loop. A sync HTTP call holds the
    loop for the whole round trip (and up to the timeout when the remote side
    is slow), so every other request on the worker waits with it: one slow
    upstream turns into a stalled service.

    ## References
    - https://fastapi.tiangolo.com/async/
    - https://www.python-httpx.org/async/
    - https://www.starlette.io/threadpool/
    """

    code = "FX202"
    name = "sync-http-in-async"
    summary = "A synchronous HTTP client call inside `async def` blocks the event loop."
    severity = Severity.ERROR
    kind = BlockingKind.HTTP
    what = "synchronous HTTP request"

    valid = (
        Valid(
            """
            import httpx
            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/weather/{city}")
            async def weather(city: str):
                async with httpx.AsyncClient(timeout=5) as client:
                    response = await client.get("https://api.weather.example/v1", params={"q": city})
                return response.json()
            """
        ),
        Valid(
            """
            import requests
            from fastapi import FastAPI
            from fastapi.concurrency import run_in_threadpool

            app = FastAPI()

            @app.get("/rates")
            def rates():  # sync route: FastAPI runs it in the threadpool
                return requests.get("https://rates.example/latest", timeout=5).json()

            @app.get("/rates/async")
            async def rates_async():
                return await run_in_threadpool(
                    lambda: requests.get("https://rates.example/latest", timeout=5).json()
                )
            """
        ),
        Valid(
            # The SDK's async client, awaited: the loop serves others meanwhile.
            """
            from fastapi import FastAPI
            from openai import AsyncOpenAI

            app = FastAPI()
            client = AsyncOpenAI()

            @app.post("/summaries")
            async def summarise(text: str) -> dict[str, str]:
                reply = await client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
                )
                return {"summary": reply.choices[0].message.content or ""}
            """
        ),
    )
    invalid = (
        Invalid(
            """
            import requests
            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/users/{user_id}/repos")
            async def repos(user_id: str):
                response = requests.get(f"https://api.github.com/users/{user_id}/repos", timeout=5)
                return response.json()
            """,
            lines=(8,),
        ),
        Invalid(
            """
            import httpx as h
            from fastapi import FastAPI

            app = FastAPI()
            client = h.Client(base_url="https://payments.internal")

            @app.post("/orders/{order_id}/pay")
            async def pay(order_id: int):
                client.post(f"/charges/{order_id}")
                return {"status": "charged"}

            async def notify(url: str):
                h.post(url, json={"event": "paid"})
            """,
            lines=(9, 13),
        ),
        Invalid(
            # The synchronous LLM clients: one completion holds the loop for seconds.
            """
            import anthropic
            from fastapi import FastAPI
            from openai import OpenAI

            app = FastAPI()
            openai_client = OpenAI()

            @app.post("/summaries")
            async def summarise(text: str) -> dict[str, str]:
                reply = openai_client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
                )
                review = anthropic.Anthropic().messages.create(
                    model="claude-sonnet-4-5", max_tokens=200, messages=[{"role": "user", "content": text}]
                )
                return {"summary": reply.choices[0].message.content or "", "review": review.content[0].text}
            """,
            lines=(10, 13),
        ),
        Invalid(
            # The Docker SDK talks HTTP to the daemon: a container start can take seconds.
            """
            from dataclasses import dataclass, field

            import docker
            from fastapi import FastAPI

            app = FastAPI()

            @dataclass
            class Sandboxes:
                docker_client: docker.DockerClient = field(default_factory=docker.from_env)

                async def start(self, image: str) -> str:
                    container = self.docker_client.containers.run(image, detach=True)
                    return str(container.id)

            @app.post("/sandboxes")
            async def start_sandbox(image: str) -> dict[str, str]:
                return {"id": await Sandboxes().start(image)}
            """,
            lines=(13,),
        ),
    )

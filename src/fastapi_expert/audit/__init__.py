"""`fastapi-expert audit`: import a live FastAPI app and read what FastAPI built.

    loader.py     import `module:attr` the way uvicorn does (`--app-dir`, `--factory`)
    lifespan.py   drive the app's ASGI lifespan with timeouts
    inspect.py    the route table, middleware and OpenAPI from FastAPI's own objects
    mounts.py     where a route inside `app.mount()` or a `Host` is served (full path, host)
    probes.py     in-process ASGI requests (httpx `ASGITransport`), never a socket
    handshake.py  an in-process WebSocket handshake (httpx speaks only HTTP)
    checks/       one module per runtime check
    report.py     text, json and markdown

Only `loader`, `lifespan`, `inspect`, `mounts`, `probes` and `handshake` import
FastAPI, Starlette or anyio, and only inside functions: `checks/` and `model.py`
stay importable without them, so `explain` and `rules` list the audit codes
without paying FastAPI's import time.
"""

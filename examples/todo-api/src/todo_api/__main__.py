"""`python -m todo_api`: serve with uvicorn using the environment's settings."""

from __future__ import annotations

import argparse

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the todo API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        "todo_api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,  # the request-ID middleware writes one JSON line per request
        proxy_headers=False,  # enable (with --forwarded-allow-ips) only behind a proxy
    )


if __name__ == "__main__":
    main()

"""Writing what a command produces to a file the user named."""

from __future__ import annotations

from pathlib import Path

from fastapi_expert.errors import WriteError


def write_report(path: Path, text: str) -> None:
    """`--output-file PATH`: the report, or a one-line error (exit 2)."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise WriteError(f"cannot write the report to {path}: {exc.strerror or exc}") from exc

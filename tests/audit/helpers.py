"""Audit an app built inside a test, without importing it by name."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from fastapi_expert.audit.loader import LoadedApp
from fastapi_expert.audit.run import AuditResult, audit_loaded
from fastapi_expert.types import Finding

NOWHERE = str(Path(__file__).parent / "no-user-modules-here")


def audit(app: Any, **options: Any) -> AuditResult:
    """Audit `app` as the CLI would, with probes unless `probe=False`."""
    options.setdefault("timeout", 3.0)
    # No module scan for declared-but-unused schemes: every test module would count.
    options.setdefault("app_dir", NOWHERE)
    loaded = LoadedApp(target=f"{__name__}:app", app=app, asgi=app, module=sys.modules[__name__])
    return audit_loaded(loaded, **options)


def findings(app: Any, code: str, **options: Any) -> list[Finding]:
    return [f for f in audit(app, **options).findings if f.code == code]


def codes(app: Any, **options: Any) -> set[str]:
    return {f.code for f in audit(app, **options).findings}

"""One audit: load, inspect, probe, check. Returns plain data for the reporters."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from fastapi_expert.audit.checks import ALL_CHECKS
from fastapi_expert.audit.loader import LoadedApp
from fastapi_expert.audit.model import AppInfo, AuditData, ProbeResults
from fastapi_expert.review.tool_codes import INTERNAL_ERROR
from fastapi_expert.types import Finding, Location


@dataclass
class AuditResult:
    app: AppInfo
    findings: list[Finding]
    probes: ProbeResults | None
    seconds: float


def selected(code: str, select: Sequence[str] | None, ignore: Sequence[str]) -> bool:
    """ruff-style prefixes: `FX4` selects every security code."""
    if select is not None and not any(code.startswith(s) or s == "ALL" for s in select):
        return False
    return not any(code.startswith(i) for i in ignore)


def audit(
    target: str,
    *,
    app_dir: str | None = None,
    factory: bool = False,
    probe: bool = True,
    timeout: float = 5.0,
    production: bool = False,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    routes_only: bool = False,
) -> AuditResult:
    """Import `target` (MODULE:ATTRIBUTE) the way uvicorn does and audit it."""
    from fastapi_expert.audit.loader import load_app

    started = time.perf_counter()
    with _quiet_user_code():
        loaded = load_app(target, app_dir=app_dir, factory=factory)
    result = audit_loaded(
        loaded,
        app_dir=app_dir,
        probe=probe,
        timeout=timeout,
        production=production,
        select=select,
        ignore=ignore,
        routes_only=routes_only,
    )
    result.seconds = time.perf_counter() - started
    return result


def _internal_error(location: Location, message: str) -> Finding:
    return Finding(INTERNAL_ERROR.code, INTERNAL_ERROR.name, INTERNAL_ERROR.severity, location, message)


@contextlib.contextmanager
def _quiet_user_code() -> Iterator[None]:
    # stdout is the report's: whatever the user's code prints (or the log handlers
    # it creates while we import it) goes to stderr. Its warnings are not the
    # audit's to raise (nor to turn into crashes under `-W error`).
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore")
        yield


def audit_loaded(
    loaded: LoadedApp,
    *,
    app_dir: str | None = None,
    probe: bool = True,
    timeout: float = 5.0,
    production: bool = False,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    routes_only: bool = False,
) -> AuditResult:
    """Audit an app that is already imported (the tests build theirs in place)."""
    from fastapi_expert.audit.inspect import inspect_app

    started = time.perf_counter()
    with _quiet_user_code():
        info = inspect_app(loaded, app_dir=app_dir, production=production)
        if routes_only:
            return AuditResult(info, [], None, time.perf_counter() - started)
        probes = None
        if probe:
            from fastapi_expert.audit.probes import probe_sync

            # The app's INFO logs of our own probe requests are noise.
            previous = logging.root.manager.disable
            logging.disable(logging.INFO)
            try:
                probes = probe_sync(loaded, info, timeout=timeout)
            finally:
                logging.disable(previous)
    data = AuditData(info, probes)
    findings = [_internal_error(info.location, message) for message in info.internal_errors]
    for check in ALL_CHECKS:
        if not selected(check.code, select, ignore):
            continue
        try:
            findings.extend(check().run(data))
        except Exception as exc:  # like review's FX002: one broken check, the others still run
            findings.append(_internal_error(info.location, f"check {check.code} crashed: {type(exc).__name__}: {exc}"))
    findings.sort(key=lambda f: f.sort_key())
    return AuditResult(info, findings, probes, time.perf_counter() - started)

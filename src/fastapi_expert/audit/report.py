"""The audit's reports: text (a table, then findings), json, markdown."""

from __future__ import annotations

import json
from collections import Counter
from itertools import groupby

from fastapi_expert.audit.model import RouteInfo
from fastapi_expert.audit.run import AuditResult
from fastapi_expert.types import Finding, Severity

_COLUMNS = ("METHOD", "PATH", "NAME", "AUTH", "DEPENDENCIES", "RESPONSE MODEL", "STATUS", "TAGS")
_MAX_CELL = 48


def _name(route: RouteInfo) -> str:
    if route.framework:
        return route.name + " (docs)"
    if route.kind == "mount" and route.mounted_app:
        # Whether the audit looked inside: an opaque mount's routes are not in the table.
        inside = "read" if route.entered else "opaque"
        return f"{route.name} [{route.mounted_app}, {inside}]".lstrip()
    return route.name


def _row(route: RouteInfo) -> tuple[str, ...]:
    status = "" if route.kind not in {"http"} else str(route.status_code or 200)
    return (
        route.method_label,
        route.display_path,
        _name(route),
        route.auth_label,
        ", ".join(route.dependencies) or "-",
        route.response_model or "-",
        status or "-",
        ", ".join(route.tags) or "-",
    )


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def route_table_text(routes: list[RouteInfo]) -> str:
    rows = [_COLUMNS, *(tuple(_clip(c) for c in _row(r)) for r in routes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    return "\n".join(lines) + "\n"


def summary(result: AuditResult) -> dict[str, object]:
    findings = result.findings
    by_severity = Counter(f.severity.value for f in findings)
    probes = result.probes
    return {
        "app": result.app.target,
        "fastapi_version": result.app.fastapi_version,
        "routes": len(result.app.routes),
        "findings": len(findings),
        "by_severity": {k: by_severity.get(k, 0) for k in ("error", "warning", "info")},
        "by_code": dict(sorted(Counter(f.code for f in findings).items())),
        "production": result.app.production,
        "middleware": [m.name for m in result.app.middleware],
        "exception_handlers": result.app.exception_handlers,
        "mounted_apps": [sub.to_dict() for sub in result.app.sub_apps],
        "probes": None if probes is None else {"requests": len(probes.exchanges), "seconds": round(probes.seconds, 3)},
        "seconds": round(result.seconds, 3),
    }


def _summary_line(result: AuditResult) -> str:
    findings = result.findings
    counts = Counter(f.severity for f in findings)
    probes = result.probes
    probe_text = "no probes" if probes is None else f"{len(probes.exchanges)} probe requests"
    tail = f" in {len(result.app.routes)} routes ({probe_text}, {result.seconds:.2f} s)."
    if not findings:
        return "No findings" + tail
    return (
        f"Found {len(findings)} finding{'s' if len(findings) != 1 else ''} ({counts[Severity.ERROR]} error, "
        f"{counts[Severity.WARNING]} warning, {counts[Severity.INFO]} info)" + tail
    )


def _findings_text(findings: list[Finding]) -> list[str]:
    out: list[str] = []
    for path, group in groupby(findings, key=lambda f: f.location.path):
        out.append(path)
        for f in group:
            out.append(f"  {f.location.line}:{f.location.column}  {f.severity.value}  {f.code}  {f.message}  [{f.name}]")
        out.append("")
    return out


def render_text(result: AuditResult, *, routes_only: bool = False) -> str:
    app = result.app
    head = f"{app.target} (FastAPI {app.fastapi_version})"
    if app.production:
        head += f", production: {app.production_reason}"
    out = [head, "", route_table_text(app.routes).rstrip("\n"), ""]
    if routes_only:
        return "\n".join(out)
    if app.middleware:
        out.append("Middleware (outermost first): " + ", ".join(m.name for m in app.middleware))
    out += ["Exception handlers: " + (", ".join(app.exception_handlers) or "none")]
    for sub in app.sub_apps:
        if sub.is_app:  # a Router has neither
            middleware = ", ".join(m.name for m in sub.middleware) or "none"
            handlers = ", ".join(sub.exception_handlers) or "none"
            out.append(f"Mounted {sub.kind} at {sub.host or ''}{sub.path or '/'}: middleware {middleware}; exception handlers {handlers}")
    out.append("")
    out += _findings_text(result.findings)
    out.append(_summary_line(result))
    return "\n".join(out) + "\n"


def render_json(result: AuditResult, *, routes_only: bool = False) -> str:
    document = {
        "version": 1,
        "routes": [r.to_dict() for r in result.app.routes],
        "findings": [] if routes_only else [f.to_dict() for f in result.findings],
        "summary": summary(result),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(result: AuditResult, *, routes_only: bool = False) -> str:
    app = result.app
    out = [f"### API audit: `{app.target}`", "", f"FastAPI {app.fastapi_version}, {len(app.routes)} routes.", ""]
    out += ["| " + " | ".join(c.title() for c in _COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    for route in app.routes:
        cells = list(_row(route))
        cells[1] = f"`{cells[1]}`"
        out.append("| " + " | ".join(_md(c) for c in cells) + " |")
    out.append("")
    if routes_only:
        return "\n".join(out)
    if result.findings:
        out += [f"#### Findings ({len(result.findings)})", "", "| | code | where | finding |", "|---|---|---|---|"]
        icon = {Severity.ERROR: "🔴", Severity.WARNING: "🟠", Severity.INFO: "🔵"}
        for f in result.findings:
            where = f"`{f.location.path}:{f.location.line}`"
            out.append(f"| {icon[f.severity]} | {f.code} {f.name} | {where} | {_md(f.message)} |")
        out.append("")
    out.append(_summary_line(result))
    return "\n".join(out) + "\n"

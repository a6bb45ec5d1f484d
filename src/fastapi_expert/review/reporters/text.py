"""Human output: findings grouped by file, each with a code frame.

Colour only when asked or when writing to a terminal, and never when
`NO_COLOR` is set (https://no-color.org).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from itertools import groupby
from typing import TextIO

from fastapi_expert.review.engine import ReviewResult
from fastapi_expert.review.source import source_lines
from fastapi_expert.types import Finding, Severity


def use_color(mode: str, stream: TextIO) -> bool:
    if mode == "always":
        return True
    if mode == "never" or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR") or os.environ.get("CLICOLOR_FORCE"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


class _Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *codes: str) -> str:
        if not self.enabled or not codes:
            return text
        return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"


_SEVERITY_COLOUR = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "36"}


def _frame(finding: Finding, lines: list[str], style: _Style) -> Iterable[str]:
    loc = finding.location
    if not lines or loc.line > len(lines):
        return
    first = max(loc.line - 1, 1)
    width = len(str(loc.line))
    for number in range(first, loc.line + 1):
        text = lines[number - 1].rstrip()
        yield f"    {style(str(number).rjust(width), '2')} | {text}"
    line_text = lines[loc.line - 1]
    start = max(loc.column - 1, 0)
    end = loc.end_column - 1 if loc.end_line == loc.line else len(line_text.rstrip())
    carets = "^" * max(end - start, 1)
    yield f"    {' ' * width} | {' ' * start}{style(carets, _SEVERITY_COLOUR[finding.severity], '1')}"


def render(result: ReviewResult, *, color: bool, show_source: bool = True) -> str:
    style = _Style(color)
    out: list[str] = []
    for path, group in groupby(result.findings, key=lambda f: f.location.path):
        out.append(style(path, "1", "4"))
        lines = source_lines(result.sources.get(path, ""))
        for finding in group:
            loc = finding.location
            sev = style(finding.severity.value, _SEVERITY_COLOUR[finding.severity])
            fixable = " [*]" if finding.fix and finding.fix.safe else " [unsafe fix]" if finding.fix else ""
            out.append(
                f"  {loc.line}:{loc.column}  {sev}  {style(finding.code, '1')}  "
                f"{finding.message}{style(fixable, '32')}  {style(f'[{finding.name}]', '2')}"
            )
            if show_source:
                out.extend(_frame(finding, lines, style))
            if finding.chain:
                out.append(f"    {style('chain:', '2')}")
                for link in finding.chain:
                    where = f"{link.location.path}:{link.location.line}:{link.location.column}"
                    out.append(f"      {style(where, '36')}  {link.note}")
        out.append("")
    out.append(_summary_line(result, style))
    return "\n".join(out) + "\n"


def _summary_line(result: ReviewResult, style: _Style) -> str:
    findings = result.findings
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    safe = sum(1 for f in findings if f.fix and f.fix.safe)
    unsafe = sum(1 for f in findings if f.fix and not f.fix.safe)
    if not findings:
        head = style("No findings", "32", "1")
    else:
        head = style(f"Found {len(findings)} finding{'s' if len(findings) != 1 else ''}", "1")
        head += (
            f" ({counts[Severity.ERROR]} error, {counts[Severity.WARNING]} warning, "
            f"{counts[Severity.INFO]} info)"
        )
    cached = ", from the cache" if result.from_cache else ""
    tail = f" in {result.files} file{'s' if result.files != 1 else ''} ({result.lines} lines, {result.seconds:.2f} s{cached})."
    fixes = ""
    if safe:
        fixes += f"\n{safe} fixable with --fix"
    if unsafe:
        fixes += f"{'' if safe else chr(10)}{'; ' if safe else ''}{unsafe} more with --unsafe-fixes"
    return head + tail + fixes


def render_statistics(result: ReviewResult) -> str:
    rows: dict[str, list[Finding]] = {}
    for f in result.findings:
        rows.setdefault(f.code, []).append(f)
    lines = []
    for code, items in sorted(rows.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        fixable = sum(1 for f in items if f.fix is not None)
        mark = f"[*{fixable}]" if fixable else ""
        lines.append(f"{len(items):>5}  {code}  {items[0].name:<40} {mark}")
    return "\n".join(lines) + ("\n" if lines else "")

"""Applying fixes: text edits, non-overlapping per pass, re-parsed to prove them.

A fix is all-or-nothing: when any of its edits overlaps an edit already taken
in this pass, the whole fix waits for the next pass (the caller re-reviews the
new text, so positions are fresh). After applying, the text must still parse;
otherwise the pass is rolled back and the fixes are reported as failed.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi_expert.review.source import split_keepends
from fastapi_expert.types import Edit, Finding, Fix


@dataclass
class FixOutcome:
    text: str
    applied: list[Finding]
    failed: list[Finding]


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for line in split_keepends(text):
        starts.append(starts[-1] + len(line))
    return starts


def _offset(starts: list[int], text: str, line: int, column: int) -> int:
    if line - 1 >= len(starts):
        return len(text)
    return min(starts[line - 1] + column - 1, len(text))


def _span(starts: list[int], text: str, edit: Edit) -> tuple[int, int]:
    return _offset(starts, text, edit.line, edit.column), _offset(starts, text, edit.end_line, edit.end_column)


def parses(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return False
    return True


def wanted(fix: Fix | None, unsafe: bool) -> bool:
    return fix is not None and bool(fix.edits) and (fix.safe or unsafe)


def apply_fixes(text: str, findings: Iterable[Finding], unsafe: bool = False) -> FixOutcome:
    """Apply one pass of non-overlapping fixes of `findings` to `text`."""
    starts = _line_starts(text)
    taken: list[tuple[int, int]] = []
    chosen: list[tuple[Finding, list[tuple[int, int, str]]]] = []
    for finding in sorted(findings, key=Finding.sort_key):
        if not wanted(finding.fix, unsafe):
            continue
        assert finding.fix is not None
        spans = [(*_span(starts, text, e), e.content) for e in finding.fix.edits]
        if any(_overlaps(a, b, x, y) for a, b, _ in spans for x, y in taken):
            continue
        taken += [(a, b) for a, b, _ in spans]
        chosen.append((finding, spans))
    edits = sorted((s for _, spans in chosen for s in spans), key=lambda s: (s[0], s[1]), reverse=True)
    new = text
    for start, end, content in edits:
        new = new[:start] + content + new[end:]
    applied = [f for f, _ in chosen]
    if applied and not parses(new):
        return FixOutcome(text, [], applied)
    return FixOutcome(new, applied, [])


def _overlaps(a: int, b: int, x: int, y: int) -> bool:
    if a == b or x == y:  # insertions collide only at the same point or strictly inside
        return (a == x) or (x < a < y) or (a < x < b)
    return a < y and x < b

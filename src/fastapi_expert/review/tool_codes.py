"""Findings about the review itself (`FX0xx`): not rules, but listed with them."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi_expert.types import Severity


@dataclass(frozen=True, slots=True)
class ToolCode:
    code: str
    name: str
    severity: Severity
    summary: str
    doc: str


FILE_NOT_ANALYSED = ToolCode(
    "FX001",
    "file-not-analysed",
    Severity.ERROR,
    "A file could not be read or parsed, so no rule ran on it.",
    """## What it does
Reports a file that could not be analysed: a syntax error, an undecodable
encoding, a null byte, a file too large to be hand-written code, or a path
that cannot be read (a symlink loop, missing permissions). The message carries
the parser's own words and position.

## Why is this bad?
Every defect in that file goes unreported; a green review would be a lie.

## References
- https://docs.python.org/3/library/ast.html#ast.parse
""",
)

INTERNAL_ERROR = ToolCode(
    "FX002",
    "internal-error",
    Severity.ERROR,
    "A rule crashed on a file; the other rules still ran.",
    """## What it does
Reports that one rule raised an exception on one file, with the rule's code and
the exception. The rule is skipped for the rest of that file; every other rule
still runs, and the review exits with status 2.

## Why is this bad?
It is a bug in fastapi-expert, not in your code: please report it with the
file (or a reduced example) that triggers it.

## References
- https://github.com/ (the project's issue tracker)
""",
)

TOOL_CODES: tuple[ToolCode, ...] = (FILE_NOT_ANALYSED, INTERNAL_ERROR)

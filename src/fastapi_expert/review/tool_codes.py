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

NEWER_SYNTAX_ANALYSED = ToolCode(
    "FX003",
    "newer-syntax-analysed",
    Severity.INFO,
    "Files written for a newer Python were analysed through a position-keeping rewrite.",
    """## What it does
Says once per review how many files use syntax that the Python running the
review cannot parse (PEP 695 `type` statements and `def f[T]`, PEP 701
f-strings such as `f"{d["k"]}"`, PEP 758 `except A, B:`, ...), and which
Python reads them natively. Those files were still analysed: each newer
construct is rewritten into older syntax of the same length, so every line and
column in the findings is exact.

## Why is this bad?
It is not: it tells you the review did not silently skip those files, and that
fixes touching a rewritten construct are not offered. Run the review under the
named Python (or newer) to have those fixes too.

## References
- https://peps.python.org/pep-0695/
- https://peps.python.org/pep-0701/
- https://peps.python.org/pep-0758/
""",
)

TOOL_CODES: tuple[ToolCode, ...] = (FILE_NOT_ANALYSED, INTERNAL_ERROR, NEWER_SYNTAX_ANALYSED)

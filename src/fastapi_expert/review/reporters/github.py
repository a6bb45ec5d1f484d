"""`--format github`: GitHub Actions workflow commands, one annotation per finding.

    ::error file=app/main.py,line=4,endLine=4,col=5,endColumn=18,title=FX201 blocking-sleep-in-async::message

Columns are sent only when the finding is on one line (GitHub ignores them
otherwise). Errors come first: a step shows only the first 10 of each level.
"""

from __future__ import annotations

from fastapi_expert.review.engine import ReviewResult
from fastapi_expert.types import Finding

_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    loc = finding.location
    props = [f"file={escape_property(loc.path)}", f"line={loc.line}", f"endLine={loc.end_line}"]
    if loc.line == loc.end_line:
        props += [f"col={loc.column}", f"endColumn={loc.end_column}"]
    props.append(f"title={escape_property(f'{finding.code} {finding.name}')}")
    message = f"{loc.path}:{loc.line}:{loc.column}: {finding.code} {finding.message}"
    return f"::{_COMMAND[finding.severity.value]} {','.join(props)}::{escape_data(message)}"


def render(result: ReviewResult) -> str:
    ordered = sorted(result.findings, key=lambda f: (-f.severity.rank, f.sort_key()))
    return "".join(annotation(f) + "\n" for f in ordered)

"""The rule catalogue as users read it: `rules`, `explain`, the README table.

One source: each rule's class metadata, docstring and examples.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from functools import cache

from fastapi_expert.review.registry import all_rules
from fastapi_expert.review.rules.base import Rule
from fastapi_expert.review.tool_codes import TOOL_CODES
from fastapi_expert.types import Area

DOCS_URL = "https://github.com/fastapi-expert/fastapi-expert/blob/main/docs/rules.md"


@dataclass(frozen=True)
class Entry:
    code: str
    name: str
    area: Area
    severity: str
    fixable: bool
    default_enabled: bool
    summary: str
    doc: str
    rule: type[Rule] | None

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "area": int(self.area),
            "area_title": self.area.title,
            "severity": self.severity,
            "fixable": self.fixable,
            "default_enabled": self.default_enabled,
            "summary": self.summary,
        }


@cache
def entries() -> tuple[Entry, ...]:
    """Every code the tool reports, with its rendered docs (built once: the
    rules are fixed for the life of the process)."""
    out = [
        Entry(t.code, t.name, Area.TOOL, t.severity.value, False, True, t.summary, t.doc, None)
        for t in TOOL_CODES
    ]
    out += [
        Entry(r.code, r.name, r.area, r.severity.value, r.fixable, r.default_enabled, r.summary, full_doc(r), r)
        for r in all_rules()
    ]
    known = {e.code for e in out}
    out += [e for e in audit_entries() if e.code not in known]
    return tuple(sorted(out, key=lambda e: e.code))


def audit_entries() -> list[Entry]:
    """The runtime checks of `fastapi-expert audit` (those reusing a rule's code
    are documented by the rule). Importing them does not import FastAPI."""
    from fastapi_expert.audit.checks import ALL_CHECKS

    note = "*Runtime check: reported by `fastapi-expert audit`, which imports and probes the app.*\n\n"
    return [
        Entry(c.code, c.name, c.area(), c.severity.value, False, c.default_enabled, c.summary, note + c.doc() + "\n", None)
        for c in ALL_CHECKS
    ]


def find(code_or_name: str) -> Entry | None:
    key = code_or_name.strip()
    return next((e for e in entries() if e.code == key.upper() or e.name == key), None)


def _block(code: str) -> str:
    return "```python\n" + code.rstrip("\n") + "\n```"


def full_doc(rule: type[Rule]) -> str:
    """The docstring with Example / Use instead rendered from the examples."""
    doc = rule.doc()
    first, _, rest = doc.partition("\n")
    parts = [first.strip(), ""]
    body = rest.strip("\n")
    sections = body.split("## References")
    parts.append(sections[0].rstrip())
    if rule.invalid:
        example = rule.invalid[0]
        parts += ["", "## Example", "", _block(example.source)]
    if rule.valid:
        parts += ["", "## Use instead", "", _block(rule.valid[0].source)]
    fixed = next((i.fixed_source for i in rule.invalid if i.fixed_source), None)
    if fixed:
        parts += ["", "## After `--fix`", "", _block(fixed)]
    if len(sections) > 1:
        parts += ["", "## References" + sections[1].rstrip()]
    return "\n".join(parts).strip() + "\n"


def render_explain(entry: Entry) -> str:
    head = f"{entry.code} {entry.name}"
    meta = (
        f"area: {entry.area.title} | severity: {entry.severity} | "
        f"fix: {'yes' if entry.fixable else 'no'} | "
        f"{'on by default' if entry.default_enabled else 'off by default (enable with --select)'}"
    )
    return f"{head}\n{'=' * len(head)}\n{meta}\n\n{entry.summary}\n\n{entry.doc}"


def render_rules_text() -> str:
    lines = []
    for e in entries():
        flags = ("fix" if e.fixable else "   ") + (" off" if not e.default_enabled else "    ")
        lines.append(f"{e.code}  {e.severity:<7}  {flags}  {e.name:<40}  {e.summary}")
    return "\n".join(lines) + "\n"


def render_rules_json() -> str:
    return json.dumps({"version": 1, "rules": [e.to_dict() for e in entries()]}, indent=2) + "\n"


def render_rules_markdown() -> str:
    """The README table (kept current by a test)."""
    out: list[str] = []
    for area in Area:
        items = [e for e in entries() if e.area is area]
        if not items:
            continue
        out += [f"**{area.title}** ({len(items)})", "", "| code | name | severity | fix | summary |", "|---|---|---|---|---|"]
        for e in items:
            summary = e.summary.replace("|", "\\|")
            fix = "yes" if e.fixable else ""
            name = e.name if e.default_enabled else f"{e.name} (off by default)"
            out.append(f"| {e.code} | {name} | {e.severity} | {fix} | {summary} |")
        out.append("")
    return "\n".join(out)


def render_rules_docs() -> str:
    """docs/rules.md: every rule's full documentation."""
    out = ["# Rules", "", "Generated by `fastapi-expert rules --format docs`; do not edit by hand.", ""]
    for e in entries():
        out += [f"## {e.code} {e.name}", "", f"*{e.area.title} · {e.severity}*", "", textwrap.indent(e.doc, "").replace("\n## ", "\n#### "), ""]
    return "\n".join(out)

"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning and other viewers.

Every rule of the catalogue goes in `tool.driver.rules` (GitHub needs the rule
metadata of each result); results carry 1-based regions with `endColumn` just
after the last character, a stable line-hash fingerprint, and fixes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePosixPath

from fastapi_expert import __version__
from fastapi_expert.review import catalogue
from fastapi_expert.review.engine import ReviewResult
from fastapi_expert.review.source import source_lines
from fastapi_expert.types import Area, Finding

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_PROBLEM = {"error": "error", "warning": "warning", "info": "recommendation"}
_TAGS = {
    Area.TOOL: "tool",
    Area.ARCHITECTURE: "architecture",
    Area.ASYNC: "async",
    Area.PYDANTIC: "pydantic",
    Area.SECURITY: "security",
    Area.PERFORMANCE: "performance",
    Area.TESTING: "testing",
    Area.API_DESIGN: "api-design",
}
# GitHub shows security-severity on security rules only; any value marks a rule as one.
_SECURITY_SEVERITY = {"error": "8.0", "warning": "5.0", "info": "2.0"}


def _rule(entry: catalogue.Entry) -> dict[str, object]:
    properties: dict[str, object] = {
        "tags": ["fastapi", _TAGS[entry.area]],
        "precision": "high",
        "problem.severity": _PROBLEM[entry.severity],
    }
    if entry.area is Area.SECURITY:
        properties["security-severity"] = _SECURITY_SEVERITY[entry.severity]
    return {
        "id": entry.code,
        "name": entry.name,
        "shortDescription": {"text": entry.summary[:1024]},
        "fullDescription": {"text": _first_paragraph(entry.doc)[:1024]},
        "help": {"text": entry.doc, "markdown": entry.doc},
        "helpUri": f"{catalogue.DOCS_URL}#{entry.code.lower()}-{entry.name}",
        "defaultConfiguration": {"level": _LEVEL[entry.severity], "enabled": entry.default_enabled},
        "properties": properties,
    }


def _first_paragraph(doc: str) -> str:
    for block in doc.split("\n\n"):
        text = " ".join(line.strip() for line in block.splitlines() if not line.startswith("#")).strip()
        if text:
            return text
    return doc.strip() or "See the rule documentation."


def _fingerprint(finding: Finding, line_text: str) -> str:
    # Bandit's recipe: file, rule and the line's text, so moving code keeps the hash.
    digest = hashlib.sha256(f"{finding.path}|{finding.code}|{line_text.strip()}".encode()).hexdigest()
    return f"{digest[:32]}:1"


def _result(finding: Finding, index: int, line_text: str) -> dict[str, object]:
    loc = finding.location
    region = {
        "startLine": loc.line,
        "startColumn": loc.column,
        "endLine": loc.end_line,
        "endColumn": max(loc.end_column, loc.column + 1) if loc.end_line == loc.line else loc.end_column,
    }
    uri = PurePosixPath(finding.path).as_posix()
    result: dict[str, object] = {
        "ruleId": finding.code,
        "ruleIndex": index,
        "level": _LEVEL[finding.severity.value],
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}],
        "partialFingerprints": {"primaryLocationLineHash": _fingerprint(finding, line_text)},
    }
    if finding.chain:
        result["relatedLocations"] = [
            {
                "id": i,
                "message": {"text": link.note},
                "physicalLocation": {
                    "artifactLocation": {"uri": link.location.path},
                    "region": {"startLine": link.location.line, "startColumn": link.location.column},
                },
            }
            for i, link in enumerate(finding.chain)
        ]
    if finding.fix is not None and finding.fix.edits:
        result["fixes"] = [
            {
                "description": {"text": finding.fix.title + ("" if finding.fix.safe else " (unsafe)")},
                "artifactChanges": [
                    {
                        "artifactLocation": {"uri": uri},
                        "replacements": [
                            {
                                "deletedRegion": {
                                    "startLine": e.line,
                                    "startColumn": e.column,
                                    "endLine": e.end_line,
                                    "endColumn": e.end_column,
                                },
                                "insertedContent": {"text": e.content},
                            }
                            for e in finding.fix.edits
                        ],
                    }
                ],
            }
        ]
    return result


def render(result: ReviewResult) -> str:
    entries = catalogue.entries()
    index = {e.code: i for i, e in enumerate(entries)}
    results = []
    for finding in result.findings:
        lines = source_lines(result.sources.get(finding.path, ""))
        line_text = lines[finding.location.line - 1] if 0 < finding.location.line <= len(lines) else ""
        results.append(_result(finding, index[finding.code], line_text))
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "fastapi-expert",
                        "semanticVersion": __version__,
                        "informationUri": catalogue.DOCS_URL,
                        "rules": [_rule(e) for e in entries],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

"""SARIF validates against the official schema; GitHub annotations follow the
workflow-command syntax."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fastapi_expert.review.engine import review_sources
from fastapi_expert.review.reporters import github, sarif
from fastapi_expert.types import Finding, Location, Severity

SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sarif-schema-2.1.0.json"
SOURCES = {
    "app/main.py": "import time\nfrom app.helpers import slow\n\nasync def f():\n    time.sleep(1)\n    slow()\n",
    "app/helpers.py": "import time\n\ndef slow():\n    time.sleep(2)\n",
    "app/broken.py": "def (:\n",
}


def test_sarif_validates_against_the_official_schema() -> None:
    if not SCHEMA.is_file():
        pytest.skip(f"the SARIF schema is read from {SCHEMA}, absent in this checkout (see shared/data/README.md)")
    import jsonschema

    document = json.loads(sarif.render(review_sources(SOURCES)))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    run = document["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert len(rule_ids) == len(set(rule_ids)) and "FX201" in rule_ids and "FX001" in rule_ids
    for rule in run["tool"]["driver"]["rules"]:
        for key in ("shortDescription", "fullDescription", "help"):
            assert rule[key]["text"].strip(), (rule["id"], key)
    by_rule = {r["ruleId"]: r for r in run["results"]}
    sleep = by_rule["FX201"]
    assert sleep["locations"][0]["physicalLocation"]["region"] == {"startLine": 5, "startColumn": 5, "endLine": 5, "endColumn": 18}
    assert run["tool"]["driver"]["rules"][sleep["ruleIndex"]]["id"] == "FX201"
    assert sleep["fixes"][0]["artifactChanges"][0]["replacements"]
    assert by_rule["FX210"]["relatedLocations"]
    assert run["columnKind"] == "unicodeCodePoints"


ANNOTATION = re.compile(
    r"^::(error|warning|notice) file=[^,:]+,line=\d+,endLine=\d+(,col=\d+,endColumn=\d+)?,title=[^:]+::.+$"
)


def test_github_annotations_syntax_and_escaping() -> None:
    out = github.render(review_sources(SOURCES))
    lines = out.splitlines()
    assert lines and all(ANNOTATION.match(line) for line in lines), lines
    finding = Finding(
        "FX201", "x", Severity.WARNING, Location("a,b:c.py", 2, 3, 4, 5), "100% bad\nsecond line"
    )
    line = github.annotation(finding)
    assert line.startswith("::warning file=a%2Cb%3Ac.py,line=2,endLine=4,title=FX201 x::")
    assert "col=" not in line  # multi-line findings send no columns
    assert line.endswith("100%25 bad%0Asecond line")

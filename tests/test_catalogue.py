"""The catalogue keeps the rules honest: identity, docs, examples, the README."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest

from fastapi_expert.review import catalogue
from fastapi_expert.review.registry import all_rules
from fastapi_expert.review.rules.base import validate_rule_class
from fastapi_expert.types import Area

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_rule_metadata(rule: type) -> None:
    assert validate_rule_class(rule) == []


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_examples_parse_and_module_is_named_after_the_rule(rule: type) -> None:
    for example in (*rule.valid, *rule.invalid):  # type: ignore[attr-defined]
        for text in example.sources.values():
            ast.parse(text)
        fixed = getattr(example, "fixed_source", None)
        if fixed:
            ast.parse(fixed)
    assert rule.__module__.rsplit(".", 1)[-1] == rule.name.replace("-", "_")  # type: ignore[attr-defined]


def test_codes_and_names_are_unique() -> None:
    rules = all_rules()
    assert len({r.code for r in rules}) == len(rules)
    assert len({r.name for r in rules}) == len(rules)


def test_rule_lives_in_its_areas_package() -> None:
    packages = {
        Area.ARCHITECTURE: "architecture",
        Area.ASYNC: "concurrency",
        Area.PYDANTIC: "validation",
        Area.SECURITY: "security",
        Area.PERFORMANCE: "performance",
        Area.TESTING: "testing",
        Area.API_DESIGN: "api_design",
    }
    for rule in all_rules():
        assert rule.__module__.split(".")[-2] == packages[rule.area], rule.code


def test_catalogue_size_per_area() -> None:
    per_area = Counter(r.area for r in all_rules())
    assert sum(per_area.values()) >= 50, per_area
    for area in Area:
        if area is Area.TOOL:
            continue
        assert per_area[area] >= 5, f"{area.title}: {per_area[area]}"


def test_readme_rule_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- rules:start -->\n(.*?)<!-- rules:end -->", readme, re.S)
    assert match, "README lacks the rules markers"
    assert match.group(1).strip() == catalogue.render_rules_markdown().strip(), "run `make docs`"


def test_docs_rules_page_is_current() -> None:
    page = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert page == catalogue.render_rules_docs(), "run `make docs`"


def test_every_rule_explains_itself() -> None:
    for entry in catalogue.entries():
        text = catalogue.render_explain(entry)
        assert entry.code in text and "## References" in text

"""Helpers of the message-wording tests (`test_rule_messages*.py`): the rule
examples check *where* a rule fires, those tests check *what it says*."""

from __future__ import annotations

from fastapi_expert.config import Config
from fastapi_expert.review.engine import review_sources
from fastapi_expert.review.registry import all_rules
from fastapi_expert.review.rules.base import Invalid
from fastapi_expert.types import Finding


def findings(code: str, example: Invalid) -> list[Finding]:
    """The findings of rule `code` alone on the example's main file."""
    result = review_sources(example.sources, Config(select=(code,)))
    return [f for f in result.findings if f.code == code and f.path == example.filename]


def findings_by_line(code: str, example: Invalid) -> dict[int, Finding]:
    return {f.location.line: f for f in findings(code, example)}


def messages(code: str, example: Invalid) -> dict[int, str]:
    return {f.location.line: f.message for f in findings(code, example)}


def invalid(code: str, needle: str) -> Invalid:
    """The `Invalid` example of rule `code` whose source contains `needle`."""
    rule = next(r for r in all_rules() if r.code == code)
    return next(e for e in rule.invalid if needle in e.source)

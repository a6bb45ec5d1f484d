"""Every rule's examples are its tests: valid ones draw no finding of the rule,
invalid ones draw findings on exactly the stated lines, and a fixable rule's
fixes turn the invalid code into the stated result."""

from __future__ import annotations

import pytest

from fastapi_expert.config import Config
from fastapi_expert.review.engine import review_sources
from fastapi_expert.review.fixes import apply_fixes
from fastapi_expert.review.registry import all_rules
from fastapi_expert.review.rules.base import Invalid, Rule, Valid
from fastapi_expert.types import Finding

CASES = [
    pytest.param(rule, example, id=f"{rule.code}-{kind}-{i}")
    for rule in all_rules()
    for kind, examples in (("valid", rule.valid), ("invalid", rule.invalid))
    for i, example in enumerate(examples, start=1)
]


def _review(rule: type[Rule], example: Valid | Invalid, text: str | None = None) -> list[Finding]:
    sources = example.sources
    if text is not None:
        sources[example.filename] = text
    result = review_sources(sources, Config(select=(rule.code,)))
    internal = [f for f in result.findings if f.code.startswith("FX0")]
    assert not internal, [f.message for f in internal]
    return [f for f in result.findings if f.code == rule.code]


@pytest.mark.parametrize(("rule", "example"), CASES)
def test_example(rule: type[Rule], example: Valid | Invalid) -> None:
    findings = _review(rule, example)
    if isinstance(example, Valid):
        assert findings == [], [f"{f.path}:{f.location.line} {f.message}" for f in findings]
        return
    here = [f for f in findings if f.path == example.filename]
    assert sorted({f.location.line for f in here}) == sorted(set(example.lines)), (
        f"flagged lines {sorted(f.location.line for f in here)}, expected {example.lines}: "
        + "; ".join(f.message for f in here)
    )
    for f in here:
        assert f.message.strip(), "empty message"
    if example.fixed_source is None:
        assert all(f.fix is None for f in here) or rule.fixable
        return
    text = example.source
    for _ in range(10):
        findings = _review(rule, example, text)
        mine = [f for f in findings if f.path == example.filename and f.fix is not None]
        if not mine:
            break
        outcome = apply_fixes(text, mine, unsafe=True)
        assert not outcome.failed, "fix produced code that does not parse"
        if outcome.text == text:
            break
        text = outcome.text
    assert text == example.fixed_source

"""The wording of messages that were wrong on real code (second precision sample,
security rules): the rule examples check *where* a rule fires, these check *what it says*."""

from __future__ import annotations

from fastapi_expert.config import Config
from fastapi_expert.review.engine import review_sources
from fastapi_expert.review.registry import all_rules
from fastapi_expert.review.rules.base import Invalid


def _messages(code: str, example: Invalid) -> dict[int, str]:
    result = review_sources(example.sources, Config(select=(code,)))
    return {f.location.line: f.message for f in result.findings if f.code == code and f.path == example.filename}


def _invalid(code: str, needle: str) -> Invalid:
    rule = next(r for r in all_rules() if r.code == code)
    return next(e for e in rule.invalid if needle in e.source)


def test_fx409_a_formatted_table_name_is_not_told_to_become_a_bound_parameter() -> None:
    # `DROP TABLE {name}`: a placeholder can only stand for a value, never for a name.
    example = _invalid("FX409", "drop_archive")
    messages = _messages("FX409", example)
    assert sorted(messages) == [11, 15, 19]
    for line in (11, 15):
        assert "a table or column name cannot be a bound parameter" in messages[line], messages[line]
        assert "allow-list" in messages[line], messages[line]
        assert "use bound parameters" not in messages[line], messages[line]


def test_fx409_a_formatted_value_still_asks_for_bound_parameters() -> None:
    # `FROM {table} WHERE name = '{name}'`: one hole is a value, so bound parameters fit.
    example = _invalid("FX409", "drop_archive")
    messages = _messages("FX409", example)
    assert 'use bound parameters (`text("... WHERE id = :id")`' in messages[19], messages[19]
    assert "cannot be a bound parameter" not in messages[19], messages[19]

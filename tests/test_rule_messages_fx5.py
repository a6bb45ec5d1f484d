"""The wording of messages that were wrong on real code (second precision sample,
performance rules): the rule examples check *where* a rule fires, these check
*what it says*."""

from __future__ import annotations

from rule_messages import findings_by_line as _findings
from rule_messages import invalid as _invalid


def test_fx503_a_called_function_that_writes_is_reported_as_a_write_per_row() -> None:
    # `rename_tag()` runs `UPDATE ...` for each item: eager loading is no answer
    # to that, batching the writes is.
    example = _invalid("FX503", "rename_tag")
    findings = _findings("FX503", example)
    assert list(findings) == [13]
    message = findings[13].message
    assert message.startswith(
        "`rename_tag()` runs one write statement (`session.execute()`) per iteration of the loop over `changes`; "
    ), message
    assert "executemany" in message, message
    assert "selectinload" not in message and "N+1" not in message, message
    assert [link.note for link in findings[13].chain] == [
        "`rename_tag` writes to the database with `session.execute()`"
    ]


def test_fx503_a_called_function_that_reads_keeps_the_n_plus_one_wording() -> None:
    example = _invalid("FX503", "def owner_of")
    findings = _findings("FX503", example)
    message = findings[14].message
    expected = "`owner_of()` runs a query (`db.get()`) on every iteration of the loop over `rows`"
    assert message.startswith(expected), message
    assert "(N+1 queries)" in message and "selectinload()" in message, message
    assert [link.note for link in findings[14].chain] == ["`owner_of` queries the database with `db.get()`"]

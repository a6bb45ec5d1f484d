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


def test_fx503_a_query_that_does_not_change_in_the_loop_is_told_to_move_out() -> None:
    # Fourth precision sample: `session.scalar(select(Asset).where(Asset.id == asset_id))`
    # with `asset_id` a parameter ran once per target; that is one query repeated,
    # not N+1, and neither eager loading nor an `IN` list is the answer.
    example = _invalid("FX503", "label_quota")
    findings = _findings("FX503", example)
    assert list(findings) == [14, 15]
    direct = findings[14].message
    assert direct == (
        "`db.scalar()` runs the same query on every iteration of the loop over `labels` (nothing in it changes in "
        "the loop); run it once before the loop and reuse the result."
    ), direct
    called = findings[15].message
    assert called.startswith(
        "`label_quota()` runs the same query (`db.scalar()`) on every iteration of the loop over `labels` "
        "(its arguments do not change in the loop); call it once before the loop"
    ), called
    for message in (direct, called):
        assert "N+1" not in message and "selectinload" not in message, message
    assert [link.note for link in findings[15].chain] == ["`label_quota` queries the database with `db.scalar()`"]


def test_fx503_a_write_built_in_a_local_keeps_the_write_wording() -> None:
    # Fourth precision sample: `bulk_increment_active_slots()` assigns `query = update(...)`
    # and runs `session.execute(query)`; called once per item with the same arguments it
    # was told to run once and reuse the result, but each call takes one more slot.
    example = _invalid("FX503", "take_slot")
    findings = _findings("FX503", example)
    assert list(findings) == [15]
    message = findings[15].message
    assert message.startswith(
        "`take_slot()` runs one write statement (`session.execute()`) per iteration of the loop over `holders`; "
    ), message
    assert "same query" not in message and "reuse the result" not in message, message


def test_fx503_a_cached_callee_with_a_changing_argument_says_the_cache_misses() -> None:
    # Sixth precision sample: `DagModel.get_team_name(ti.dag_id, session=session)`, under
    # a `cachetools` TTL cache keyed by the dag id, was said to query "on every iteration";
    # it queries once per id not yet cached, which is still N+1 while the cache is cold.
    example = _invalid("FX503", "def owners")
    findings = _findings("FX503", example)
    assert list(findings) == [14]
    message = findings[14].message
    assert message == (
        "`team_name()` is cached, but runs its query (`session.scalar()`) for every argument not yet in its "
        "cache: up to one per item of the loop over `projects` (N+1 queries while the cache is cold); load the "
        "values the loop needs with one `WHERE id IN (...)` query before it."
    ), message
    assert "on every iteration" not in message and "selectinload" not in message, message
    assert [link.note for link in findings[14].chain] == ["`team_name` queries the database with `session.scalar()`"]


def test_fx503_an_insert_built_by_a_dialect_helper_is_a_write() -> None:
    # Sixth precision sample: prefect's `create_block_schema()` executes
    # `db.queries.insert(db.BlockSchema).values(...)` (a helper returning
    # `postgresql.insert(...)`); it was reported as a read to load up front.
    example = _invalid("FX503", "create_label")
    findings = _findings("FX503", example)
    assert list(findings) == [19]
    message = findings[19].message
    assert message.startswith(
        "`create_label()` runs one write statement (`session.execute()`) per iteration of the loop over `names`; "
    ), message
    assert "N+1" not in message and "selectinload" not in message, message
    assert [link.note for link in findings[19].chain] == ["`create_label` writes to the database with `session.execute()`"]


def test_fx503_a_refresh_per_object_is_told_to_reload_them_together() -> None:
    # Fresh corpus: `for message in messages: await session.refresh(message)` after one
    # flush. There is no relationship to eager-load; the objects are reloaded one SELECT
    # at a time, and one `IN` query (or not expiring them) is the answer.
    from fastapi_expert.review.rules.base import Invalid

    example = Invalid(
        """
        from sqlalchemy.ext.asyncio import AsyncSession

        async def move_messages(session: AsyncSession, messages: list, new_session_id: str) -> list:
            for message in messages:
                message.session_id = new_session_id
            session.add_all(messages)
            await session.flush()
            out = []
            for message in messages:
                await session.refresh(message)
                out.append(message)
            return out
        """,
        lines=(10,),
    )
    findings = _findings("FX503", example)
    assert list(findings) == [10], findings
    assert findings[10].message == (
        "`session.refresh()` reloads one object per iteration of the loop over `messages` (a SELECT each); "
        "reload them together with one `WHERE id IN (...)` query, or keep their values loaded "
        "(`expire_on_commit=False`)."
    ), findings[10].message

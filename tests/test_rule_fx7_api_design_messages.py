"""The wording of API-design messages that were wrong on real code (fresh-corpus
precision round): a route whose path the model could not read is named by its
endpoint, not shown as an empty or `<dynamic>` path."""

from __future__ import annotations

from fastapi_expert.review.rules.base import Invalid
from rule_messages import invalid as _invalid
from rule_messages import messages as _messages


def test_fx703_names_a_route_of_an_unread_prefix_by_its_endpoint() -> None:
    example = _invalid("FX703", "prefix=API + ITEMS")
    message = _messages("FX703", example)[8]
    assert message.startswith("`POST` of `create_item` creates a resource but answers 200 OK;"), message


def test_fx703_shows_the_full_path_when_it_is_known() -> None:
    example = _invalid("FX703", "create_template_run")
    message = _messages("FX703", example)[12]
    assert message.startswith("`POST /templates/{template_id}/runs` creates a resource"), message


def test_fx711_names_a_route_of_a_constant_path_by_its_endpoint() -> None:
    example = Invalid(
        """
        from fastapi import APIRouter

        from app.constants import BATCH

        router = APIRouter()


        @router.delete(BATCH)
        def batch_delete_tags(tag_ids: list[int]) -> None:
            return None
        """,
        lines=(9,),
    )
    message = _messages("FX711", example)[9]
    assert message.startswith("`DELETE` of `batch_delete_tags` reads `tag_ids` (a collection)"), message
    assert "<dynamic>" not in message, message

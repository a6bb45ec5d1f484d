"""The wording of FX111 (route-added-after-include): the rule examples check
*where* it fires, these check *what it says* and the evidence it links."""

from __future__ import annotations

from rule_messages import findings_by_line as _findings_by_line
from rule_messages import invalid as _invalid
from rule_messages import messages as _messages


def test_fx111_route_names_the_route_the_router_and_the_include() -> None:
    example = _invalid("FX111", 'app = FastAPI(title="Inventory")')
    messages = _messages("FX111", example)
    assert list(messages) == [8, 13, 18]
    # The route with its router's prefix: the URL the reader will try.
    assert messages[8].startswith("`GET /items/` is added to `router` after line 5 included `router` into `app`;"), messages[8]
    assert messages[13].startswith("`POST /items/` is added"), messages[13]
    assert messages[18].startswith("`DELETE /items/{item_id}` is added"), messages[18]
    for message in messages.values():
        assert "before FastAPI 0.137" in message, message
        assert "never reaches `app` (404, missing from the docs)" in message, message
        assert message.endswith("declare it before the include, or include `router` after all its routes."), message
        assert "\n" not in message


def test_fx111_late_child_router_names_the_child_and_the_order_to_use() -> None:
    example = _invalid("FX111", "api.include_router(billing.router)")
    message = _messages("FX111", example)[11]
    assert message.startswith(
        "`api.include_router(billing.router)` comes after line 10 included `api` into `app`;"
    ), message
    assert "so the routes of `billing.router` never reach `app`" in message, message
    assert message.endswith("include `billing.router` into `api` before `api` is included."), message


def test_fx111_websocket_route_is_named_as_such() -> None:
    example = _invalid("FX111", "ws_router.websocket")
    message = _messages("FX111", example)[11]
    assert message.startswith(
        "`WebSocket /ws/events` is added to `ws_router` after line 8 included `ws_router` into `app`;"
    ), message


def test_fx111_links_the_include_that_copied_the_routes() -> None:
    example = _invalid("FX111", "api.include_router(billing.router)")
    found = _findings_by_line("FX111", example)
    for line in (11, 15):
        (link,) = found[line].chain
        assert link.location.path == "app/main.py"
        assert link.location.line == 10
        assert link.note == "`app.include_router(api)` copies the routes `api` has at this point"


def test_fx111_loop_include_is_quoted_as_written() -> None:
    example = _invalid("FX111", "for router in (users, teams)")
    found = _findings_by_line("FX111", example)
    assert list(found) == [11]
    assert found[11].message.startswith("`GET /teams/{team_id}/members` is added to `teams` after line 8"), found[11].message
    (link,) = found[11].chain
    assert link.note == "`app.include_router(router)` copies the routes `teams` has at this point"

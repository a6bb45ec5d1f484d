"""The wording of FX3xx messages that were inaccurate on real code (second precision
sample): the rule examples check *where* a rule fires, these check *what it says*."""

from __future__ import annotations

from rule_messages import invalid as _invalid
from rule_messages import messages as _messages


def test_fx310_a_nested_model_is_not_called_the_request_body() -> None:
    # `Address` is a field of the body `Customer`, not the body itself; it is flagged
    # because the endpoint spreads `customer.address.model_dump()` into a constructor.
    example = _invalid("FX310", "AddressRow")
    messages = _messages("FX310", example)
    assert list(messages) == [9]
    assert messages[9].startswith(
        '`Address` keeps undeclared fields (`extra="allow"`) and is nested in the request body of '
        "`POST /customers` (`Customer.address`), whose dump the code spreads into an object"
    ), messages[9]
    assert "is the request body of" not in messages[9], messages[9]


def test_fx310_a_direct_body_is_still_called_the_request_body() -> None:
    example = _invalid("FX310", "class Profile(ProfileBase)")
    messages = _messages("FX310", example)
    assert list(messages) == [7]
    assert "is the request body of `PUT /profile` (through its subclass `Profile`)" in messages[7], messages[7]


def test_fx301_a_string_keyed_map_is_told_it_may_type_its_values() -> None:
    # Third precision sample: `labels: Dict[str, Any] = Body(...)` holds labels whose keys
    # the client chooses; no model with fixed fields fits them, typed values do.
    example = _invalid("FX301", "changes: Dict[str, Any] = Body(...)")
    messages = _messages("FX301", example)
    assert list(messages) == [8, 12], messages
    assert messages[12] == (
        "`changes: Dict[str, Any]` takes the request body unvalidated and undocumented; declare a Pydantic "
        "model for `changes`, or, if its keys are free-form, type its values (e.g. `dict[str, str]`) instead."
    ), messages[12]
    # a bare `dict` says nothing about its keys: the model advice alone
    assert messages[8] == (
        "`payload: dict` takes the request body unvalidated and undocumented; declare a Pydantic model for "
        "`payload` instead."
    ), messages[8]

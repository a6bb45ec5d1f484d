"""Request bodies the probes send: valid for the route, so a 422 hides nothing.

No `from __future__ import annotations`: FastAPI resolves the apps' annotations."""

import datetime
import enum
import uuid
from typing import Annotated, Any, Literal

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel, Field

from fastapi_expert.audit.samples import body_schema, sample_body

from .helpers import audit

lenient = OAuth2PasswordBearer(tokenUrl="/token", auto_error=False)


class Size(str, enum.Enum):
    small = "S"
    large = "L"


class Address(BaseModel):
    city: str = Field(min_length=12)
    zip_code: str = Field(max_length=5)


class Order(BaseModel):
    customer: str = Field(min_length=3)
    placed_at: datetime.datetime
    quantity: int = Field(gt=10, le=20)
    price: float = Field(ge=0.5, multiple_of=0.25)
    size: Size
    kind: Literal["gift", "plain"]
    ship_to: Address
    tags: list[str] = Field(min_length=2)
    reference: uuid.UUID
    note: str | None = None  # optional: left out


def _route(app: FastAPI, path: str) -> Any:
    return next(r for r in app.routes if isinstance(r, APIRoute) and r.path == path)


def test_a_sample_body_passes_the_models_validation() -> None:
    app = FastAPI()

    @app.post("/orders")
    def create(order: Order) -> dict[str, str]:
        return {}

    schema = body_schema(_route(app, "/orders"))
    assert schema is not None
    body = sample_body(schema)
    assert "note" not in body
    Order.model_validate(body)  # raises if any value is refused


def test_several_body_parameters_are_sampled_as_fastapi_embeds_them() -> None:
    app = FastAPI()

    @app.post("/pair")
    def pair(first: Address, second: Address) -> dict[str, str]:
        return {}

    body = sample_body(body_schema(_route(app, "/pair")) or {})
    assert set(body) == {"first", "second"}
    Address.model_validate(body["first"])


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/$defs/Missing", "$defs": {}},
        {"type": "object", "required": ["x"], "properties": {"x": {"type": "weird"}}},
    ],
)
def test_a_schema_that_cannot_be_sampled_says_so(schema: dict[str, Any]) -> None:
    with pytest.raises(LookupError):
        sample_body(schema)


def test_a_self_referencing_model_is_cut_at_a_depth() -> None:
    schema = {"$ref": "#/$defs/Node", "$defs": {"Node": {"type": "object", "required": ["child"], "properties": {"child": {"$ref": "#/$defs/Node"}}}}}
    with pytest.raises(LookupError):
        sample_body(schema)


def test_a_lenient_auth_route_with_a_required_body_is_reached_not_hidden_by_a_422() -> None:
    app = FastAPI()
    created: list[Order] = []

    @app.post("/token", summary="Log in")
    def login() -> dict[str, str]:
        return {"access_token": "x"}

    def optional_user(token: Annotated[str | None, Depends(lenient)]) -> str | None:
        return token

    @app.post("/orders", summary="Place an order")
    def place(order: Order, user: Annotated[str | None, Depends(optional_user)]) -> dict[str, int]:
        created.append(order)  # must never run during the audit
        return {"count": len(created)}

    result = audit(app)
    (exchange,) = result.probes.of("unauthenticated") if result.probes else []
    assert exchange.reached_endpoint
    assert [f.code for f in result.findings if f.code == "FX426"] == ["FX426"]
    assert created == []

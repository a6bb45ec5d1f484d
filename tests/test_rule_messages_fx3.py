"""The wording of FX3xx messages that were inaccurate on real code (second precision
sample): the rule examples check *where* a rule fires, these check *what it says*."""

from __future__ import annotations

from fastapi_expert.review.rules.base import Invalid
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


def test_fx314_a_page_size_defaulting_to_none_is_told_to_take_a_number_as_default() -> None:
    # Fourth precision sample (airflow's execution API): `limit: ... = None` is applied
    # only when given, so `le=` alone would still let a client that omits it read every
    # row; the advice names a default as well as the bound.
    example = _invalid("FX314", 'Query(description="at most this many")')
    messages = _messages("FX314", example)
    assert list(messages) == [12], messages
    assert messages[12] == (
        "`limit` defaults to `None` and has no upper bound, so a client can ask for any number of rows, and one "
        "that leaves it out may get all of them; give it a number as default and bound it, e.g. "
        "`limit: Annotated[int, Query(ge=1, le=100)] = 100`."
    ), messages[12]


def test_fx314_a_numeric_default_keeps_the_short_advice() -> None:
    example = _invalid("FX314", "def list_items(skip: int = 0, limit: int = 100)")
    messages = _messages("FX314", example)
    assert messages == {
        6: "`limit` has no upper bound, so a client can ask for any number of rows; bound it, e.g. `Query(le=100)`."
    }, messages


def test_fx312_names_the_route_that_loads_the_secret_not_the_one_that_echoes_it() -> None:
    # Fifth precision sample (dstack's backend creds): `POST .../create` answers the
    # config its body holds, so it only shows the client its own input; the message
    # names the route that answers the stored value.
    example = _invalid("FX312", "class OAuthAppCreds(BaseModel)")
    messages = _messages("FX312", example)
    assert messages == {
        10: "`OAuthAppCreds` is nested in the response model of `POST /integrations/{kind}/config` "
        "(`IntegrationConfig.creds`) and exposes `client_secret` to clients; remove it from the response "
        "model or mark it `Field(exclude=True)`."
    }, messages


def test_fx105_tells_instances_apart_by_a_constant_keyword_before_numbering_them() -> None:
    # Fifth precision sample (dstack's permissions): `HTTPBearer()` next to
    # `HTTPBearer(auto_error=False)` was told `http_bearer_1` and `http_bearer_2`;
    # the plain one keeps the plain name, the other is named after its keyword.
    example = Invalid(
        """
        from fastapi import FastAPI, Security
        from fastapi.security import HTTPBearer

        app = FastAPI()

        @app.get("/me")
        def me(token=Security(HTTPBearer())):
            return {}

        @app.get("/feed")
        def feed(token=Security(HTTPBearer(auto_error=False))):
            return {}
        """,
        lines=(7, 11),
    )
    messages = _messages("FX105", example)
    assert "(`http_bearer = HTTPBearer()`) and use `Security(http_bearer)`." in messages[7], messages
    assert (
        "(`http_bearer_no_auto_error = HTTPBearer(auto_error=False)`) and use `Security(http_bearer_no_auto_error)`."
        in messages[11]
    ), messages


def test_fx306_on_pydantic_v1_with_an_annotated_field_advises_the_factory_inside_it() -> None:
    # Sixth sample's note: on Pydantic v1, `Annotated[X, Field(...)] = Field(default_factory=list)`
    # fails at import ("cannot specify `Annotated` and value `Field`s together").
    example = _invalid("FX306", "class Settings(BaseSettings)")
    messages = _messages("FX306", example)
    assert messages[9] == (
        "`tags` defaults to a mutable `[]` (Pydantic copies it, but it reads like the shared-default bug); "
        "drop it and add `default_factory=list` to the `Field(...)` in its `Annotated` (Pydantic v1 refuses "
        "a second `Field` as the value)."
    ), messages


def test_fx312_names_a_route_that_answers_someone_elses_record_not_the_callers_own() -> None:
    # Seventh precision sample (dstack's `UserWithCreds`): `get_my_user` answers the
    # authenticated user their own SSH key; `get_user` answers any user's to an admin.
    # The message names the latter.
    example = _invalid("FX312", "class AccountWithCreds(BaseModel)")
    messages = _messages("FX312", example)
    assert messages == {
        13: "`AccountWithCreds` is the response model of `POST /users/{user_id}` and exposes "
        "`ssh_private_key` to clients; remove it from the response model or mark it `Field(exclude=True)`."
    }, messages


def test_fx302_a_models_dump_is_said_to_lack_only_the_schema() -> None:
    # Seventh precision sample (fief's `POST /api/token`): `return token_response.model_dump(
    # exclude_none=True)` is validated and filtered by `TokenResponse`; only the OpenAPI
    # schema is missing, and `response_model=` needs `response_model_exclude_none=True`
    # to answer the same JSON.
    example = _invalid("FX302", "class TokenOut(BaseModel)")
    messages = _messages("FX302", example)
    assert messages == {
        16: "`POST /token` returns `out.model_dump(exclude_none=True)`, a dump of `TokenOut` with no "
        "`response_model`: the data is validated and holds the model's fields only, but the route has no "
        "OpenAPI schema for clients; declare `response_model=TokenOut` with `response_model_exclude_none=True`.",
        22: "`GET /provider` returns `ProviderInfo(...).model_dump()`, a dump of `ProviderInfo` with no "
        "`response_model`: the data is validated and holds the model's fields only, but the route has no "
        "OpenAPI schema for clients; declare `response_model=ProviderInfo` with `response_model_by_alias=False`.",
    }, messages


def test_fx312_a_nested_model_is_not_called_the_response_model() -> None:
    # Eighth precision sample (dstack's `RegistryAuth`): the registry password sits three
    # fields deep in `POST /api/runs/list`'s `List[Run]`, through a union of
    # configurations; "is the response model of" sent the reader to a route whose
    # `response_model=` does not name it. The message names the fields that lead there.
    example = Invalid(
        """
        from fastapi import APIRouter
        from pydantic import BaseModel

        router = APIRouter(prefix="/api/runs")

        class RegistryAuth(BaseModel):
            username: str
            password: str

        class TaskConfiguration(BaseModel):
            image: str | None = None
            registry_auth: RegistryAuth | None = None

        class ServiceConfiguration(TaskConfiguration):
            port: int

        class RunSpec(BaseModel):
            run_name: str
            configuration: ServiceConfiguration | TaskConfiguration

        class Run(BaseModel):
            id: int
            run_spec: RunSpec

        @router.post("/list", response_model=list[Run])
        async def list_runs():
            return []
        """,
        lines=(8,),
    )
    messages = _messages("FX312", example)
    assert messages == {
        8: "`RegistryAuth` is nested in the response model of `POST /api/runs/list` "
        "(`Run.run_spec.configuration.registry_auth`) and exposes `password` to clients; remove it from the "
        "response model or mark it `Field(exclude=True)`."
    }, messages


def test_fx302_a_response_model_written_as_a_parameter_is_named() -> None:
    # Fresh-corpus round (litellm's `GET /team/available`): `response_model=list[...]` was
    # written among the endpoint's parameters, where FastAPI reads it as a query parameter.
    example = _invalid("FX302", "response_model=list[TeamOut]")
    messages = _messages("FX302", example)
    assert messages == {
        12: "`GET /teams/available` has no `response_model` and no return annotation, so its output is neither "
        "validated nor filtered and has no OpenAPI schema; `response_model` is written as a parameter of the "
        "endpoint, where FastAPI reads it as a query parameter; move it into the route decorator."
    }, messages


def test_fx306_a_long_literal_is_shortened_in_the_factory_too() -> None:
    # Fresh-corpus round (litellm's `LiteLLM_JWTAuth.admin_allowed_routes`): the message
    # shortened a multi-line default to `[...]` but printed the whole literal, newlines
    # included, in `default_factory=lambda: [...]`; the fix still writes it whole.
    example = Invalid(
        """
        from pydantic import BaseModel

        class JWTAuth(BaseModel):
            admin_allowed_routes: list[str] = [
                "management_routes",
                "spend_tracking_routes",
            ]
        """,
        lines=(4,),
    )
    messages = _messages("FX306", example)
    assert messages == {
        4: "`admin_allowed_routes` defaults to a mutable `[...]` (Pydantic copies it, but it reads like the "
        "shared-default bug); use `Field(default_factory=lambda: [...])`."
    }, messages

"""The wording of messages that were wrong on real code (second precision sample,
architecture and API-design rules): the rule examples check *where* a rule fires,
these check *what it says*."""

from __future__ import annotations

from fastapi_expert.config import Config
from fastapi_expert.review.engine import review_sources
from fastapi_expert.review.rules.base import Invalid
from rule_messages import invalid as _invalid
from rule_messages import messages as _messages


def test_fx105_never_suggests_the_name_of_the_callable_it_calls() -> None:
    # `class get_repository:` is called like a factory; `get_repository = get_repository(...)`
    # would shadow it, and the next `get_repository(OtherRepository)` would call the instance.
    example = _invalid("FX105", "get_repository(OrderRepository)")
    messages = _messages("FX105", example)
    assert list(messages) == [10, 13]
    assert (
        "bind it to a module-level name (`get_order_repository = get_repository(OrderRepository)`) "
        "and use `Depends(get_order_repository)`."
    ) in messages[10], messages[10]
    assert "`get_repository = " not in messages[10], messages[10]


def test_fx105_quotes_a_call_split_over_lines_on_one_line() -> None:
    example = _invalid("FX105", "get_repository(OrderRepository)")
    message = _messages("FX105", example)[10]
    assert "\n" not in message, message
    assert message.startswith("`Depends(get_repository(OrderRepository))` builds the dependency inline"), message


def test_fx105_keeps_acronyms_whole_in_the_suggested_name() -> None:
    example = _invalid("FX105", "get_repository(OrderRepository)")
    message = _messages("FX105", example)[13]
    assert '(`api_key_header = APIKeyHeader(name="X-API-Key")`) and use `Depends(api_key_header)`.' in message, message
    assert "a_p_i" not in message, message
    example = Invalid(
        """
        from fastapi import Depends, FastAPI
        from fastapi.security import HTTPBearer, OAuth2PasswordBearer

        app = FastAPI()

        @app.get("/me")
        def me(
            token: str = Depends(OAuth2PasswordBearer(tokenUrl="token")),
            bearer=Depends(HTTPBearer()),
        ):
            return {}
        """,
        lines=(8, 9),
    )
    messages = _messages("FX105", example)
    assert '(`oauth2_password_bearer = OAuth2PasswordBearer(tokenUrl="token")`)' in messages[8], messages[8]
    assert "(`http_bearer = HTTPBearer()`) and use `Depends(http_bearer)`." in messages[9], messages[9]


def test_fx105_keeps_the_marker_and_its_other_arguments() -> None:
    example = Invalid(
        """
        import fastapi
        from fastapi.security import HTTPBearer

        app = fastapi.FastAPI()

        @app.get("/me")
        def me(credentials=fastapi.Security(HTTPBearer(), scopes=["me"])):
            return {}
        """,
        lines=(7,),
    )
    message = _messages("FX105", example)[7]
    assert 'and use `fastapi.Security(http_bearer, scopes=["me"])`.' in message, message


def test_fx105_gives_two_different_instances_of_one_class_two_names() -> None:
    # Both limiters in one signature: binding both to `rate_limiter` would keep only the second.
    example = Invalid(
        """
        from fastapi import Depends, FastAPI

        from app.limits import RateLimiter

        app = FastAPI()

        @app.post("/chat")
        async def chat(
            per_minute=Depends(RateLimiter(requests=30, window=60, slug="chat-minute")),
            per_day=Depends(RateLimiter(requests=500, window=86400, slug="chat-day")),
        ):
            return {}

        @app.post("/chat/retry")
        async def retry(per_day=Depends(RateLimiter(requests=500, window=86400, slug="chat-day"))):
            return {}
        """,
        lines=(9, 10, 15),
    )
    messages = _messages("FX105", example)
    assert "(`rate_limiter_chat_minute = RateLimiter(" in messages[9], messages[9]
    assert "(`rate_limiter_chat_day = RateLimiter(" in messages[10], messages[10]
    # the same instance again may share the binding
    assert "(`rate_limiter_chat_day = RateLimiter(" in messages[15], messages[15]


def test_fx105_numbers_instances_it_cannot_tell_apart_by_a_string() -> None:
    example = Invalid(
        """
        from fastapi import Depends, FastAPI

        from app.limits import RateLimiter

        app = FastAPI()

        @app.post("/upload", dependencies=[Depends(RateLimiter(10)), Depends(RateLimiter(100))])
        async def upload():
            return {}
        """,
        lines=(7,),
    )
    result = review_sources(example.sources, Config(select=("FX105",)))
    messages = sorted(f.message for f in result.findings if f.code == "FX105")
    assert len(messages) == 2, messages
    assert "(`rate_limiter_1 = RateLimiter(10)`)" in messages[0], messages
    assert "(`rate_limiter_2 = RateLimiter(100)`)" in messages[1], messages


def test_fx706_names_the_full_path_of_the_route() -> None:
    # `@router.get("/userProfiles")` on `APIRouter(prefix="/accounts")`
    example = _invalid("FX706", 'APIRouter(prefix="/accounts")')
    messages = _messages("FX706", example)
    assert messages[6].startswith("Path segment `userProfiles` in `/accounts/userProfiles` is camelCase"), messages[6]
    assert messages[11].startswith("Path `/accounts/fetchAll` names an action (`fetchAll`)"), messages[11]


def test_fx706_says_both_action_and_camelcase_and_spells_the_segment() -> None:
    # Seventh sample: airflow's `/dags/{dag_id}/clearDagRuns` is an action on one DAG (the
    # controller-style action the rule accepts) in camelCase: only the case is told, and
    # the fix is the segment itself in hyphenated words, not a resource name. A segment
    # that is an action and camelCase (`getTaskRuns`), or an action next to a camelCase
    # segment (`taskRuns/delete`), is told both; every camelCase segment is named.
    example = _invalid("FX706", '"/{job_id}/clearTaskRuns"')
    messages = _messages("FX706", example)
    assert messages[6] == (
        "Path segment `clearTaskRuns` in `/jobs/{job_id}/clearTaskRuns` is camelCase; "
        "use lowercase, hyphen-separated words (`clear-task-runs`)."
    ), messages[6]
    assert messages[11] == (
        "Path `/jobs/getTaskRuns` names an action (`getTaskRuns`), in camelCase; name the "
        "resource in lowercase, hyphen-separated words (`/users/{id}`, `/user-profiles`) "
        "and let the HTTP method be the verb."
    ), messages[11]
    assert messages[16] == (
        "Path `/jobs/taskRuns/delete` names an action (`delete`), and its segment `taskRuns` "
        "is camelCase; name the resource (`/users/{id}`, `/items`) in lowercase, "
        "hyphen-separated words (`task-runs`) and let the HTTP method be the verb."
    ), messages[16]
    assert messages[21] == (
        "Path segments `taskRuns` and `stepGroups` in `/jobs/taskRuns/{run_id}/stepGroups` are "
        "camelCase; use lowercase, hyphen-separated words (`task-runs` and `step-groups`)."
    ), messages[21]
    # `/accounts/fetchAll` (the first example's router) is both too.
    first = _messages("FX706", _invalid("FX706", 'APIRouter(prefix="/accounts")'))
    assert "names an action (`fetchAll`), in camelCase" in first[11], first[11]

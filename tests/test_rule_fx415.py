"""The wording of FX415 (credential-route-without-rate-limit): the rule examples check
*where* it fires, these check *what it says* and the near misses it must leave alone."""

from __future__ import annotations

from fastapi_expert.config import Config
from fastapi_expert.review.engine import review_sources
from fastapi_expert.review.rules.base import Invalid
from rule_messages import invalid as _invalid
from rule_messages import messages as _messages

_ADVICE = (
    "limit it per client and per account (slowapi's `@limiter.limit(\"5/minute\")` on the route, "
    "or a lockout after a few failures), or, if the proxy limits it, say so with `# noqa: FX415`."
)


def test_fx415_password_route_names_the_full_path_the_attack_and_the_fix() -> None:
    example = _invalid("FX415", "login_access_token")
    messages = _messages("FX415", example)
    assert list(messages) == [12]
    message = messages[12]
    # The URL with the include's prefix: the one the reader will look for in the proxy's config.
    assert message.startswith(
        "`POST /api/v1/login/access-token` (`login_access_token`) checks a password and nothing limits how often:"
    ), message
    assert "credential stuffing, brute force" in message, message
    assert message.endswith(_ADVICE), message
    assert "\n" not in message


def test_fx415_one_time_code_and_mail_routes_say_what_an_attacker_does() -> None:
    example = _invalid("FX415", "second_factor")
    message = _messages("FX415", example)[19]
    assert message.startswith("`POST /v1/sessions/mfa` (`second_factor`) checks a one-time code"), message
    assert "an attacker can try every value of the short code until one is accepted;" in message, message
    assert message.endswith(_ADVICE), message
    example = _invalid("FX415", "recover_password")
    message = _messages("FX415", example)[14]
    assert message.startswith(
        "`POST /api/v1/password-recovery/{email}` (`recover_password`) sends a reset or sign-in mail on request"
    ), message
    assert "mail any address over and over" in message, message
    # No lockout for a mail sent on request: there is no failure to count.
    assert message.endswith(
        "limit it per client and per address (slowapi's `@limiter.limit(\"5/hour\")` on the route), "
        "or, if the proxy limits it, say so with `# noqa: FX415`."
    ), message


def test_fx415_noqa_on_the_decorator_line_silences_it() -> None:
    # The message tells the reader to silence it with a noqa comment when the proxy limits the route.
    source = """
        from fastapi import FastAPI, Form

        from app.auth import check_password

        app = FastAPI()

        @app.post("/login")  # noqa: FX415
        async def login(username: str = Form(), password: str = Form()) -> dict[str, str]:
            return await check_password(username, password)
    """
    result = review_sources(Invalid(source, lines=()).sources, Config(select=("FX415",)))
    assert [f for f in result.findings if f.code == "FX415"] == []


def _lines(source: str) -> list[int]:
    example = Invalid(source, lines=())
    return sorted(_messages("FX415", example))


def test_fx415_login_page_and_optional_bearer() -> None:
    # The GET that renders the form checks nothing; an optional bearer (`auto_error=False`)
    # lets anonymous callers through, so the POST still checks a password for anyone.
    lines = _lines(
        """
        from fastapi import Depends, FastAPI, Form
        from fastapi.responses import HTMLResponse
        from fastapi.security import OAuth2PasswordBearer

        from app.auth import check_password

        app = FastAPI()
        maybe_token = OAuth2PasswordBearer(tokenUrl="login", auto_error=False)

        @app.get("/login", response_class=HTMLResponse)
        async def login_page() -> str:
            return "<form method=post><input name=password type=password></form>"

        @app.post("/login")
        async def login(
            username: str = Form(), password: str = Form(), token: str | None = Depends(maybe_token)
        ) -> dict[str, str]:
            return await check_password(username, password)
        """
    )
    assert lines == [14]


def test_fx415_reads_the_password_from_the_form_the_body_parses() -> None:
    # `form.password.data` (a WTForms-style form parsed in the body) and `data["otp"]`.
    lines = _lines(
        """
        from fastapi import APIRouter, FastAPI, Request

        from app.forms import LoginForm
        from app.auth import authenticate, check_otp

        router = APIRouter(prefix="/auth")

        @router.api_route("/login", methods=["GET", "POST"])
        async def login(request: Request):
            form = await LoginForm.from_request(request)
            if request.method == "POST":
                return await authenticate(form.email.data, form.password.data)
            return form.render()

        @router.post("/2fa")
        async def two_factor(request: Request):
            data = await request.json()
            return await check_otp(data["otp"])

        @router.post("/logout")
        async def logout(request: Request):
            data = await request.json()
            return data["password"]

        app = FastAPI()
        app.include_router(router)
        """
    )
    assert lines == [8, 15]


def test_fx415_a_limiter_dependency_named_by_the_project_counts() -> None:
    lines = _lines(
        """
        from fastapi import Depends, FastAPI, Form

        from app.auth import check_password
        from app.limits import login_rate_limit

        app = FastAPI()

        @app.post("/login", dependencies=[Depends(login_rate_limit)])
        async def login(username: str = Form(), password: str = Form()) -> dict[str, str]:
            return await check_password(username, password)
        """
    )
    assert lines == []

"""The wording of messages that were wrong on real code (second precision sample,
security rules): the rule examples check *where* a rule fires, these check *what it says*."""

from __future__ import annotations

from rule_messages import invalid as _invalid
from rule_messages import messages as _messages


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


def test_fx401_an_os_getenv_fallback_is_told_to_use_os_environ_not_to_drop_the_default() -> None:
    # `os.getenv("DB_PASS")` without its default returns None: startup would not fail.
    example = _invalid("FX401", "fill_from_environment")
    messages = _messages("FX401", example)
    assert sorted(messages) == [6, 17]
    getenv = messages[17]
    assert getenv.startswith("`DB_PASS` falls back to a hard-coded secret when the variable is unset"), getenv
    assert 'read it with `os.environ["DB_PASS"]` so startup fails with a `KeyError` instead' in getenv, getenv
    assert "(without a default, `os.getenv()` returns `None`)" in getenv, getenv
    assert "drop the default" not in getenv, getenv


def test_fx401_a_decouple_fallback_is_still_told_to_drop_the_default() -> None:
    # `decouple.config("SMTP_PASSWORD")` raises `UndefinedValueError` when the variable is unset.
    example = _invalid("FX401", "fill_from_environment")
    messages = _messages("FX401", example)
    assert messages[6].endswith("drop the default so startup fails instead."), messages[6]
    assert "os.environ" not in messages[6], messages[6]


def test_fx408_an_inline_instance_is_suggested_as_written_not_as_its_class() -> None:
    # `Depends(ProjectMember)` would build an instance from query parameters and authenticate
    # no one; the bare `HTTPBearer()` inside it only reads the header.
    example = _invalid("FX408", "class ProjectMember")
    messages = _messages("FX408", example)
    assert sorted(messages) == [16]
    message = messages[16]
    assert "while other routes use `ProjectMember`;" in message, message
    assert "e.g. `dependencies=[Depends(ProjectMember())]`." in message, message
    assert "HTTPBearer" not in message, message


def test_fx408_the_dependency_that_checks_a_scheme_is_suggested_not_the_scheme() -> None:
    # The `APIKeyHeader(..., auto_error=False)` scheme only reads the header: `runner_for_key` checks it.
    example = _invalid("FX408", "runner_for_key")
    messages = _messages("FX408", example)
    assert sorted(messages) == [17]
    message = messages[17]
    assert "while other routes use `runner_for_key`;" in message, message
    assert "e.g. `dependencies=[Depends(runner_for_key)]`." in message, message
    assert "APIKeyHeader" not in message, message


def test_fx412_an_optional_operand_is_told_to_be_rejected_before_compare_digest() -> None:
    # `APIKeyHeader(auto_error=False)` gives `None` for a missing header, and `os.getenv()` for
    # an unset variable: `compare_digest(None, key)` raises `TypeError`, a 500 instead of a 401.
    example = _invalid("FX412", "check_service_key")
    messages = _messages("FX412", example)
    assert sorted(messages) == [11, 15, 20]
    header = messages[11]
    assert header.startswith("`service_api_key` is compared with `!=`"), header
    assert header.endswith(
        "use `secrets.compare_digest(a.encode(), b.encode())` after rejecting a missing `service_api_key` "
        "(`compare_digest` raises `TypeError` for `None`, and for a `str` holding non-ASCII text)."
    ), header
    assert "after rejecting a missing `SERVICE_API_KEY`" in messages[15], messages[15]
    # `headers.get(name)` gives `None` for a missing header: the first operand that can be None is named.
    assert 'after rejecting a missing `request.headers.get("X-Service-Key")`' in messages[20], messages[20]


def test_fx412_a_required_operand_keeps_the_plain_advice() -> None:
    # `x_api_key: str = Header()` is never `None`: FastAPI answers 422 when the header is missing.
    example = _invalid("FX412", "require_api_key(x_api_key: str = Header())")
    messages = _messages("FX412", example)
    # Bytes, still: a header can hold non-ASCII text, on which `compare_digest(str, str)` raises.
    assert messages[6].endswith(
        "use `secrets.compare_digest(a.encode(), b.encode())` "
        "(on a `str` holding non-ASCII text, `compare_digest` raises `TypeError`)."
    ), messages[6]
    assert "None" not in messages[6], messages[6]


def test_fx401_a_django_account_seeded_with_a_password_is_offered_an_unusable_one() -> None:
    # `create_user(username="default", password="default")` for the account anonymous mode
    # acts as: nobody is to log in to it, so the fix is no password (`password=None`, which
    # Django stores as unusable), not the same password read from the environment.
    example = _invalid("FX401", "class SessionBackend")
    messages = _messages("FX401", example)
    assert sorted(messages) == [17, 20, 23, 24]
    for line, creator in ((17, "create_user"), (20, "create_superuser")):
        message = messages[line]
        assert message.startswith(f"Hard-coded password for the account `{creator}()` creates:"), message
        assert "anyone who reads the source knows it." in message, message
        assert "If someone is to log in to the account, read the password from settings or the environment" in message, message
        assert "pass `password=None`, which makes Django store an unusable password" in message, message


def test_fx401_a_password_to_another_function_keeps_the_plain_advice() -> None:
    # `register(name, password=...)` is no Django manager, and a model's own manager
    # (`objects = MemberManager()`) may refuse `None`: `password=None` is not offered there.
    example = _invalid("FX401", "class SessionBackend")
    messages = _messages("FX401", example)
    for line in (23, 24):
        message = messages[line]
        assert message == "Hard-coded secret passed as `password=`; read it from settings or the environment.", message
        assert "password=None" not in message, message

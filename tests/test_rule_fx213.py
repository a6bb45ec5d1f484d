"""The wording and evidence of FX213 (`orm-object-read-after-commit`): the rule
examples check *where* it fires, these check *what it says* and what it links to."""

from __future__ import annotations

from fastapi_expert.review.rules.base import Invalid, Valid
from rule_messages import findings as _findings
from rule_messages import invalid as _invalid
from rule_messages import messages as _messages

_DB = """
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine("postgresql+asyncpg://app@db/app")
SessionLocal = async_sessionmaker(engine)

async def get_session():
    async with SessionLocal() as session:
        yield session

@asynccontextmanager
async def session_scope():
    async with SessionLocal() as session:
        yield session
"""

_MODELS = """
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

class Base(DeclarativeBase):
    pass

class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
"""


def _example(code: str, lines: tuple[int, ...]) -> Invalid:
    return Invalid(code, lines=lines, filename="app/main.py", files={"app/db.py": _DB, "app/models.py": _MODELS})


def test_fx213_a_returned_instance_with_a_response_model_names_validation_and_both_remedies() -> None:
    example = _invalid("FX213", "async def create_user")
    messages = _messages("FX213", example)
    assert list(messages) == [15, 24], messages
    assert messages[15] == (
        "Route `POST /users` returns `user` after `await session.commit()` (line 14) expired it "
        "(its factory `SessionLocal` keeps the default `expire_on_commit=True`): FastAPI's response "
        "validation reads its attributes, and the first read lazy-loads the row, which under `AsyncSession` "
        "raises `MissingGreenlet` (a 500); pass `expire_on_commit=False` to `async_sessionmaker(...)`, "
        "or `await session.refresh(user)` after the commit."
    ), messages[15]


def test_fx213_quotes_the_first_attribute_read_only() -> None:
    example = _invalid("FX213", "async def create_user")
    message = _messages("FX213", example)[24]
    assert message.startswith("`project.id` reads `project` after `await session.commit()` (line 23) expired it"), message
    assert "the read lazy-loads the row, which under `AsyncSession` raises `MissingGreenlet` (a 500)" in message, message
    assert "`await session.refresh(project)` after the commit." in message, message


def test_fx213_links_the_commit_the_dependency_and_the_factory() -> None:
    example = _invalid("FX213", "async def create_user")
    finding = next(f for f in _findings("FX213", example) if f.location.line == 15)
    chain = [(link.location.path, link.location.line, link.note) for link in finding.chain]
    assert chain == [
        ("app/routes.py", 14, "`await session.commit()` expires every instance of the session"),
        ("app/db.py", 8, "dependency `get_session` yields the session"),
        ("app/db.py", 4, "`async_sessionmaker(engine)` keeps the default `expire_on_commit=True`"),
    ], chain


def test_fx213_says_when_the_factory_sets_expiry_on_explicitly() -> None:
    example = _invalid("FX213", "class_=AsyncSession")
    message = _messages("FX213", example)[34]
    assert message.startswith("`order.id` reads `order` after `await db.commit()` (line 30) expired it "), message
    assert "(its factory `async_session` keeps `expire_on_commit=True`)" in message, message
    assert "pass `expire_on_commit=False` to `sessionmaker(...)`" in message, message


def test_fx213_a_read_after_the_session_block_is_a_detached_instance() -> None:
    example = _invalid("FX213", "async def close_report")
    messages = _messages("FX213", example)
    assert "MissingGreenlet" in messages[13], messages[13]
    assert messages[21] == (
        "`report.id` reads `report` after `await session.commit()` (line 20) expired it "
        "(its factory `SessionLocal` keeps the default `expire_on_commit=True`), and the `async with` "
        "closed the session: loading the row again raises `DetachedInstanceError` (a 500); pass "
        "`expire_on_commit=False` to `async_sessionmaker(...)`, or `await session.refresh(report)` "
        "after the commit (inside the `async with`)."
    ), messages[21]


def test_fx213_a_session_built_directly_is_named_as_the_call() -> None:
    example = _invalid("FX213", "HeroPublic.model_validate")
    message = _messages("FX213", example)[17]
    assert message.startswith("`HeroPublic.model_validate(hero)` reads `hero` after `await session.commit()` (line 16)"), message
    assert "(`AsyncSession(engine)` keeps the default `expire_on_commit=True`)" in message, message
    assert "pass `expire_on_commit=False` to `AsyncSession(...)`" in message, message


def test_fx213_a_route_without_response_model_answers_an_empty_object() -> None:
    example = _example(
        """
        from fastapi import Depends, FastAPI
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.db import get_session
        from app.models import User

        app = FastAPI()

        @app.post("/users")
        async def create_user(name: str, session: AsyncSession = Depends(get_session)):
            user = User(name=name)
            session.add(user)
            await session.commit()
            return user
        """,
        (14,),
    )
    message = _messages("FX213", example)[14]
    assert (
        "with no response model, FastAPI's encoder finds none of its attributes loaded and answers `{}` for it"
    ) in message, message
    assert "MissingGreenlet" not in message, message


def test_fx213_follows_an_asynccontextmanager_and_reports_each_instance_once() -> None:
    example = _example(
        """
        from sqlalchemy import select

        from app.db import session_scope
        from app.models import User

        async def rename_all(user_id: int, others: list[User]) -> str:
            async with session_scope() as session:
                user = (await session.execute(select(User).where(User.id == user_id))).scalar_one()
                user.name = user.name.title()
                await session.commit()
                names = [user.name for user in others]
                print(user.name, names)
                return user.name
        """,
        (12,),
    )
    findings = _findings("FX213", example)
    assert [f.location.line for f in findings] == [12], findings
    notes = [link.note for link in findings[0].chain]
    assert notes[1] == "context manager `session_scope` yields the session", notes


def test_fx213_says_nothing_when_the_factory_is_reconfigured_elsewhere() -> None:
    # `SessionLocal.configure(expire_on_commit=False)` at start-up: the keyword of
    # the factory call is no longer the whole story.
    example = Valid(
        """
        from app.db import SessionLocal
        from app.models import User

        SessionLocal.configure(expire_on_commit=False)

        async def create(name: str) -> int:
            async with SessionLocal() as session:
                user = User(name=name)
                session.add(user)
                await session.commit()
                return user.id
        """,
        filename="app/main.py",
        files={"app/db.py": _DB, "app/models.py": _MODELS},
    )
    assert _findings("FX213", Invalid(example.code, lines=(), filename=example.filename, files=example.files)) == []


def test_fx213_a_helper_given_the_session_after_the_commit_stops_the_walk() -> None:
    # `audit(session, ...)` may query the session and load the row again.
    example = _example(
        """
        from app.db import SessionLocal
        from app.models import User

        async def audit(session, what: str) -> None: ...

        async def create(name: str) -> int:
            async with SessionLocal() as session:
                user = User(name=name)
                session.add(user)
                await session.commit()
                await audit(session, "created")
                return user.id
        """,
        (),
    )
    assert _findings("FX213", example) == []


def test_fx213_a_helper_links_the_caller_that_hands_it_the_session() -> None:
    example = _invalid("FX213", "async def create_invite")
    finding = next(iter(_findings("FX213", example)))
    assert finding.message.startswith(
        "`invite.id` reads `invite` after `await db.commit()` (line 9) expired it "
        "(its factory `SessionLocal` keeps the default `expire_on_commit=True`)"
    ), finding.message
    notes = [(link.location.path, link.location.line, link.note) for link in finding.chain]
    assert notes == [
        ("app/crud.py", 9, "`await db.commit()` expires every instance of the session"),
        ("app/routes.py", 10, "`invite` passes its session to `create_invite()`"),
        ("app/db.py", 15, "dependency `get_db` yields the session"),
        ("app/db.py", 9, "dependency `_get_db` yields the session"),
        ("app/db.py", 4, "`async_sessionmaker(engine, autoflush=False)` keeps the default `expire_on_commit=True`"),
    ], notes

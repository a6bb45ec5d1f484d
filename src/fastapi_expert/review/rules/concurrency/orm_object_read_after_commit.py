from __future__ import annotations

import ast
import weakref
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from fastapi_expert.review.model.fastapi_model import Route, keyword, marker_target
from fastapi_expert.review.model.module import (
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    own_nodes,
    own_statements,
    parameter_defaults,
)
from fastapi_expert.review.model.project import Project, positional_parameters
from fastapi_expert.review.rules._orm import SELECTS, STATEMENT_METHODS
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.performance._scope import name_uses
from fastapi_expert.review.rules.validation._models import describe_route
from fastapi_expert.types import ChainLink, Severity

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
Position = tuple[int, int]

# -- what opens an `AsyncSession` ------------------------------------------------

_ASYNC_SESSIONS = frozenset(
    {
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.session.AsyncSession",
        "sqlmodel.ext.asyncio.session.AsyncSession",
    }
)
_ASYNC_SESSIONMAKERS = frozenset(
    {"sqlalchemy.ext.asyncio.async_sessionmaker", "sqlalchemy.ext.asyncio.session.async_sessionmaker"}
)
_SESSIONMAKERS = frozenset({"sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker"})
_CONTEXT_MANAGERS = frozenset({"contextlib.asynccontextmanager"})

# -- what loads an ORM instance through the session -------------------------------

# `(await s.execute(q)).<m>()` gives the entity for these; `.first()` there gives a Row.
_ROW_TO_SCALAR = frozenset({"scalar_one", "scalar_one_or_none", "scalar"})
# `(await s.scalars(q)).<m>()`, `(await s.exec(q)).<m>()` (SQLModel): an entity.
_SCALAR_PICKS = frozenset({"first", "one", "one_or_none"})

# -- what the session does after the commit --------------------------------------

# Session methods that take instances and touch only those: `refresh(x)` loads x
# again, `expunge`/`expire`/`merge` change what x is; another instance stays expired.
_PER_INSTANCE = frozenset({"refresh", "expunge", "expire", "merge"})
# Session methods that leave every expired instance as it is.
_INERT = frozenset({"add", "add_all", "commit"})
# Instance methods whose whole job is to read the columns (serialisers).
_READING_METHODS = frozenset({"model_dump", "model_dump_json", "dict", "json", "to_dict", "as_dict"})
# Pydantic constructors that read every attribute of the object they are given.
_VALIDATORS = frozenset({"model_validate", "from_orm", "validate"})


@dataclass(frozen=True)
class _Factory:
    """Where a session comes from, known to keep `expire_on_commit=True`."""

    module: ModuleInfo
    call: ast.Call  # `async_sessionmaker(engine)`, `AsyncSession(engine)`
    name: str  # the factory named in messages: `SessionLocal`, `AsyncSession(engine)`
    kind: str  # `async_sessionmaker`, `sessionmaker`, `AsyncSession`
    explicit: bool  # `expire_on_commit=True` written out
    via: tuple[ChainLink, ...] = ()  # dependencies and context managers followed on the way


@dataclass(frozen=True)
class _Read:
    """The first use of an expired instance after a commit."""

    name: str
    node: ast.AST
    how: str  # "read" | "return" | "validate"
    detached: bool  # the session's `async with` has closed by then


@dataclass
class _Scope:
    """A region after a commit, walked statement by statement."""

    session: str
    tracked: set[str]
    returns_serialise: bool
    reads: list[_Read] = field(default_factory=list)
    stopped: bool = False
    detached: bool = False


class OrmObjectReadAfterCommit(Rule):
    """Flags an ORM instance read after `await session.commit()` on an `AsyncSession` that expires on commit.

    ## What it does
    In an `async def`, finds an ORM instance that is in an `AsyncSession`
    (added with `session.add(obj)`, or loaded through that session with
    `await session.get(Model, ...)` or a `select(Model)` it executes) and is
    read after `await session.commit()` on that session: an attribute read
    (`obj.id`), a serialiser (`obj.model_dump()`, `Schema.model_validate(obj)`)
    or, in a route, `return obj` for FastAPI to serialise. It does so only when
    the session's factory is known to keep SQLAlchemy's default
    `expire_on_commit=True`: the session is followed to where it is made (a
    `Depends(get_session)` parameter, directly or through an `Annotated` alias,
    a dependency or `@asynccontextmanager` that yields from
    `async with SessionLocal() as session` or hands on another's with
    `async for db in _get_db(): yield db`, a local `async with`, or a helper's
    session parameter when every call of the helper, found by its name outside
    the tests, passes a session traced this way), down to the
    module-level `async_sessionmaker(engine)`,
    `sessionmaker(engine, class_=AsyncSession)` or `AsyncSession(engine)` call,
    whose `expire_on_commit=` keyword (and the call site's) must be absent or
    `True`. A factory it cannot read (built in a function, stored on
    `app.state`, a `**kwargs`, a helper one of whose callers is not traced, or
    any `expire_on_commit` set after the fact) gives no finding.

    The commit must certainly have run before the read: the read follows it in
    the same block, or after a `with` or a `try` (whose handlers all raise or
    return) that holds it; a read after an `if` or a loop holding the commit,
    or in its `else`, is not flagged. Not flagged either: a read after
    `await session.refresh(obj)`, after any other query on the session (which
    may load the row again), after `obj` is deleted, expunged or rebound, or a
    value read into a local before the commit (`obj_id = obj.id`).

    ## Why is this bad?
    With `expire_on_commit=True` (the default), `commit()` expires every
    instance of the session (`SessionTransaction._remove_snapshot` in
    `sqlalchemy/orm/session.py`), so the next attribute read loads the row
    again. `AsyncSession` runs the ORM's database calls in a greenlet only
    while one of its awaited methods runs; a plain attribute read is not one,
    so the lazy load raises `sqlalchemy.exc.MissingGreenlet` ("greenlet_spawn
    has not been called"). Checked against SQLAlchemy 2.1 with aiosqlite:
    `session.add(user); await session.commit(); user.id` raises it with
    `async_sessionmaker(engine)`, `sessionmaker(engine, class_=AsyncSession)`
    and `AsyncSession(engine)`, for a loaded instance as for a new one, and not
    with `expire_on_commit=False` or after `await session.refresh(user)`. A
    route that returns the instance fails in FastAPI's response validation
    (`ResponseValidationError` wrapping `MissingGreenlet`: a 500); with no
    response model, FastAPI's encoder sees no loaded attribute and answers
    `{}` with a 200. After the session's `async with` has closed, the read
    raises `DetachedInstanceError` instead.

    Either build the factory with `async_sessionmaker(engine,
    expire_on_commit=False)` (what SQLAlchemy's asyncio documentation
    recommends), or `await session.refresh(obj)` after the commit.

    ## Example
    ```python
    SessionLocal = async_sessionmaker(engine)

    @router.post("/users", response_model=UserOut)
    async def create_user(data: UserIn, session: AsyncSession = Depends(get_session)):
        user = User(**data.model_dump())
        session.add(user)
        await session.commit()
        return user  # MissingGreenlet while serialising
    ```

    ## Use instead
    ```python
    SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
    ```

    ## References
    - https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#preventing-implicit-io-when-using-asyncsession
    - https://docs.sqlalchemy.org/en/20/orm/session_api.html#sqlalchemy.orm.Session.params.expire_on_commit
    - https://docs.sqlalchemy.org/en/20/errors.html#error-xd2s
    - https://fastapi.tiangolo.com/tutorial/sql-databases/
    """

    code = "FX213"
    name = "orm-object-read-after-commit"
    summary = "An ORM instance read after `await session.commit()` on an expiring `AsyncSession` raises `MissingGreenlet`."
    severity = Severity.ERROR

    valid = (
        Valid(
            # The factory turns expiry off: the instance keeps its values after the commit.
            """
            from fastapi import APIRouter, Depends
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.db import get_session
            from app.models import User
            from app.schemas import UserIn, UserOut

            router = APIRouter()

            @router.post("/users", response_model=UserOut, status_code=201)
            async def create_user(data: UserIn, session: AsyncSession = Depends(get_session)):
                user = User(**data.model_dump())
                session.add(user)
                await session.commit()
                return user
            """,
            filename="app/routes.py",
            files={
                "app/db.py": """
                from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

                engine = create_async_engine("postgresql+asyncpg://app@db/app")
                SessionLocal = async_sessionmaker(engine, expire_on_commit=False)

                async def get_session():
                    async with SessionLocal() as session:
                        yield session
                """,
            },
        ),
        Valid(
            # Expiring factory, but: refreshed after the commit; read into a local before it;
            # deleted (a deleted instance is not expired); only a plain value returned.
            """
            from typing import Annotated

            from fastapi import Depends, FastAPI, HTTPException
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

            from app.models import Item
            from app.schemas import ItemIn, ItemOut

            engine = create_async_engine("postgresql+asyncpg://app@db/app")
            async_session = async_sessionmaker(engine)
            app = FastAPI()

            async def get_session():
                async with async_session() as session:
                    yield session

            SessionDep = Annotated[AsyncSession, Depends(get_session)]

            @app.post("/items", response_model=ItemOut)
            async def create_item(data: ItemIn, session: SessionDep):
                item = Item(**data.model_dump())
                session.add(item)
                await session.commit()
                await session.refresh(item)
                return item

            @app.post("/items/{item_id}/archive")
            async def archive_item(item_id: int, session: SessionDep):
                item = await session.get(Item, item_id)
                if item is None:
                    raise HTTPException(status_code=404)
                item.archived = True
                await session.flush()
                archived_at = item.updated_at
                await session.commit()
                return {"id": item_id, "archived_at": archived_at}

            @app.delete("/items/{item_id}")
            async def delete_item(item_id: int, session: SessionDep):
                item = await session.get(Item, item_id)
                await session.delete(item)
                await session.commit()
                return {"deleted": item.id}

            @app.put("/items/{item_id}/stock")
            async def set_stock(item_id: int, stock: int, session: SessionDep):
                item = await session.get(Item, item_id)
                item.stock = stock
                await session.commit()
                return {"ok": True}
            """,
        ),
        Valid(
            # The commit may not have run: it sits in an `if`, the read is in its `else`
            # or after the `if`; and a query after the commit loads the row again.
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

            from app.models import Order

            engine = create_async_engine("postgresql+asyncpg://app@db/app")
            SessionLocal = async_sessionmaker(engine)
            app = FastAPI()

            async def get_db():
                async with SessionLocal() as db:
                    yield db

            @app.post("/orders/{order_id}/confirm")
            async def confirm(order_id: int, dry_run: bool = False, db: AsyncSession = Depends(get_db)):
                order = (await db.execute(select(Order).where(Order.id == order_id))).scalar_one()
                order.status = "confirmed"
                if not dry_run:
                    await db.commit()
                else:
                    return {"would_confirm": order.id}
                return {"status": order.status}

            @app.post("/orders/{order_id}/ship")
            async def ship(order_id: int, db: AsyncSession = Depends(get_db)):
                order = await db.get(Order, order_id)
                order.status = "shipped"
                await db.commit()
                order = (await db.scalars(select(Order).where(Order.id == order_id))).one()
                return {"status": order.status}
            """,
            filename="app/main.py",
            files={
                "app/models.py": """
                from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

                class Base(DeclarativeBase):
                    pass

                class Order(Base):
                    __tablename__ = "orders"
                    id: Mapped[int] = mapped_column(primary_key=True)
                    status: Mapped[str]
                    paid: Mapped[bool] = mapped_column(default=False)
                """,
            },
        ),
        Valid(
            # The factory cannot be read: built in the lifespan and kept on `app.state`,
            # or the session is passed in by a caller the rule does not follow.
            """
            from fastapi import FastAPI, Request
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.models import AuditEvent

            app = FastAPI()

            @app.post("/audit")
            async def record(request: Request, kind: str):
                async with request.app.state.sessionmaker() as session:
                    event = AuditEvent(kind=kind)
                    session.add(event)
                    await session.commit()
                    return {"id": event.id}

            async def save_event(session: AsyncSession, kind: str) -> int:
                event = AuditEvent(kind=kind)
                session.add(event)
                await session.commit()
                return event.id
            """,
        ),
        Valid(
            # `expire_on_commit` from settings: its value is not known, so nothing is said.
            # `awaitable_attrs` loads the attribute inside the greenlet: that read is fine.
            """
            from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

            from app.config import settings
            from app.models import Job

            engine = create_async_engine(settings.database_url)
            Configured = async_sessionmaker(engine, expire_on_commit=settings.expire_on_commit)
            Default = async_sessionmaker(engine)

            async def enqueue(kind: str) -> int:
                async with Configured() as session:
                    job = Job(kind=kind)
                    session.add(job)
                    await session.commit()
                    return job.id

            async def enqueue_default(kind: str) -> int:
                async with Default() as session:
                    job = Job(kind=kind)
                    session.add(job)
                    await session.commit()
                    return await job.awaitable_attrs.id
            """,
            filename="app/jobs.py",
        ),
        Valid(
            # The same helper, also called by a script with a session the rule cannot trace:
            # the callers do not all agree, so nothing is said.
            """
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.events import publish
            from app.models import Invite

            async def create_invite(db: AsyncSession, team_id: int, email: str) -> Invite:
                invite = Invite(team_id=team_id, email=email)
                db.add(invite)
                await db.commit()
                await publish("invite.created", {"id": invite.id, "email": email})
                return invite
            """,
            filename="app/crud.py",
            files={
                "app/db.py": """
                from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

                engine = create_async_engine("postgresql+asyncpg://app@db/app")
                SessionLocal = async_sessionmaker(engine, autoflush=False)

                async def _get_db():
                    db: AsyncSession = SessionLocal()
                    try:
                        yield db
                    finally:
                        await db.close()

                async def get_db():
                    async for db in _get_db():
                        yield db
                """,
                "app/routes.py": """
                from fastapi import APIRouter, Depends

                from app import crud
                from app.db import get_db

                router = APIRouter()

                @router.post("/teams/{team_id}/invites", status_code=201)
                async def invite(team_id: int, email: str, db=Depends(get_db)):
                    invite = await crud.create_invite(db, team_id, email)
                    return {"ok": True}
                """,
                "app/scripts/seed.py": """
                from app.crud import create_invite

                async def seed(session) -> None:
                    await create_invite(session, 1, "admin@example.com")
                """,
            },
        ),
    )
    invalid = (
        Invalid(
            # The tutorial shape: a dependency yielding from an `async_sessionmaker` left at its default.
            """
            from fastapi import APIRouter, Depends, HTTPException
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.db import get_session
            from app.models import Project, User
            from app.schemas import UserIn, UserOut

            router = APIRouter()

            @router.post("/users", response_model=UserOut, status_code=201)
            async def create_user(data: UserIn, session: AsyncSession = Depends(get_session)):
                user = User(**data.model_dump())
                session.add(user)
                await session.commit()
                return user

            @router.patch("/projects/{project_id}")
            async def rename_project(project_id: int, name: str, session: AsyncSession = Depends(get_session)):
                project = await session.get(Project, project_id)
                if project is None:
                    raise HTTPException(status_code=404)
                project.name = name
                await session.commit()
                return {"id": project.id, "name": project.name}
            """,
            lines=(15, 24),
            filename="app/routes.py",
            files={
                "app/db.py": """
                from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

                engine = create_async_engine("postgresql+asyncpg://app@db/app")
                SessionLocal = async_sessionmaker(engine)

                async def get_session():
                    async with SessionLocal() as session:
                        yield session
                """,
            },
        ),
        Invalid(
            # The 1.4 spelling of the factory, through an `Annotated` alias; the row is
            # loaded with a `select`, and the read follows a `try` whose handler re-raises.
            """
            import logging
            from typing import Annotated

            from fastapi import Depends, FastAPI, HTTPException
            from sqlalchemy import select
            from sqlalchemy.exc import IntegrityError
            from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
            from sqlalchemy.orm import sessionmaker

            from app.models import Order

            logger = logging.getLogger(__name__)
            engine = create_async_engine("postgresql+asyncpg://app@db/app")
            async_session = sessionmaker(engine, class_=AsyncSession, expire_on_commit=True)
            app = FastAPI()

            async def get_db():
                async with async_session() as db:
                    yield db

            Db = Annotated[AsyncSession, Depends(get_db)]

            @app.post("/orders/{order_id}/pay")
            async def pay(order_id: int, db: Db):
                stmt = select(Order).where(Order.id == order_id).with_for_update()
                result = await db.execute(stmt)
                order = result.scalar_one()
                order.paid = True
                try:
                    await db.commit()
                except IntegrityError:
                    await db.rollback()
                    raise HTTPException(status_code=409)
                logger.info("order %s paid", order.id)
                return {"paid": True}
            """,
            lines=(34,),
            filename="app/main.py",
            files={
                "app/models.py": """
                from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

                class Base(DeclarativeBase):
                    pass

                class Order(Base):
                    __tablename__ = "orders"
                    id: Mapped[int] = mapped_column(primary_key=True)
                    status: Mapped[str]
                    paid: Mapped[bool] = mapped_column(default=False)
                """,
            },
        ),
        Invalid(
            # A worker with its own session: inside the block the read needs a greenlet,
            # after the block the session is closed and the read cannot load at all.
            """
            from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

            from app.models import Report

            engine = create_async_engine("postgresql+asyncpg://app@db/app")
            SessionLocal = async_sessionmaker(bind=engine)

            async def build_report(owner_id: int) -> dict[str, object]:
                async with SessionLocal() as session:
                    report = Report(owner_id=owner_id, status="queued")
                    session.add(report)
                    await session.commit()
                    print("queued", report.id)
                return {"id": report.id}

            async def close_report(report_id: int) -> int:
                async with SessionLocal() as session:
                    report = await session.get(Report, report_id)
                    report.status = "closed"
                    await session.commit()
                return report.id
            """,
            lines=(13, 21),
            filename="app/worker.py",
        ),
        Invalid(
            # SQLModel: a session built directly and a `select` run with `exec`; the read is
            # a validation of the instance into the response schema.
            """
            from fastapi import FastAPI
            from sqlmodel import select
            from sqlmodel.ext.asyncio.session import AsyncSession

            from app.db import engine
            from app.models import Hero, HeroPublic

            app = FastAPI()

            @app.post("/heroes/{hero_id}/promote")
            async def promote(hero_id: int) -> HeroPublic:
                async with AsyncSession(engine) as session:
                    hero = (await session.exec(select(Hero).where(Hero.id == hero_id))).one()
                    hero.rank += 1
                    session.add(hero)
                    await session.commit()
                    return HeroPublic.model_validate(hero)
            """,
            lines=(17,),
        ),
        Invalid(
            # A helper given the session by its callers: every caller (found by name) passes
            # one from `get_db`, which hands on what `_get_db` opens from the factory.
            """
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.events import publish
            from app.models import Invite

            async def create_invite(db: AsyncSession, team_id: int, email: str) -> Invite:
                invite = Invite(team_id=team_id, email=email)
                db.add(invite)
                await db.commit()
                await publish("invite.created", {"id": invite.id, "email": email})
                return invite
            """,
            lines=(10,),
            filename="app/crud.py",
            files={
                "app/db.py": """
                from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

                engine = create_async_engine("postgresql+asyncpg://app@db/app")
                SessionLocal = async_sessionmaker(engine, autoflush=False)

                async def _get_db():
                    db: AsyncSession = SessionLocal()
                    try:
                        yield db
                    finally:
                        await db.close()

                async def get_db():
                    async for db in _get_db():
                        yield db
                """,
                "app/routes.py": """
                from fastapi import APIRouter, Depends

                from app import crud
                from app.db import get_db

                router = APIRouter()

                @router.post("/teams/{team_id}/invites", status_code=201)
                async def invite(team_id: int, email: str, db=Depends(get_db)):
                    invite = await crud.create_invite(db, team_id, email)
                    return {"ok": True}
                """,
            },
        ),
    )

    # -- walk ------------------------------------------------------------------

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        module = ctx.module
        if module.is_test or not _spells_commit_within(module, node):
            return
        commits = _commits(node)
        if not commits:
            return
        func = module.function_of_node.get(node)
        if func is None or _expiry_set_elsewhere(ctx.project):
            return
        parents = _parents(node)
        routes = ctx.routes_of(node)
        reported: set[str] = set()
        for stmt, session in commits:
            # The local facts first: finding the factory may mean reading other modules.
            tracked = _tracked_instances(ctx.project, func, session, stmt, parents) - reported
            if not tracked:
                continue
            reads = _reads_after(stmt, session, tracked, parents, node, bool(routes))
            if not reads:
                continue
            factory = _session_factory(ctx.project, func, session, 0)
            if factory is None:
                continue
            for read in reads:
                reported.add(read.name)
                self._report(ctx, read, stmt, session, factory, routes)

    def _report(
        self, ctx: FileContext, read: _Read, commit: ast.Expr, session: str, factory: _Factory, routes: list[Route]
    ) -> None:
        chain = [
            ChainLink(ctx.location(commit), f"`await {session}.commit()` expires every instance of the session"),
            *factory.via,
            ChainLink(
                factory.module.source.location(factory.call),
                f"`{_one_line(factory.module, factory.call)}` "
                + ("sets `expire_on_commit=True`" if factory.explicit else "keeps the default `expire_on_commit=True`"),
            ),
        ]
        ctx.report(read.node, _message(ctx, read, commit, session, factory, routes), chain=chain)


# -- messages --------------------------------------------------------------------


def _message(ctx: FileContext, read: _Read, commit: ast.Expr, session: str, factory: _Factory, routes: list[Route]) -> str:
    x = read.name
    expired = (
        f"after `await {session}.commit()` (line {commit.lineno}) expired it "
        f"({_factory_phrase(factory)})"
    )
    remedy = (
        f"pass `expire_on_commit=False` to `{factory.kind}(...)`, "
        f"or `await {session}.refresh({x})` after the commit"
    )
    if read.detached:
        remedy += " (inside the `async with`)"
        effect = "and the `async with` closed the session: loading the row again raises `DetachedInstanceError` (a 500)"
    else:
        effect = "lazy-loads the row, which under `AsyncSession` raises `MissingGreenlet`"
    if read.how == "return":
        route = routes[0]
        where = f"Route `{describe_route(route)}` returns `{x}` {expired}"
        if _has_response_model(ctx, route):
            if read.detached:
                return f"{where}, {effect} while FastAPI serialises it; {remedy}."
            return (
                f"{where}: FastAPI's response validation reads its attributes, and the first read {effect} "
                f"(a 500); {remedy}."
            )
        return (
            f"{where}: with no response model, FastAPI's encoder finds none of its attributes loaded "
            f"and answers `{{}}` for it; {remedy}."
        )
    quoted = _one_line(ctx.module, read.node)
    if read.detached:
        return f"`{quoted}` reads `{x}` {expired}, {effect}; {remedy}."
    return f"`{quoted}` reads `{x}` {expired}: the read {effect} (a 500); {remedy}."


def _factory_phrase(factory: _Factory) -> str:
    setting = "`expire_on_commit=True`" if factory.explicit else "the default `expire_on_commit=True`"
    if factory.kind == "AsyncSession":
        return f"`{factory.name}` keeps {setting}"
    return f"its factory `{factory.name}` keeps {setting}"


def _has_response_model(ctx: FileContext, route: Route) -> bool:
    """Will FastAPI validate the return value against a model (and so read it)?"""
    declared = route.keyword("response_model")
    if declared is not None:
        return not (isinstance(declared, ast.Constant) and declared.value is None)
    returns = route.endpoint.node.returns if route.endpoint is not None else None
    return returns is not None and not (isinstance(returns, ast.Constant) and returns.value is None)


def _one_line(module: ModuleInfo, node: ast.AST) -> str:
    text = " ".join(module.source.segment(node).split())
    return text if len(text) <= 80 else text[:77] + "..."


# -- the commits of a function ---------------------------------------------------

_COMMIT_LINES: weakref.WeakKeyDictionary[ModuleInfo, list[int]] = weakref.WeakKeyDictionary()


def _spells_commit_within(module: ModuleInfo, func_node: ast.AsyncFunctionDef) -> bool:
    """Is `.commit(` written on one of the function's lines? A cheap, never-wrong
    "no" for most coroutines, which are not walked then."""
    lines = _COMMIT_LINES.get(module)
    if lines is None:
        text = module.source.text
        lines = [] if ".commit(" not in text else [
            number for number, line in enumerate(module.source.lines, 1) if ".commit(" in line
        ]
        _COMMIT_LINES[module] = lines
    if not lines:
        return False
    i = bisect_left(lines, func_node.lineno)
    return i < len(lines) and (func_node.end_lineno is None or lines[i] <= func_node.end_lineno)



def _commits(func_node: ast.AsyncFunctionDef) -> list[tuple[ast.Expr, str]]:
    """`await <name>.commit()` statements of the function's own body, with the name."""
    found: list[tuple[ast.Expr, str]] = []
    for stmt in own_statements(func_node):
        if not isinstance(stmt, ast.Expr):
            continue
        value = stmt.value
        if not isinstance(value, ast.Await) or not isinstance(value.value, ast.Call):
            continue
        call = value.value
        callee = call.func
        if (
            isinstance(callee, ast.Attribute)
            and callee.attr == "commit"
            and isinstance(callee.value, ast.Name)
            and not call.args
            and not call.keywords
        ):
            found.append((stmt, callee.value.id))
    return found


_Parent = tuple[ast.AST, list[ast.stmt]]  # the compound statement (or function) and the block


def _parents(func_node: FunctionNode) -> dict[ast.AST, _Parent]:
    """Statement -> the statement that holds it and the block it is in (nested
    functions and classes not entered)."""
    out: dict[ast.AST, _Parent] = {}
    stack: list[ast.AST] = [func_node]
    while stack:
        owner = stack.pop()
        for block in _blocks_of(owner):
            for stmt in block:
                out[stmt] = (owner, block)
                if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    stack.append(stmt)
    return out


def _blocks_of(node: ast.AST) -> Iterator[list[ast.stmt]]:
    for name in ("body", "orelse", "finalbody"):
        block = getattr(node, name, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            yield block
    for handler in getattr(node, "handlers", ()) or ():
        yield handler.body
    for case in getattr(node, "cases", ()) or ():
        yield case.body


# -- where the session comes from ------------------------------------------------


def _session_factory(project: Project, func: FunctionInfo, name: str, depth: int) -> _Factory | None:
    """The factory of the session `name` holds in `func`, when it keeps expiry on."""
    if depth > 4:
        return None
    node = func.node
    args = node.args
    params = {a.arg: a for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    if name in params:
        if _local_bindings(node, name):
            return None  # rebound in the body: not what the caller passed
        return _dependency_factory(project, func, params[name], depth) or _callers_factory(
            project, func, name, depth
        )
    bindings = _local_bindings(node, name)
    if len(bindings) != 1:
        return None
    value = bindings[0]
    if isinstance(value, ast.Await):
        value = value.value
    if not isinstance(value, ast.Call):
        return None
    return _call_factory(project, func.module, value, depth)


def _local_bindings(func_node: FunctionNode, name: str) -> list[ast.expr]:
    """What `name` is bound to in the function: `name = value` or
    `async with value as name`; an unreadable binding (a loop, a tuple) makes the
    answer unusable, so it is returned as a second entry."""
    found: list[ast.expr] = []
    for node in own_nodes(func_node):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    found.append(node.value)
                elif _stores(target, name):
                    found.append(target)
        elif isinstance(node, ast.AnnAssign) and _stores(node.target, name):
            found.append(node.value if node.value is not None and isinstance(node.target, ast.Name) else node.target)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                if isinstance(item.optional_vars, ast.Name) and item.optional_vars.id == name:
                    found.append(item.context_expr)
                elif item.optional_vars is not None and _stores(item.optional_vars, name):
                    found.append(item.optional_vars)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.NamedExpr | ast.AugAssign) and _stores(node.target, name):
            found.extend([node.target, node.target])
    return found


def _stores(target: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store) for n in ast.walk(target))


def _call_factory(project: Project, module: ModuleInfo, call: ast.Call, depth: int) -> _Factory | None:
    """The factory behind a call that opens a session: `SessionLocal()`,
    `AsyncSession(engine)`, or a project `@asynccontextmanager` that yields one."""
    if not _keeps_expiry(call, allow_positional=True):
        return None  # `SessionLocal(expire_on_commit=False)` overrides the factory
    target = project.resolve(module, call.func)
    if target in _ASYNC_SESSIONS:
        if len(call.args) > 1 or not _keeps_expiry(call, allow_positional=False):
            return None
        return _Factory(module, call, _one_line(module, call), "AsyncSession", _explicit(call))
    symbol = project.lookup(module.resolve(call.func))
    if isinstance(symbol, tuple):
        value_module, value = symbol
        if call.args or not isinstance(value, ast.Call):
            return None
        kind = _factory_kind(project, value_module, value)
        if kind is None or not _keeps_expiry(value, allow_positional=False) or len(value.args) > 1:
            return None
        return _Factory(value_module, value, _one_line(module, call.func), kind, _explicit(value))
    if isinstance(symbol, FunctionInfo) and _is_context_manager(project, symbol):
        return _yielded_factory(project, symbol, depth + 1, "context manager")
    return None


def _factory_kind(project: Project, module: ModuleInfo, call: ast.Call) -> str | None:
    """`async_sessionmaker` / `sessionmaker` when `call` builds an `AsyncSession` factory."""
    target = project.resolve(module, call.func)
    class_ = keyword(call, "class_")
    session_class = project.resolve(module, class_) if class_ is not None else None
    if target in _ASYNC_SESSIONMAKERS and (class_ is None or session_class in _ASYNC_SESSIONS):
        return "async_sessionmaker"
    if target in _SESSIONMAKERS and session_class in _ASYNC_SESSIONS:
        return "sessionmaker"
    return None


def _keeps_expiry(call: ast.Call, *, allow_positional: bool) -> bool:
    """No `**kwargs`, and `expire_on_commit` absent or literally `True`."""
    for kw in call.keywords:
        if kw.arg is None:
            return False
        if kw.arg == "expire_on_commit" and not (isinstance(kw.value, ast.Constant) and kw.value.value is True):
            return False
    return allow_positional or not any(isinstance(a, ast.Starred) for a in call.args)


def _explicit(call: ast.Call) -> bool:
    return any(kw.arg == "expire_on_commit" for kw in call.keywords)


def _is_context_manager(project: Project, func: FunctionInfo) -> bool:
    return any(
        project.resolve(func.module, d.func if isinstance(d, ast.Call) else d) in _CONTEXT_MANAGERS
        for d in func.node.decorator_list
    )


def _dependency_factory(project: Project, func: FunctionInfo, param: ast.arg, depth: int) -> _Factory | None:
    """The factory behind a `Depends(get_session)` parameter (default or
    `Annotated` metadata, through aliases)."""
    model = project.fastapi
    defaults = parameter_defaults(func.node)
    found = model.marker(func.module, defaults.get(param.arg))
    marker_module = func.module
    if found is None:
        ann_module, _inner, meta = project.annotated_parts(func.module, param.annotation)
        for m in meta:
            found = model.marker(ann_module, m)
            if found is not None:
                marker_module = ann_module
                break
    if found is None:
        return None
    marker = found[1]
    target = marker_target(marker)
    if not isinstance(target, ast.Name | ast.Attribute):
        return None
    dependency = project.lookup(marker_module.resolve(target))
    if not isinstance(dependency, FunctionInfo):
        return None
    return _yielded_factory(project, dependency, depth + 1, "dependency")


def _yielded_factory(project: Project, func: FunctionInfo, depth: int, role: str) -> _Factory | None:
    """The factory of the one session a dependency or context manager yields."""
    node = func.node
    yields = [n for n in own_nodes(node) if isinstance(n, ast.Yield | ast.YieldFrom)]
    if len(yields) != 1 or not isinstance(yields[0], ast.Yield) or yields[0].value is None:
        return None
    value = yields[0].value
    delegate = _async_for_source(project, func, value)
    if delegate is not None:
        factory = _yielded_factory(project, delegate, depth + 1, role)
    elif isinstance(value, ast.Name):
        factory = _session_factory(project, func, value.id, depth)
    elif isinstance(value, ast.Call):
        factory = _call_factory(project, func.module, value, depth)
    else:
        return None
    if factory is None:
        return None
    link = ChainLink(func.module.source.location(yields[0]), f"{role} `{func.name}` yields the session")
    return _Factory(factory.module, factory.call, factory.name, factory.kind, factory.explicit, (link, *factory.via))


def _async_for_source(project: Project, func: FunctionInfo, value: ast.expr) -> FunctionInfo | None:
    """`async for db in _get_db(): yield db`: the project generator a dependency
    hands its session on from (the name bound by nothing else)."""
    if not isinstance(value, ast.Name):
        return None
    loops = [
        n
        for n in own_nodes(func.node)
        if isinstance(n, ast.AsyncFor) and isinstance(n.target, ast.Name) and n.target.id == value.id
    ]
    if len(loops) != 1 or len(_local_bindings(func.node, value.id)) != 2 or not isinstance(loops[0].iter, ast.Call):
        return None
    callee = project.lookup(func.module.resolve(loops[0].iter.func))
    return callee if isinstance(callee, FunctionInfo) else None


def _callers_factory(project: Project, func: FunctionInfo, param: str, depth: int) -> _Factory | None:
    """The factory of the session every caller passes for `param`, found by the
    function's name (outside tests); None when any use is not such a call (a
    callback, a caller whose session is unknown) or there is none."""
    uses = name_uses(project, func.name)
    if not uses:
        return None
    first: _Factory | None = None
    for caller, call in uses:
        if caller is None or call is None or caller is func:
            return None
        argument = _argument(project, caller.module, func, call, param)
        if not isinstance(argument, ast.Name):
            return None
        factory = _session_factory(project, caller, argument.id, depth + 1)
        if factory is None:
            return None
        if first is None:
            link = ChainLink(
                caller.module.source.location(call), f"`{caller.name}` passes its session to `{func.name}()`"
            )
            first = _Factory(factory.module, factory.call, factory.name, factory.kind, factory.explicit, (link, *factory.via))
    return first


def _argument(project: Project, module: ModuleInfo, callee: FunctionInfo, call: ast.Call, param: str) -> ast.expr | None:
    """What `call` passes for `callee`'s parameter `param` (None when not readable)."""
    for kw in call.keywords:
        if kw.arg == param:
            return kw.value
    positional = positional_parameters(project, module, callee, call)
    if param not in positional:
        return None
    index = positional.index(param)
    if any(isinstance(a, ast.Starred) for a in call.args[: index + 1]) or index >= len(call.args):
        return None
    return call.args[index]


# -- the instances in the session at the commit ----------------------------------


def _pos(node: ast.AST) -> Position:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def _tracked_instances(
    project: Project, func: FunctionInfo, session: str, commit: ast.Expr, parents: dict[ast.AST, _Parent]
) -> set[str]:
    """Names that certainly hold an instance of `session` when `commit` runs."""
    node = func.node
    at = _pos(commit)
    bindings: dict[str, list[tuple[Position, ast.AST]]] = {}
    adds: dict[str, list[ast.Call]] = {}
    removed: set[str] = set()
    args = node.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
        bindings.setdefault(arg.arg, []).append(((0, 0), arg))
    for sub in own_nodes(node):
        if _pos(sub) >= at:
            continue
        if isinstance(sub, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.For | ast.AsyncFor | ast.NamedExpr):
            targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
            for target in targets:
                for name in _stored_names(target):
                    bindings.setdefault(name, []).append((_pos(sub), sub))
        elif isinstance(sub, ast.With | ast.AsyncWith):
            for item in sub.items:
                for name in _stored_names(item.optional_vars):
                    bindings.setdefault(name, []).append((_pos(sub), sub))
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            bindings.setdefault(sub.name, []).append((_pos(sub), sub))
        elif isinstance(sub, ast.Call):
            _session_call_before(sub, session, adds, removed)
    if _EVERYTHING in removed:
        return set()
    statements = _call_statements(parents)
    out: set[str] = set()
    for name in set(bindings) | set(adds):
        if name == session or name in removed:
            continue
        before = sorted(bindings.get(name, []), key=lambda b: b[0])
        if not before:
            continue  # a global or a closure variable
        added = adds.get(name, [])
        if _added_for_certain(before[-1][0], added, commit, parents, statements) or all(
            _binding_puts_in_session(project, func, session, binding, added, before, parents, statements)
            for _, binding in before
        ):
            out.add(name)
    return out


def _stored_names(target: ast.AST | None) -> list[str]:
    if target is None:
        return []
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]


# Session methods that take an instance out of what the commit expires (a deleted
# instance is detached, not expired), or that empty the session.
_TAKES_OUT = frozenset({"delete", "expunge", "merge"})
_EMPTIES = frozenset({"expunge_all", "close", "reset", "rollback", "invalidate"})
_EVERYTHING = "*"


def _session_call_before(call: ast.Call, session: str, adds: dict[str, list[ast.Call]], removed: set[str]) -> None:
    """Note `session.add(x)` / `add_all([x, ...])`, and the instances taken out of the
    session (`delete`, `expunge`, or handed with the session to a helper) before the commit."""
    callee = call.func
    method = (
        callee.attr
        if isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name) and callee.value.id == session
        else None
    )
    if method in {"add", "add_all"}:
        for arg in call.args:
            elts = arg.elts if isinstance(arg, ast.List | ast.Tuple) else [arg]
            for elt in elts:
                if isinstance(elt, ast.Name):
                    adds.setdefault(elt.id, []).append(call)
        return
    names = [a.id for a in _call_arguments(call) if isinstance(a, ast.Name)]
    if method is not None:
        if method in _EMPTIES:
            removed.add(_EVERYTHING)
        elif method in _TAKES_OUT:
            removed.update(names)
    elif session in names:
        removed.update(names)  # a helper given the session and the instance may do anything


def _call_arguments(call: ast.Call) -> list[ast.expr]:
    return [*call.args, *(k.value for k in call.keywords)]


def _call_statements(parents: dict[ast.AST, _Parent]) -> dict[ast.AST, ast.stmt]:
    """Call -> the statement that is only that call (`f()` or `await f()`)."""
    out: dict[ast.AST, ast.stmt] = {}
    for stmt in parents:
        if isinstance(stmt, ast.Expr):
            value = stmt.value.value if isinstance(stmt.value, ast.Await) else stmt.value
            out[value] = stmt
    return out


def _added_for_certain(
    last_binding: Position,
    adds: list[ast.Call],
    commit: ast.Expr,
    parents: dict[ast.AST, _Parent],
    statements: dict[ast.AST, ast.stmt],
) -> bool:
    """Is there a `session.add(name)` after the last binding of `name` that runs
    whenever the commit does (its statement sits in a block that holds the commit)?"""
    blocks = {id(block) for block in _enclosing_blocks(commit, parents)}
    for add in adds:
        if _pos(add) <= last_binding:
            continue
        stmt = statements.get(add)
        if stmt is not None and id(parents[stmt][1]) in blocks:
            return True
    return False


def _enclosing_blocks(stmt: ast.AST, parents: dict[ast.AST, _Parent]) -> list[list[ast.stmt]]:
    out = []
    current: ast.AST | None = stmt
    while current is not None and current in parents:
        owner, block = parents[current]
        out.append(block)
        current = owner
    return out


def _binding_puts_in_session(
    project: Project,
    func: FunctionInfo,
    session: str,
    binding: ast.AST,
    adds: list[ast.Call],
    all_bindings: list[tuple[Position, ast.AST]],
    parents: dict[ast.AST, _Parent],
    statements: dict[ast.AST, ast.stmt],
) -> bool:
    """Does this binding give `name` an instance of the session: a load through
    it, or any value added to it (same block, before the next binding)?"""
    if isinstance(binding, ast.Assign) and len(binding.targets) == 1 and isinstance(binding.targets[0], ast.Name):
        if _is_load(project, func, session, binding.value, 0):
            return True
        nexts = [p for p, _ in all_bindings if p > _pos(binding)]
        limit = min(nexts) if nexts else (10**9, 0)
        block = parents[binding][1] if binding in parents else None
        return any(
            _pos(binding) < _pos(add) < limit and statements.get(add) is not None and parents[statements[add]][1] is block
            for add in adds
        )
    return False


def _is_load(project: Project, func: FunctionInfo, session: str, value: ast.expr, depth: int) -> bool:
    """Does `value` give one ORM instance loaded through `session`?"""
    if depth > 4:
        return False
    if isinstance(value, ast.Await) and isinstance(value.value, ast.Call):
        call = value.value
        if _on_session(call, session, {"get", "get_one"}):
            # The first argument of `get` is always a mapped class: no need to find it.
            return bool(call.args) and isinstance(call.args[0], ast.Name | ast.Attribute)
        if _on_session(call, session, {"scalar"}):
            return bool(call.args) and _selects_entity(project, func, call.args[0], 0)
        return False
    if not isinstance(value, ast.Call) or not isinstance(value.func, ast.Attribute) or value.args:
        return False
    pick = value.func.attr
    source = _result_source(func, session, value.func.value, depth + 1)
    if source is None:
        return False
    method, statement = source
    if method == "execute" and pick not in _ROW_TO_SCALAR:
        return False
    if method in {"scalars", "exec"} and pick not in _SCALAR_PICKS:
        return False
    return _selects_entity(project, func, statement, 0)


def _on_session(call: ast.Call, session: str, methods: set[str]) -> bool:
    callee = call.func
    return (
        isinstance(callee, ast.Attribute)
        and callee.attr in methods
        and isinstance(callee.value, ast.Name)
        and callee.value.id == session
    )


def _result_source(func: FunctionInfo, session: str, expr: ast.expr, depth: int) -> tuple[str, ast.expr] | None:
    """What a result object is: ("execute" | "scalars" | "exec", statement)."""
    if depth > 4:
        return None
    if isinstance(expr, ast.Await) and isinstance(expr.value, ast.Call):
        call = expr.value
        if _on_session(call, session, {"execute", "scalars", "exec"}) and call.args:
            return call.func.attr, call.args[0]  # type: ignore[attr-defined]
        return None
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "scalars" and not expr.args:
        inner = _result_source(func, session, expr.func.value, depth + 1)
        return ("scalars", inner[1]) if inner is not None and inner[0] == "execute" else None
    if isinstance(expr, ast.Name):
        bound = _local_bindings(func.node, expr.id)
        if len(bound) == 1:
            return _result_source(func, session, bound[0], depth + 1)
    return None


def _selects_entity(project: Project, func: FunctionInfo, statement: ast.expr, depth: int) -> bool:
    """`select(Model)...` with one project class (through a local `stmt = ...`)."""
    if depth > 4:
        return False
    while (
        isinstance(statement, ast.Call)
        and isinstance(statement.func, ast.Attribute)
        and statement.func.attr in STATEMENT_METHODS
    ):
        statement = statement.func.value
    if isinstance(statement, ast.Name):
        bound = _local_bindings(func.node, statement.id)
        return bool(bound) and all(
            _selects_entity(project, func, b, depth + 1) or _rebuilds(b, statement.id) for b in bound
        ) and not all(_rebuilds(b, statement.id) for b in bound)
    if not isinstance(statement, ast.Call) or project.resolve(func.module, statement.func) not in SELECTS:
        return False
    return len(statement.args) == 1 and not statement.keywords and _is_project_class(project, func.module, statement.args[0])


def _rebuilds(value: ast.expr, name: str) -> bool:
    """`stmt = stmt.where(...)`: a statement built from itself."""
    while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in STATEMENT_METHODS:
        value = value.func.value
    return isinstance(value, ast.Name) and value.id == name


def _is_project_class(project: Project, module: ModuleInfo, expr: ast.expr) -> bool:
    return isinstance(expr, ast.Name | ast.Attribute) and isinstance(project.lookup(module.resolve(expr)), ClassInfo)


# -- after the commit ------------------------------------------------------------


def _reads_after(
    commit: ast.Expr,
    session: str,
    tracked: set[str],
    parents: dict[ast.AST, _Parent],
    func_node: FunctionNode,
    is_route: bool,
) -> list[_Read]:
    """The first read of each tracked instance in the code that certainly runs
    after `commit`, before anything that may load it again."""
    scope = _Scope(session, set(tracked), is_route)
    for block, detached in _regions_after(commit, session, parents, func_node):
        scope.detached = detached
        if _walk_block(block, scope) or scope.stopped or not scope.tracked:
            break
    return scope.reads


def _regions_after(
    commit: ast.Expr, session: str, parents: dict[ast.AST, _Parent], func_node: FunctionNode
) -> Iterator[tuple[list[ast.stmt], bool]]:
    """The statement lists that run after `commit` whenever it has run, in order,
    each with whether the session's `async with` has closed by then."""
    stmt: ast.AST = commit
    detached = False
    while stmt is not func_node:
        owner, block = parents[stmt]
        yield block[block.index(stmt) + 1 :], detached  # type: ignore[arg-type]
        if owner is func_node:
            return
        if isinstance(owner, ast.With | ast.AsyncWith) and block is owner.body:
            if any(_names_session(item, session) for item in owner.items):
                detached = True  # leaving the block closes the session
        elif isinstance(owner, ast.Try) and (block is owner.body or block is owner.orelse):
            if block is owner.body:
                if not all(_ends_in_exit(h.body) for h in owner.handlers):
                    return  # a handler that swallows the error reaches the code below too
                yield owner.orelse, detached
            yield owner.finalbody, detached
        else:
            return  # an `if`, a loop, a handler: the code below may run without the commit
        stmt = owner


def _names_session(item: ast.withitem, session: str) -> bool:
    bound = item.optional_vars
    expr = item.context_expr
    return (isinstance(bound, ast.Name) and bound.id == session) or (isinstance(expr, ast.Name) and expr.id == session)


def _ends_in_exit(block: list[ast.stmt]) -> bool:
    return bool(block) and isinstance(block[-1], ast.Raise | ast.Return)


def _walk_block(block: Iterable[ast.stmt], scope: _Scope) -> bool:
    """Walk statements in order; True when the block certainly leaves (return, raise...)."""
    for stmt in block:
        if scope.stopped or not scope.tracked:
            return True
        if _walk_statement(stmt, scope):
            return True
    return False


def _walk_statement(stmt: ast.stmt, scope: _Scope) -> bool:
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        _untrack(scope, [stmt.name])
        return False
    if isinstance(stmt, ast.Return):
        if stmt.value is not None:
            _walk_expr(stmt.value, scope)
            if scope.returns_serialise and not scope.stopped:
                for name in _returned_names(stmt.value):
                    if name in scope.tracked:
                        _record(scope, _Read(name, stmt, "return", scope.detached))
        return True
    if isinstance(stmt, ast.Raise | ast.Continue | ast.Break):
        for child in ast.iter_child_nodes(stmt):
            _walk_expr(child, scope)
        return True
    if isinstance(stmt, ast.Assign):
        _walk_expr(stmt.value, scope)
        for target in stmt.targets:
            _walk_target(target, scope)
        return False
    if isinstance(stmt, ast.AnnAssign):
        if stmt.value is not None:
            _walk_expr(stmt.value, scope)
        _walk_target(stmt.target, scope)
        return False
    if isinstance(stmt, ast.AugAssign):
        _walk_expr(stmt.value, scope)
        target = stmt.target
        if isinstance(target, ast.Name):
            _untrack(scope, [target.id])
        else:
            _walk_expr(target, scope, load_attributes=True)  # `obj.count += 1` reads it first
        return False
    if isinstance(stmt, ast.Delete):
        for target in stmt.targets:
            _walk_target(target, scope)
        return False
    if isinstance(stmt, ast.If | ast.While):
        _walk_expr(stmt.test, scope)
        _walk_block(stmt.body, scope)
        _walk_block(stmt.orelse, scope)
        return False
    if isinstance(stmt, ast.For | ast.AsyncFor):
        _walk_expr(stmt.iter, scope)
        _walk_target(stmt.target, scope)
        _walk_block(stmt.body, scope)
        _walk_block(stmt.orelse, scope)
        return False
    if isinstance(stmt, ast.With | ast.AsyncWith):
        for item in stmt.items:
            if _mentions(item.context_expr, scope.session):
                scope.stopped = True  # `async with session.begin()`: another transaction
                return True
            _walk_expr(item.context_expr, scope)
            if item.optional_vars is not None:
                _walk_target(item.optional_vars, scope)
        return _walk_block(stmt.body, scope)
    if isinstance(stmt, ast.Try):
        body_leaves = _walk_block(stmt.body, scope)
        for handler in stmt.handlers:
            if handler.name:
                _untrack(scope, [handler.name])
            _walk_block(handler.body, scope)
        _walk_block(stmt.orelse, scope)
        _walk_block(stmt.finalbody, scope)
        return body_leaves and all(_ends_in_exit(h.body) for h in stmt.handlers)
    if isinstance(stmt, ast.Match):
        _walk_expr(stmt.subject, scope)
        for case in stmt.cases:
            _untrack(scope, _stored_names(case.pattern) + [n for n in _capture_names(case.pattern)])
            _walk_block(case.body, scope)
        return False
    if isinstance(stmt, ast.Global | ast.Nonlocal):
        _untrack(scope, list(stmt.names))
        return False
    for child in ast.iter_child_nodes(stmt):
        _walk_expr(child, scope)
    return False


def _capture_names(pattern: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(pattern):
        name = getattr(node, "name", None) if isinstance(node, ast.MatchAs | ast.MatchStar) else None
        if isinstance(node, ast.MatchMapping) and node.rest:
            name = node.rest
        if isinstance(name, str):
            names.append(name)
    return names


def _walk_target(target: ast.AST, scope: _Scope) -> None:
    """An assignment target: a name rebinds; `obj.attr = v` sets without loading."""
    if isinstance(target, ast.Name):
        _untrack(scope, [target.id])
    elif isinstance(target, ast.Tuple | ast.List | ast.Starred):
        for child in ast.iter_child_nodes(target):
            _walk_target(child, scope)
    elif isinstance(target, ast.Attribute):
        if not (isinstance(target.value, ast.Name) and target.value.id in scope.tracked):
            _walk_expr(target.value, scope)
    else:
        _walk_expr(target, scope)


def _untrack(scope: _Scope, names: Iterable[str]) -> None:
    for name in names:
        if name == scope.session:
            scope.stopped = True
        scope.tracked.discard(name)


def _record(scope: _Scope, read: _Read) -> None:
    if read.name in scope.tracked:
        scope.reads.append(read)
        scope.tracked.discard(read.name)


def _returned_names(value: ast.expr) -> list[str]:
    """`obj`, or `obj` as an item of a returned literal (`{"user": obj}`, `[a, b]`)."""
    if isinstance(value, ast.Name):
        return [value.id]
    if isinstance(value, ast.Tuple | ast.List | ast.Set):
        return [e.id for e in value.elts if isinstance(e, ast.Name)]
    if isinstance(value, ast.Dict):
        return [v.id for v in value.values if isinstance(v, ast.Name)]
    return []


def _mentions(expr: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(expr))


def _walk_expr(expr: ast.AST, scope: _Scope, *, load_attributes: bool = False, shadowed: frozenset[str] = frozenset()) -> None:
    """The events of an expression, in evaluation order (close enough: children
    in field order, a call's callee before its arguments)."""
    if scope.stopped or not scope.tracked:
        return
    if isinstance(expr, ast.Lambda):
        return  # runs later, if ever
    if isinstance(expr, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
        _walk_comprehension(expr, scope, shadowed)
        return
    if isinstance(expr, ast.Call):
        if _session_event(expr, scope) or scope.stopped:
            return
        callee = expr.func
        if isinstance(callee, ast.Attribute) and _tracked_name(callee.value, scope, shadowed):
            name = callee.value.id  # type: ignore[attr-defined]
            if callee.attr in _READING_METHODS:
                _record(scope, _Read(name, expr, "read", scope.detached))
        elif (
            isinstance(callee, ast.Attribute)
            and callee.attr in _VALIDATORS
            and expr.args
            and _tracked_name(expr.args[0], scope, shadowed)
        ):
            _walk_expr(callee, scope, shadowed=shadowed)
            _record(scope, _Read(expr.args[0].id, expr, "validate", scope.detached))  # type: ignore[attr-defined]
        else:
            _walk_expr(callee, scope, shadowed=shadowed)
        for arg in _call_arguments(expr):
            _walk_expr(arg, scope, shadowed=shadowed)
        return
    if isinstance(expr, ast.Attribute):
        if _tracked_name(expr.value, scope, shadowed):
            if (isinstance(expr.ctx, ast.Load) or load_attributes) and _loads(expr.attr):
                _record(scope, _Read(expr.value.id, expr, "read", scope.detached))  # type: ignore[attr-defined]
            return
        _walk_expr(expr.value, scope, shadowed=shadowed)
        return
    if isinstance(expr, ast.NamedExpr):
        _walk_expr(expr.value, scope, shadowed=shadowed)
        _untrack(scope, [expr.target.id])
        return
    for child in ast.iter_child_nodes(expr):
        if isinstance(child, ast.expr_context):
            continue
        _walk_expr(child, scope, shadowed=shadowed)


def _walk_comprehension(
    expr: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp, scope: _Scope, shadowed: frozenset[str]
) -> None:
    """The first iterable is evaluated in the enclosing scope; the rest of the
    comprehension sees its own loop variables, which may shadow a tracked name."""
    generators = expr.generators
    _walk_expr(generators[0].iter, scope, shadowed=shadowed)
    inner = shadowed | {n for g in generators for n in _stored_names(g.target)}
    for i, generator in enumerate(generators):
        if i:
            _walk_expr(generator.iter, scope, shadowed=inner)
        for test in generator.ifs:
            _walk_expr(test, scope, shadowed=inner)
    parts = [expr.key, expr.value] if isinstance(expr, ast.DictComp) else [expr.elt]
    for part in parts:
        _walk_expr(part, scope, shadowed=inner)


def _tracked_name(expr: ast.AST, scope: _Scope, shadowed: frozenset[str]) -> bool:
    return isinstance(expr, ast.Name) and expr.id in scope.tracked and expr.id not in shadowed


def _loads(attr: str) -> bool:
    """Does reading `obj.<attr>` touch mapped state? Not `awaitable_attrs` (it
    loads inside the greenlet), nor dunders and SQLAlchemy's own `_sa_*`."""
    return attr != "awaitable_attrs" and not attr.startswith(("__", "_sa_"))


def _session_event(call: ast.Call, scope: _Scope) -> bool:
    """A call that involves the session: True when it was handled here.

    `refresh(obj)`, `expunge(obj)`... end the tracking of `obj` only; `add` and
    another `commit` change nothing; any other use of the session (a query, a
    flush, a helper it is passed to) may load the instances again: the walk stops."""
    callee = call.func
    arguments = _call_arguments(call)
    if isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name) and callee.value.id == scope.session:
        if callee.attr in _INERT:
            return True
        if callee.attr in _PER_INSTANCE:
            _untrack(scope, [a.id for a in arguments if isinstance(a, ast.Name)])
            return True
        scope.stopped = True
        return True
    if any(_mentions(a, scope.session) for a in arguments):
        scope.stopped = True
        return True
    return False


# -- `expire_on_commit` set outside the factory call -----------------------------

_RECONFIGURED: weakref.WeakKeyDictionary[Project, bool] = weakref.WeakKeyDictionary()


def _expiry_set_elsewhere(project: Project) -> bool:
    """Does the project set `expire_on_commit` after building a factory
    (`session.expire_on_commit = False`, `SessionLocal.configure(expire_on_commit=False)`)?
    Then no factory's keyword can be trusted."""
    known = _RECONFIGURED.get(project)
    if known is None:
        known = any(_sets_expiry(module) for module in project.modules if module.spells("expire_on_commit"))
        _RECONFIGURED[project] = known
    return known


def _sets_expiry(module: ModuleInfo) -> bool:
    for attribute in module.nodes_of(ast.Attribute):
        if attribute.attr == "expire_on_commit" and isinstance(attribute.ctx, ast.Store):
            return True
    for call in module.nodes_of(ast.Call):
        callee = call.func
        if (
            isinstance(callee, ast.Attribute)
            and callee.attr == "configure"
            and any(k.arg == "expire_on_commit" for k in call.keywords)
        ):
            return True
    return False

from __future__ import annotations

import ast
import re

from fastapi_expert.review.model.fastapi_model import Route
from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, own_nodes
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules._util import SESSION_PREFIXES, method_under
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.types import ChainLink, Severity

_CONNECTION_PREFIXES = (
    "sqlalchemy.engine.Connection.",
    "sqlalchemy.ext.asyncio.AsyncConnection.",
    "sqlalchemy.ext.asyncio.engine.AsyncConnection.",
)
_WRITES = frozenset(
    {"add", "add_all", "delete", "commit", "merge", "bulk_save_objects", "bulk_insert_mappings", "bulk_update_mappings"}
)
_EXECUTES = frozenset({"execute", "exec", "exec_driver_sql"})
_DML = frozenset(
    {
        f"{base}.{verb}"
        for base in (
            "sqlalchemy",
            "sqlalchemy.sql",
            "sqlalchemy.sql.expression",
            "sqlalchemy.sql.dml",
            "sqlmodel",
            "sqlalchemy.dialects.postgresql",
            "sqlalchemy.dialects.sqlite",
            "sqlalchemy.dialects.mysql",
        )
        for verb in ("insert", "update", "delete")
    }
)
_TEXT = frozenset({"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text", "sqlmodel.text"})
_SQL_WRITE = re.compile(r"^\s*(insert|update|delete|merge|upsert)\b", re.IGNORECASE)
# Base classes of active-record ORMs whose instances have `.save()` / `.delete()`.
_ORM_BASE_PREFIXES = (
    "django.db.models.",
    "tortoise.",
    "beanie.",
    "odmantic.",
    "mongoengine.",
    "peewee.",
    "ormar.",
    "piccolo.",
)
_ORM_WRITES = frozenset(
    {"save", "delete", "create", "update", "insert", "upsert", "bulk_create", "get_or_create", "update_or_create"}
)
# GET is mandated by the protocol for these (OAuth/OIDC/SAML redirects).
_PROTOCOL_WORDS = frozenset({"callback", "oauth", "oauth2", "oidc", "sso", "saml"})


def _root_call(expr: ast.expr) -> ast.expr:
    """`update(User).where(...).values(...)` -> `update(User)`."""
    while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and isinstance(expr.func.value, ast.Call):
        expr = expr.func.value
    return expr


class _Finder:
    """Finds state-changing calls in one function's own body."""

    def __init__(self, project: Project, func: FunctionInfo) -> None:
        self.project = project
        self.func = func
        self.module = func.module
        self._types: dict[str, str] | None = None
        self.assigns: dict[str, list[ast.expr]] = {}
        for node in own_nodes(func.node):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.assigns.setdefault(target.id, []).append(node.value)

    def _resolve(self, expr: ast.expr) -> str | None:
        return self.project.resolve(self.module, expr) if isinstance(expr, ast.Name | ast.Attribute) else None

    def _is_dml(self, expr: ast.expr, depth: int = 0) -> bool:
        if depth > 3:
            return False
        if isinstance(expr, ast.Name):
            return any(self._is_dml(v, depth + 1) for v in self.assigns.get(expr.id, []))
        root = _root_call(expr)
        if not isinstance(root, ast.Call):
            return False
        name = self._resolve(root.func)
        if name in _DML:
            return True
        if name in _TEXT and root.args:
            first = root.args[0]
            return isinstance(first, ast.Constant) and isinstance(first.value, str) and bool(_SQL_WRITE.match(first.value))
        return False

    def _orm_class(self, expr: ast.expr) -> bool:
        sym = self.project.lookup(self._resolve(expr))
        if not isinstance(sym, ClassInfo):
            return False
        return any(b.startswith(_ORM_BASE_PREFIXES) for b in self.project.class_bases(sym))

    def _orm_instance(self, expr: ast.expr, types: dict[str, str]) -> bool:
        """An object of an active-record model: typed so, or built / fetched from the model class."""
        if isinstance(expr, ast.Name) and expr.id in types:
            sym = self.project.lookup(types[expr.id])
            if isinstance(sym, ClassInfo):
                return any(b.startswith(_ORM_BASE_PREFIXES) for b in self.project.class_bases(sym))
        if isinstance(expr, ast.Name):
            for assigned in self.assigns.get(expr.id, []):
                value = assigned.value if isinstance(assigned, ast.Await) else assigned
                if not isinstance(value, ast.Call):
                    continue
                head = value.func
                if isinstance(head, ast.Attribute):
                    head = head.value
                if self._orm_class(head):
                    return True
        return False

    def first_write(self) -> tuple[ast.Call, str] | None:
        calls = sorted(
            (n for n in own_nodes(self.func.node) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset)
        )
        for call in calls:
            shown = self.write_kind(call)
            if shown is not None:
                return call, shown
        return None

    def write_kind(self, call: ast.Call) -> str | None:
        """How the message shows `call` when it changes state (`session.add()`), else None."""
        if not isinstance(call.func, ast.Attribute):
            return None
        if self._types is None:
            self._types = self.project.variable_types(self.func)
        text = ast.unparse(call.func)
        shown = f"{text}()" if len(text) <= 40 else f"{call.func.attr}()"
        target = self.project.call_target(self.module, self.func, call)
        method = method_under(target, SESSION_PREFIXES)
        if method in _WRITES:
            return shown
        executes = method in _EXECUTES or method_under(target, _CONNECTION_PREFIXES) in _EXECUTES
        if executes and call.args and self._is_dml(call.args[0]):
            first = call.args[0]
            inner = ast.unparse(_root_call(first) if not isinstance(first, ast.Name) else first)
            return f"{text}({inner if len(inner) <= 40 else '...'})"
        if call.func.attr in _ORM_WRITES:
            receiver = call.func.value
            if self._orm_class(receiver) or self._orm_instance(receiver, self._types):
                return shown
        return None


def _only_commits(func: FunctionInfo) -> bool:
    """Is the function a transaction boundary and nothing else: its body (past the
    docstring) is `session.commit()` calls only (`release_db_transaction(session)`,
    called to hand a pooled connection back before a long wait)? It persists what
    its caller wrote; by itself it changes nothing."""
    body = func.node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if not body:
        return False
    for stmt in body:
        value = stmt.value if isinstance(stmt, ast.Expr) else None
        if isinstance(value, ast.Await):
            value = value.value
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "commit"):
            return False
    return True


def _audit_helper(func: FunctionInfo) -> bool:
    """Is the function an audit-log writer, by its name or its module's
    (`audit_events.record_dsar_event`, `write_audit_entry`)? Recording who read
    what is logging, which RFC 9110 (section 9.2.1) allows a safe method."""
    words = re.split(r"[^a-z0-9]+", f"{func.module.name}.{func.name}".lower())
    return "audit" in words


def _stores_attribute(func: FunctionInfo) -> bool:
    """Does the function assign to an attribute (`order.quantity += 1`): an ORM
    object changed in place, which a later `commit()` persists?"""
    for node in own_nodes(func.node):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) for t in targets):
                return True
    return False


def _protocol_route(route: Route) -> bool:
    paths = route.full_paths or ([route.path] if route.path else [])
    for path in paths:
        words = {w for w in re.split(r"[^a-z0-9]+", path.lower()) if w}
        if words & _PROTOCOL_WORDS:
            return True
    return False


class StateChangeInGet(Rule):
    """Flags a GET (or HEAD) endpoint that writes to the database.

    ## What it does
    For route endpoints serving GET or HEAD, finds state-changing calls in the
    endpoint's body, or in the body of a project function it calls directly:
    `add`, `add_all`, `delete`, `merge`, `commit` on a SQLAlchemy / SQLModel
    session; `session.execute(update(...))` / `insert(...)` / `delete(...)` (or a
    `text("UPDATE ...")`); `.save()` / `.delete()` / `.create()` on an
    active-record model (Django, Tortoise, Beanie, ODMantic, ...). Writing to a
    cache, logging and metrics are not state changes here, and OAuth / OIDC /
    SAML callback routes (GET by protocol) are skipped. So are a helper whose
    body only commits (`release_db_transaction(session)`, which ends the read
    transaction before a long wait and persists nothing of its own), an audit
    helper (a function named so or in a module named so: `record_audit_event`,
    `audit_events.record_dsar_event`), and the endpoint's own `commit()` when
    the only thing pending is such an audit row (it changes no attribute, makes
    no write of its own, and calls no other writing project function):
    recording who read what is logging, which RFC 9110 allows a safe method.

    ## Why is this bad?
    RFC 9110 defines GET and HEAD as safe: a client, a proxy or a crawler may
    send them at any time, any number of times, without the user meaning to
    change anything. Link prefetchers, e-mail security scanners that "click"
    every link, browser preloading and search-engine crawlers will trigger the
    change; caches may serve a stored response so the change silently does not
    happen; and CSRF protections usually exempt GET. Use POST (or PUT / PATCH /
    DELETE) for the operation, and keep GET read-only.

    ## References
    - https://www.rfc-editor.org/rfc/rfc9110#section-9.2.1
    - https://developer.mozilla.org/en-US/docs/Glossary/Safe/HTTP
    - https://owasp.org/www-community/attacks/csrf
    - https://fastapi.tiangolo.com/tutorial/first-steps/#operation
    """

    code = "FX710"
    name = "state-change-in-get"
    summary = "A GET endpoint changes state (writes to the database); GET must be safe."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            import logging

            from fastapi import Depends, FastAPI
            from prometheus_client import Counter
            from sqlalchemy.orm import Session

            app = FastAPI()
            log = logging.getLogger(__name__)
            views = Counter("article_views", "Article views")

            @app.get("/articles/{slug}")
            def read_article(slug: str, db: Session = Depends(get_db), cache=Depends(get_cache)):
                cached = cache.get(slug)
                if cached is None:
                    cached = db.query(Article).filter(Article.slug == slug).one()
                    cache.set(slug, cached, ex=60)
                views.inc()
                log.info("article %s read", slug)
                return cached
            """
        ),
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            app = FastAPI()

            @app.post("/articles/{slug}/publish")
            def publish(slug: str, db: Session = Depends(get_db)):
                article = db.query(Article).filter(Article.slug == slug).one()
                article.published = True
                db.commit()
                return article

            @app.get("/auth/google/callback")
            def google_callback(code: str, db: Session = Depends(get_db)):
                db.add(LoginEvent(provider="google"))
                db.commit()
                return {"ok": True}
            """
        ),
        Valid(
            # A commit that only ends the read transaction before a long stream, and an
            # audit row of who exported what: logging, which a safe method may do.
            """
            from fastapi import APIRouter, Depends
            from sqlalchemy.ext.asyncio import AsyncSession

            router = APIRouter()


            async def release_db_transaction(session: AsyncSession) -> None:
                '''Hand the pooled connection back before a long wait.'''
                await session.commit()


            async def record_audit_event(session: AsyncSession, actor: int, action: str) -> None:
                session.add(AuditEvent(actor=actor, action=action))


            @router.get("/flows/{flow_id}/events")
            async def flow_events(flow_id: int, session: AsyncSession = Depends(get_session)):
                await release_db_transaction(session)
                return stream_events(flow_id)


            @router.get("/me/export")
            async def export_me(user_id: int, session: AsyncSession = Depends(get_session)):
                archive = await build_export(session, user_id)
                await record_audit_event(session, user_id, "export")
                await session.commit()
                return archive
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import update
            from sqlalchemy.ext.asyncio import AsyncSession

            app = FastAPI()

            @app.get("/newsletter/unsubscribe")
            async def unsubscribe(email: str, session: AsyncSession = Depends(get_session)):
                await session.execute(update(Subscriber).where(Subscriber.email == email).values(active=False))
                await session.commit()
                return {"unsubscribed": email}
            """,
            lines=(9,),
        ),
        Invalid(
            """
            from fastapi import APIRouter, Depends
            from sqlmodel import Session

            router = APIRouter()

            def mark_all_read(session: Session, user_id: int) -> int:
                notes = session.exec(select(Note).where(Note.user_id == user_id)).all()
                for note in notes:
                    note.read = True
                    session.add(note)
                session.commit()
                return len(notes)

            @router.get("/notifications/read-all")
            def read_all(user_id: int, session: Session = Depends(get_session)):
                return {"marked": mark_all_read(session, user_id)}
            """,
            lines=(16,),
        ),
    )

    @staticmethod
    def _commits_audit_only(ctx: FileContext, func: FunctionInfo, call: ast.Call) -> bool:
        """Is the endpoint's first write a `commit()` whose only pending change is an
        audit-log row: it changes no attribute, and it calls an audit helper and no
        other project function that writes (the export that logs who exported)?"""
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == "commit") or _stores_attribute(func):
            return False
        others = [n for n in own_nodes(func.node) if isinstance(n, ast.Call) and n is not call]
        finder = _Finder(ctx.project, func)
        if any(finder.write_kind(n) for n in others):
            return False  # another write of its own (`session.add(...)`)
        audited = False
        for site in ctx.project.calls.sites_of(func):
            callee = site.callee
            if callee is None or callee is func:
                continue
            if _audit_helper(callee):
                audited = True
            elif _Finder(ctx.project, callee).first_write() is not None:
                return False
        return audited

    def visit_FunctionDef(self, node: ast.FunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def _check(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext) -> None:
        routes = [
            r for r in ctx.routes_of(node) if not r.is_websocket and {"GET", "HEAD"} & set(r.methods) and not _protocol_route(r)
        ]
        func = ctx.module.function_of_node.get(node)
        if not routes or func is None or ctx.module.is_test:
            return
        route = routes[0]
        verb = "GET" if "GET" in route.methods else "HEAD"
        where = f"{verb} `{route.display_path}`"
        found = _Finder(ctx.project, func).first_write()
        if found is not None and self._commits_audit_only(ctx, func, found[0]):
            found = None  # the commit persists only the audit row the helper added
        if found is not None:
            call, shown = found
            ctx.report(
                call,
                f"{where} changes state with `{shown}`; GET must be safe and idempotent (RFC 9110) because "
                "caches, prefetchers and crawlers send it freely: move the change to a POST/PUT/PATCH/DELETE route.",
            )
            return
        for site in ctx.project.calls.sites_of(func):
            callee = site.callee
            if callee is None or callee is func or _audit_helper(callee) or _only_commits(callee):
                continue
            inner = _Finder(ctx.project, callee).first_write()
            if inner is None:
                continue
            call, shown = inner
            ctx.report(
                site.node,
                f"{where} changes state through `{callee.name}()`, which calls `{shown}`; GET must be safe and "
                "idempotent (RFC 9110) because caches, prefetchers and crawlers send it freely: move the change "
                "to a POST/PUT/PATCH/DELETE route.",
                chain=[ChainLink(callee.module.source.location(call), f"`{callee.name}` calls `{shown}`")],
            )
            return

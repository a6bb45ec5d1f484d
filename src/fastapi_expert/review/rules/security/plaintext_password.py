from __future__ import annotations

import ast

from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, own_nodes
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.security._crypto import (
    is_plain_password_name,
    is_test,
    receiver_name,
    terminal_name,
    words,
)
from fastapi_expert.types import Severity

# Words of a receiver that holds a stored (database) record.
_STORED_WORDS = frozenset(
    {"user", "users", "db", "account", "record", "stored", "existing", "member", "customer", "admin", "row", "entity", "obj", "instance", "model", "found", "saved"}
)
# Words of a second password field in a form: "passwords must match" checks compare these.
_CONFIRM_WORDS = frozenset({"confirm", "confirmation", "confirmed", "repeat", "repeated", "again", "retype", "verify", "verification", "check", "2", "two"})
# Class-name words of a model of people who log in: their password must be hashed.
_ACCOUNT_CLASS_WORDS = frozenset(
    {"user", "users", "account", "accounts", "member", "members", "customer", "customers",
     "admin", "admins", "administrator", "person", "profile", "employee", "staff",
     "subscriber", "player", "student", "patient", "principal", "login", "identity"}
)
# Fields that identify a person who logs in.
_ACCOUNT_FIELDS = frozenset({"email", "email_address", "username", "user_name", "login", "login_name"})
# Class-name words of a credential this app uses to log in to *another* system: it
# must stay reversible (encrypted, not hashed).
_OUTBOUND_CLASS_WORDS = frozenset(
    {"connection", "connections", "conn", "credential", "credentials", "cred", "creds",
     "datasource", "integration", "integrations", "secret", "secrets", "vault", "keyring",
     "smtp", "imap", "mailbox", "proxy", "dsn", "broker", "remote", "upstream", "provider",
     "server", "host", "database", "registry", "mirror", "ftp", "sftp"}
)
_ORM_BASES = (
    "sqlalchemy.",
    "tortoise.models.Model",
    "tortoise.Model",
    "beanie.Document",
    "odmantic.Model",
    "ormar.Model",
    "piccolo.table.Table",
    "django.db.models.Model",
    "mongoengine.Document",
)
_ORM_FACTORIES = frozenset(
    {"sqlalchemy.orm.declarative_base", "sqlalchemy.ext.declarative.declarative_base", "sqlalchemy.orm.registry.generate_base"}
)


def _password_side(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Attribute | ast.Name | ast.Subscript) and is_plain_password_name(terminal_name(expr))


def _computed_local(func: FunctionInfo | None, expr: ast.expr) -> bool:
    """A local name every assignment of which is a call's result
    (`new_password = auth.get_password_hash(body.password)`): the value went through a
    call, like `hash_password(body.password)` written inline."""
    if func is None or not isinstance(expr, ast.Name):
        return False
    values = [
        node.value
        for node in own_nodes(func.node)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == expr.id for t in node.targets)
    ]
    return bool(values) and all(isinstance(v.value if isinstance(v, ast.Await) else v, ast.Call) for v in values)


def _is_confirmation(expr: ast.expr) -> bool:
    name = terminal_name(expr) or ""
    return any(w in _CONFIRM_WORDS for w in words(name))


def _is_stored(expr: ast.expr) -> bool:
    """`user.password`, `db_user.password`, `fake_users_db[name]["password"]`, `stored_password`."""
    if isinstance(expr, ast.Name):
        return any(w in {"stored", "db", "saved", "existing"} for w in words(expr.id))
    owner = receiver_name(expr)
    if owner is None:
        return False
    return any(w in _STORED_WORDS for w in words(owner))


class PlaintextPassword(Rule):
    """Flags a password stored or compared in plain text.

    ## What it does
    Finds `==` / `!=` between a password and a stored password
    (`user.password == form_data.password`, `db_user["password"] != password`),
    an ORM model of user accounts built with a plain password
    (`User(email=..., password=body.password)` where `User` is a SQLAlchemy,
    SQLModel, Tortoise, Beanie, ormar or Django model named like a user,
    account, member, customer or admin, or with an `email`, `username` or
    `login` field), and an assignment of a plain password to such a record
    (`user.password = body.password`). Models of credentials the app uses to
    log in to *other* systems (`Connection`, `Credential`, `Datasource`,
    `Integration`, `Secret`...) are not flagged: the app must read those
    passwords back, so they are encrypted, not hashed. A value that goes through a call
    (`hash_password(body.password)`, also through a local variable:
    `new_password = hash_password(body.password)`) and fields named `hashed_password` /
    `password_hash` are fine; so is comparing `password` with
    `password_confirm` in a form.
    Test files are skipped.

    ## Why is this bad?
    A database of plain-text passwords turns any leak (a backup, an SQL
    injection, a log of the row) into every user's password, for this site and
    every other site where they reused it. Store a slow salted hash (argon2 via
    `pwdlib`, or bcrypt) and check a login with `password_hash.verify(plain,
    user.hashed_password)`, which also compares in constant time.

    ## References
    - https://fastapi.tiangolo.com/tutorial/security/oauth2-jwt/#password-hashing
    - https://fastapi.tiangolo.com/tutorial/extra-models/#about-password-hash
    - https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html
    - https://cwe.mitre.org/data/definitions/256.html
    """

    code = "FX410"
    name = "plaintext-password"
    summary = "A password is stored or compared in plain text."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            from fastapi import Depends, HTTPException
            from fastapi.security import OAuth2PasswordRequestForm
            from pwdlib import PasswordHash
            from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

            password_hash = PasswordHash.recommended()

            class Base(DeclarativeBase):
                pass

            class User(Base):
                __tablename__ = "users"
                id: Mapped[int] = mapped_column(primary_key=True)
                email: Mapped[str]
                hashed_password: Mapped[str]

            def register(db: Session, email: str, password: str) -> User:
                user = User(email=email, hashed_password=password_hash.hash(password))
                db.add(user)
                return user

            def login(db: Session, form: OAuth2PasswordRequestForm = Depends()) -> User:
                user = db.query(User).filter(User.email == form.username).first()
                if user is None or not password_hash.verify(form.password, user.hashed_password):
                    raise HTTPException(status_code=401, detail="Incorrect email or password")
                return user
            """
        ),
        Valid(
            """
            from pydantic import BaseModel, model_validator

            class SignUp(BaseModel):
                email: str
                password: str
                password_confirm: str

                @model_validator(mode="after")
                def passwords_match(self):
                    if self.password != self.password_confirm:
                        raise ValueError("passwords do not match")
                    return self

            def to_schema(form) -> SignUp:
                return SignUp(email=form.email, password=form.password, password_confirm=form.password2)
            """
        ),
        Valid(
            """
            import argparse

            from app.models import Connection

            def add_connection(args: argparse.Namespace) -> Connection:
                return Connection(
                    conn_id=args.conn_id,
                    host=args.conn_host,
                    login=args.conn_login,
                    password=args.conn_password,
                )

            def rotate_password(conn: Connection, args: argparse.Namespace) -> None:
                conn.password = args.new_password
            """,
            filename="app/cli.py",
            files={
                "app/models.py": """
                    from sqlalchemy import Column, Integer, String
                    from sqlalchemy.orm import declarative_base

                    Base = declarative_base()

                    class Connection(Base):
                        # How the scheduler logs in to an outside system: the password must be
                        # read back, so a column type encrypts it with Fernet instead of hashing.
                        __tablename__ = "connection"
                        id = Column(Integer, primary_key=True)
                        conn_id = Column(String(250), unique=True, nullable=False)
                        host = Column(String(500))
                        login = Column(String(500))
                        password = Column(String(5000))
                    """,
            },
        ),
        Valid(
            # The column is named `password`, but what it receives is the hash computed
            # into a local just above.
            """
            from pwdlib import PasswordHash
            from sqlalchemy import Column, Integer, String
            from sqlalchemy.orm import Session, declarative_base

            Base = declarative_base()
            password_hash = PasswordHash.recommended()

            class User(Base):
                __tablename__ = "users"
                id = Column(Integer, primary_key=True)
                email = Column(String, unique=True)
                password = Column(String)

            def reset_password(db: Session, user: User, body) -> None:
                new_password = password_hash.hash(body.password)
                user.password = new_password
                db.commit()
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import Depends, FastAPI, HTTPException
            from fastapi.security import OAuth2PasswordRequestForm

            from app.db import get_user_by_email

            app = FastAPI()

            @app.post("/token")
            async def login(form_data: OAuth2PasswordRequestForm = Depends()):
                user = await get_user_by_email(form_data.username)
                if user is None or user.password != form_data.password:
                    raise HTTPException(status_code=401, detail="Incorrect username or password")
                return {"access_token": user.email, "token_type": "bearer"}
            """,
            lines=(11,),
        ),
        Invalid(
            """
            from sqlalchemy import Column, Integer, String
            from sqlalchemy.orm import Session, declarative_base

            Base = declarative_base()

            class User(Base):
                __tablename__ = "users"
                id = Column(Integer, primary_key=True)
                email = Column(String, unique=True)
                password = Column(String)

            def create_user(db: Session, payload) -> User:
                user = User(email=payload.email, password=payload.password)
                db.add(user)
                return user

            def change_password(db: Session, user: User, body) -> None:
                user.password = body.new_password
                db.commit()
            """,
            lines=(13, 18),
        ),
    )

    def visit_Compare(self, node: ast.Compare, ctx: FileContext) -> None:
        if is_test(ctx) or len(node.ops) != 1 or not isinstance(node.ops[0], ast.Eq | ast.NotEq):
            return
        left, right = node.left, node.comparators[0]
        if not (_password_side(left) and _password_side(right)):
            return
        if _is_confirmation(left) or _is_confirmation(right):
            return
        if not (_is_stored(left) or _is_stored(right)):
            return
        ctx.report(
            node,
            f"`{ctx.source.segment(node)}` compares passwords in plain text, so they are stored unhashed; "
            "store a hash and check it with `password_hash.verify(plain, user.hashed_password)`.",
        )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        if is_test(ctx):
            return
        for kw in node.keywords:
            if kw.arg is None or not is_plain_password_name(kw.arg) or not _password_side(kw.value):
                continue
            if _is_confirmation(kw.value) or _computed_local(ctx.function(), kw.value):
                continue
            if not self._is_account_model(ctx, node):
                return
            ctx.report(
                kw,
                f"`{ctx.source.segment(kw)}` stores the password in plain text; store "
                "`hashed_password=password_hash.hash(...)` (pwdlib/argon2 or bcrypt) instead.",
            )

    def visit_Assign(self, node: ast.Assign, ctx: FileContext) -> None:
        if is_test(ctx) or len(node.targets) != 1 or not _password_side(node.value):
            return
        target = node.targets[0]
        if not isinstance(target, ast.Attribute) or not is_plain_password_name(target.attr):
            return
        owner = target.value
        if not isinstance(owner, ast.Name) or owner.id in {"self", "cls"}:
            return
        func = ctx.function()
        if _computed_local(func, node.value):
            return
        owner_type = ctx.project.variable_types(func).get(owner.id) if func is not None else None
        if owner_type is not None:
            symbol = ctx.project.lookup(owner_type)
            if not (
                isinstance(symbol, ClassInfo) and self._is_orm_class(ctx, symbol) and self._is_account_class(ctx, symbol)
            ):
                return
        elif not any(w in _STORED_WORDS for w in words(owner.id)) or set(words(owner.id)) & _OUTBOUND_CLASS_WORDS:
            return  # `db_connection.password = ...`: a credential for another system
        ctx.report(
            node,
            f"`{ctx.source.segment(target)}` is set to a plain-text password; store "
            "`password_hash.hash(...)` (pwdlib/argon2 or bcrypt) in a `hashed_password` column instead.",
        )

    # -- ORM models -------------------------------------------------------------

    def _is_account_model(self, ctx: FileContext, call: ast.Call) -> bool:
        """`User(...)`: an ORM model of people who log in to this app."""
        target = ctx.resolve(call.func)
        symbol = ctx.project.lookup(target) if target else None
        return (
            isinstance(symbol, ClassInfo)
            and self._is_orm_class(ctx, symbol)
            and self._is_account_class(ctx, symbol)
        )

    def _is_account_class(self, ctx: FileContext, cls: ClassInfo) -> bool:
        """User / Account / Member / Customer / Admin, or a model with an `email`,
        `username` or `login` field; never Connection / Credential / Datasource /
        Integration / Secret (credentials for other systems, kept reversible)."""
        name_words = set(words(cls.node.name))
        if name_words & _OUTBOUND_CLASS_WORDS or "datasource" in cls.node.name.lower():
            return False
        if name_words & _ACCOUNT_CLASS_WORDS:
            return True
        seen: set[str] = set()
        todo = [cls]
        while todo:
            current = todo.pop()
            if current.qualname in seen:
                continue
            seen.add(current.qualname)
            for stmt in current.node.body:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
                if any(isinstance(t, ast.Name) and t.id.lower() in _ACCOUNT_FIELDS for t in targets):
                    return True
            for base in current.bases:
                symbol = ctx.project.lookup(base)
                if isinstance(symbol, ClassInfo):
                    todo.append(symbol)
        return False

    def _is_orm_class(self, ctx: FileContext, cls: ClassInfo) -> bool:
        if any(kw.arg == "table" for kw in cls.node.keywords):
            return True  # SQLModel `table=True`
        for stmt in cls.node.body:
            if isinstance(stmt, ast.Assign | ast.AnnAssign):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if any(isinstance(t, ast.Name) and t.id in {"__tablename__", "__table__"} for t in targets):
                    return True
        for base in ctx.project.class_bases(cls):
            if base.startswith(_ORM_BASES):
                return True
            symbol = ctx.project.lookup(base)
            if isinstance(symbol, tuple):
                module, value = symbol
                if isinstance(value, ast.Call) and ctx.project.resolve(module, value.func) in _ORM_FACTORIES:
                    return True
            elif isinstance(symbol, ClassInfo) and symbol is not cls and self._has_table(symbol):
                return True
        return False

    def _has_table(self, cls: ClassInfo) -> bool:
        return any(kw.arg == "table" for kw in cls.node.keywords)

"""The wording, evidence and fixes of FX309 (`orm-object-validated-without-from-attributes`):
the rule examples check *where* it fires, these check *what it says*, what it offers to
change, and the near misses that must stay quiet."""

from __future__ import annotations

from fastapi_expert.config import Config
from fastapi_expert.review.engine import review_sources
from fastapi_expert.review.fixes import apply_fixes
from fastapi_expert.review.rules.base import Invalid, Valid
from rule_messages import findings as _findings
from rule_messages import invalid as _invalid
from rule_messages import messages as _messages

_MODELS = """
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

class Base(DeclarativeBase):
    pass

class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str]
"""


def _example(code: str, lines: tuple[int, ...] = ()) -> Invalid:
    return Invalid(code, lines=lines, filename="app/main.py", files={"app/models.py": _MODELS})


def _fx309_messages(code: str) -> list[str]:
    example = Valid(code, filename="app/main.py", files={"app/models.py": _MODELS})
    result = review_sources(example.sources, Config(select=("FX309",)))
    return [f.message for f in result.findings if f.code == "FX309"]


def test_fx309_names_the_call_the_orm_class_its_origin_and_both_remedies() -> None:
    example = _invalid("FX309", "async def user_card")
    messages = _messages("FX309", example)
    assert list(messages) == [18], messages
    assert messages[18] == (
        "`UserOut.model_validate(user)` raises `ValidationError` (`model_type`): `user` holds an ORM object "
        "(`User`, from line 17), and `UserOut` does not set `from_attributes=True`, so Pydantic accepts only "
        "a dict or an instance of `UserOut` there; add `from_attributes=True` to `UserOut.model_config` "
        "or pass `from_attributes=True` to this call."
    ), messages[18]


def test_fx309_says_where_a_loop_variable_and_a_list_come_from() -> None:
    example = _invalid("FX309", "items_adapter = TypeAdapter")
    messages = _messages("FX309", example)
    assert list(messages) == [13, 17, 21], messages
    assert "`items_adapter.validate_python(items)` raises" in messages[13], messages[13]
    assert "`items` holds a list of ORM objects (`Item`, from line 12)" in messages[13], messages[13]
    assert "`row` holds an ORM object (`Item`, from iterating `rows`, line 17)" in messages[17], messages[17]
    # no `model_config` on the schema: the remedy spells the whole line
    assert "set `model_config = ConfigDict(from_attributes=True)` on `ItemOut`" in messages[21], messages[21]


def test_fx309_from_orm_fails_whatever_it_is_given() -> None:
    example = _invalid("FX309", "def read_note")
    messages = _messages("FX309", example)
    assert messages[23].startswith("`NoteOut.model_validate(n)` raises"), messages[23]
    assert "(`Note`, from parameter `notes`)" in messages[23], messages[23]
    from_orm = [f.message for f in _findings("FX309", example) if "from_orm" in f.message]
    assert from_orm == [
        "`NoteOut.from_orm(note)` raises `PydanticUserError` (Pydantic v1: `ConfigError`) whatever it is given: "
        "`NoteOut` sets neither `from_attributes=True` nor `orm_mode = True`; "
        "set `model_config = ConfigDict(from_attributes=True)` on `NoteOut`."
    ], from_orm


def test_fx309_fix_is_unsafe_and_only_offered_for_a_schema_in_the_same_file() -> None:
    same_file = _invalid("FX309", "async def user_card")
    fixes = [f.fix for f in _findings("FX309", same_file)]
    assert fixes and all(fix is not None and not fix.safe for fix in fixes), fixes
    other_file = _invalid("FX309", "items_adapter = TypeAdapter")
    assert [f.fix for f in _findings("FX309", other_file)] == [None, None, None]


def test_fx309_fix_adds_the_keyword_to_a_multi_line_config_dict() -> None:
    example = _example(
        """
        from pydantic import BaseModel, ConfigDict
        from sqlalchemy.orm import Session

        from app.models import User

        class UserOut(BaseModel):
            model_config = ConfigDict(
                str_strip_whitespace=True,
                frozen=True,
            )

            id: int
            email: str

        def load(db: Session, user_id: int) -> UserOut:
            return UserOut.model_validate(db.get(User, user_id))
        """,
        lines=(16,),
    )
    found = _findings("FX309", example)
    assert [f.location.line for f in found] == [16]
    assert "`db.get(User, user_id)` gives an ORM object (`User`)" in found[0].message, found[0].message
    fixed = apply_fixes(example.source, found, unsafe=True).text
    assert "    model_config = ConfigDict(\n        from_attributes=True,\n        str_strip_whitespace=True,\n" in fixed, fixed


def test_fx309_reads_every_loading_spelling() -> None:
    example = _example(
        """
        from pydantic import BaseModel
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from app.models import User

        class UserOut(BaseModel):
            id: int
            email: str

        def one(db: Session) -> list[UserOut]:
            a = db.query(User).filter(User.id == 1).first()
            b = db.scalar(select(User).where(User.id == 2))
            c = db.execute(select(User)).scalars().first()
            d = db.scalars(select(User)).one_or_none()
            e = db.query(User).get(5)
            f = User(email="x@example.com")
            rows = list(db.scalars(select(User)))
            return [UserOut.model_validate(x) for x in (a, b, c, d, e, f)] + [UserOut.model_validate(rows[0])]

        def each(db: Session) -> list[UserOut]:
            out = []
            for user in db.query(User).all():
                out.append(UserOut.model_validate(user))
            return out
        """
    )
    found = _findings("FX309", example)
    # the tuple `(a, b, ...)` is not an ORM collection; `rows[0]` and the loop are
    assert [f.location.line for f in found] == [19, 24], [(f.location.line, f.message) for f in found]
    for name in "abcdef":
        assert _fx309_messages(
            example.code.replace(
                "return [UserOut.model_validate(x) for x in (a, b, c, d, e, f)] + [UserOut.model_validate(rows[0])]",
                f"return [UserOut.model_validate({name})]",
            )
        ), name


def test_fx309_stays_quiet_on_near_misses() -> None:
    # a row from `.execute(...).first()`, a rebound name, a `with ... as` binding, an
    # unknown base class, an explicit `from_attributes=True`, a before-validator
    assert (
        _fx309_messages(
            """
            from typing import Any

            from pydantic import BaseModel, model_validator
            from sqlalchemy import select
            from sqlalchemy.orm import Session

            from app.models import User
            from lib.schemas import OrmModel

            class UserOut(BaseModel):
                id: int
                email: str

            class UserLib(OrmModel):
                id: int

            class UserUnpacked(BaseModel):
                id: int

                @model_validator(mode="wrap")
                @classmethod
                def unpack(cls, data: Any, handler: Any) -> Any:
                    return handler(data if isinstance(data, dict) else {"id": data.id})

            def rows(db: Session, payload: dict) -> list[object]:
                row = db.execute(select(User)).first()
                user = db.get(User, 1)
                user = payload
                with db.begin() as tx:
                    pass
                fetched = db.get(User, 2)
                return [
                    UserOut.model_validate(row),
                    UserOut.model_validate(user),
                    UserOut.model_validate(tx),
                    UserLib.model_validate(fetched),
                    UserOut.model_validate(fetched, from_attributes=True),
                    UserUnpacked.model_validate(fetched),
                ]
            """
        )
        == []
    )


def test_fx309_inherited_and_v1_configs_count() -> None:
    assert (
        _fx309_messages(
            """
            from pydantic import BaseModel
            from sqlalchemy.orm import Session

            from app.models import User

            class OrmBase(BaseModel):
                class Config:
                    orm_mode = True

            class UserOut(OrmBase):
                id: int

            class UserKw(BaseModel, from_attributes=True):
                id: int

            def load(db: Session) -> tuple[UserOut, UserKw]:
                user = db.get(User, 1)
                return UserOut.from_orm(user), UserKw.model_validate(user)
            """
        )
        == []
    )

"""The syntax newer than the oldest supported interpreter that the rewrite handles."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Construct:
    """A construct and the first Python release whose `ast` reads it."""

    version: tuple[int, int]
    key: str
    title: str

    @property
    def version_text(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


EXCEPT_STAR = Construct((3, 11), "except-star", "`except*` (PEP 654)")
STAR_SUBSCRIPT = Construct((3, 11), "star-subscript", "`*` in a subscript or annotation (PEP 646)")
TYPE_PARAMS = Construct((3, 12), "type-params", "type parameters `def f[T]` / `class C[T]` (PEP 695)")
TYPE_ALIAS = Construct((3, 12), "type-alias", "`type X = ...` statement (PEP 695)")
FSTRING = Construct((3, 12), "fstring", "f-string with nested quotes, backslashes or comments (PEP 701)")
TYPE_PARAM_DEFAULTS = Construct((3, 13), "type-param-defaults", "type parameter defaults (PEP 696)")
EXCEPT_COMMA = Construct((3, 14), "except-comma", "`except A, B:` without parentheses (PEP 758)")
TEMPLATE_STRING = Construct((3, 14), "t-string", "template string `t\"...\"` (PEP 750)")

ALL_CONSTRUCTS: tuple[Construct, ...] = (
    EXCEPT_STAR,
    STAR_SUBSCRIPT,
    TYPE_PARAMS,
    TYPE_ALIAS,
    FSTRING,
    TYPE_PARAM_DEFAULTS,
    EXCEPT_COMMA,
    TEMPLATE_STRING,
)

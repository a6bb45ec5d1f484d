"""Which rules run: `select` / `extend-select` / `ignore` by code prefix.

As in ruff, the more specific selector wins: `ignore = ["FX2"]` with
`extend-select = ["FX201"]` keeps FX201. `ALL` selects every rule, including
those off by default.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache

from fastapi_expert.errors import ConfigError


def _match_length(code: str, name: str, selectors: Iterable[str]) -> int:
    best = -1
    for sel in selectors:
        s = sel.strip()
        if s.upper() == "ALL":
            best = max(best, 0)
        elif s == name:
            best = max(best, len(code))
        elif code.startswith(s.upper()):
            best = max(best, len(s))
    return best


def is_enabled(
    code: str,
    name: str,
    default_enabled: bool,
    select: Sequence[str] | None,
    extend_select: Sequence[str],
    ignore: Sequence[str],
) -> bool:
    if select is None:
        chosen = 0 if default_enabled else -1
    else:
        chosen = _match_length(code, name, select)
        if chosen == 0 and not default_enabled and not any(s.upper() == "ALL" for s in select):
            chosen = -1
    chosen = max(chosen, _match_length(code, name, extend_select))
    return chosen >= 0 and chosen > _match_length(code, name, ignore)


@cache
def known_selectors() -> tuple[tuple[str, ...], frozenset[str]]:
    """Every code and name the tool reports: the rules, the FX0xx tool codes and
    the audit's runtime checks, so one `[tool.fastapi-expert]` table serves both
    `review` and `audit`. Built only when a selector has to be checked, so a
    plain review does not pay for importing the audit checks."""
    from fastapi_expert.audit.checks import ALL_CHECKS
    from fastapi_expert.review.registry import all_rules
    from fastapi_expert.review.tool_codes import TOOL_CODES

    items = [*((r.code, r.name) for r in all_rules()), *((c.code, c.name) for c in ALL_CHECKS), *((t.code, t.name) for t in TOOL_CODES)]
    return tuple(code for code, _ in items), frozenset(name for _, name in items)


def validate_selectors(selectors: Iterable[str], key: str) -> None:
    """Refuse a selector that matches nothing (a typo would silently do nothing)."""
    codes, names = known_selectors()
    for sel in selectors:
        s = sel.strip()
        if s.upper() == "ALL" or s in names:
            continue
        if not s.upper().startswith("FX") or not any(c.startswith(s.upper()) for c in codes):
            raise ConfigError(f"'{key}' names '{sel}', which matches no rule")

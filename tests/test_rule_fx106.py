"""FX106 dependency-repeated-on-every-route: what the message says, where the chain
points, and when the fix is offered (the rule examples check where it fires)."""

from __future__ import annotations

from fastapi_expert.review.fixes import apply_fixes
from fastapi_expert.review.rules.architecture.dependency_repeated_on_every_route import (
    _AUTH_MODULE as _AUTH,
)
from fastapi_expert.review.rules.base import Invalid
from rule_messages import findings, findings_by_line, messages
from rule_messages import invalid as _invalid


def test_fx106_names_the_dependency_the_count_and_the_constructor() -> None:
    example = _invalid("FX106", 'prefix="/admin", tags=["admin"]')
    message = messages("FX106", example)[5]
    assert message.startswith("All 3 routes of `router` declare `Depends(require_admin)` one by one"), message
    assert "the next route added to `router` without it is silently unauthenticated" in message, message
    assert message.endswith(
        "declare it once as `APIRouter(dependencies=[Depends(require_admin)])` and drop it from the decorators."
    ), message


def test_fx106_chains_every_route_declaration() -> None:
    example = _invalid("FX106", 'prefix="/admin", tags=["admin"]')
    finding = findings_by_line("FX106", example)[5]
    assert [(link.location.line, link.note) for link in finding.chain] == [
        (7, "`GET /admin/users` declares it"),
        (11, "`DELETE /admin/users/{user_id}` declares it"),
        (15, "`POST /admin/cache/purge` declares it"),
    ]
    assert finding.fix is not None and not finding.fix.safe


def test_fx106_names_unused_parameters_and_offers_no_fix_for_them() -> None:
    example = _invalid("FX106", "unused parameter")
    finding = findings_by_line("FX106", example)[7]
    assert "`Security(current_user, scopes=[\"billing\"])`" in finding.message, finding.message
    assert finding.message.endswith("drop it from the decorators and the unused parameters."), finding.message
    notes = [link.note for link in finding.chain]
    assert notes[0] == "`GET /invoices/` declares it as the unused parameter `_`", notes
    assert notes[2] == "`POST /invoices/{invoice_id}/send` declares it as the unused parameter `user`", notes
    assert finding.fix is None


def test_fx106_says_skips_the_check_for_a_dependency_that_is_not_auth() -> None:
    example = _invalid("FX106", "check_tenant")
    message = messages("FX106", example)[6]
    assert "without it silently skips `check_tenant`;" in message, message
    assert "unauthenticated" not in message, message


def test_fx106_reports_at_the_first_route_when_the_router_is_built_elsewhere() -> None:
    example = _invalid("FX106", "admin_router")
    finding = findings_by_line("FX106", example)[7]
    assert finding.location.path == "app/admin_routes.py"
    assert [link.note for link in finding.chain][-1] == "`WebSocket /admin/events` declares it"
    assert finding.fix is None  # the router is built in another file


def test_fx106_one_finding_per_shared_dependency_and_fix_keeps_other_markers() -> None:
    example = Invalid(
        """
        from fastapi import APIRouter, Depends

        from app.auth import require_admin, audit_log

        router = APIRouter(dependencies=[])

        @router.get("/a", dependencies=[Depends(require_admin), Depends(audit_log)])
        def a():
            return 1

        @router.get("/b", dependencies=[Depends(audit_log), Depends(require_admin)])
        def b():
            return 1

        @router.get("/c", dependencies=[Depends(require_admin)])
        def c():
            return 1
        """,
        lines=(5,),
        filename="app/r.py",
        files={"app/__init__.py": "", "app/auth.py": _AUTH + "\n\ndef audit_log(x_request_id: str = Header()) -> None:\n    if not x_request_id:\n        raise HTTPException(400)\n"},
    )
    found = findings("FX106", example)
    assert len(found) == 1, [f.message for f in found]
    fixed = apply_fixes(example.source, found, unsafe=True).text
    assert 'router = APIRouter(dependencies=[Depends(require_admin)])' in fixed, fixed
    assert '@router.get("/a", dependencies=[Depends(audit_log)])' in fixed, fixed
    assert '@router.get("/b", dependencies=[Depends(audit_log)])' in fixed, fixed
    assert '@router.get("/c")' in fixed, fixed


def test_fx106_no_finding_when_a_route_reads_the_value() -> None:
    example = Invalid(
        """
        from fastapi import APIRouter, Depends

        from app.auth import get_current_user

        router = APIRouter()

        @router.get("/a", dependencies=[Depends(get_current_user)])
        def a():
            return 1

        @router.get("/b", dependencies=[Depends(get_current_user)])
        def b():
            return 1

        @router.get("/me")
        def me(user=Depends(get_current_user)):
            return user
        """,
        lines=(),
        filename="app/r.py",
        files={"app/__init__.py": "", "app/auth.py": _AUTH},
    )
    assert findings("FX106", example) == []

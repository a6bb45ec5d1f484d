"""Counts that every reporter shares."""

from __future__ import annotations

from collections import Counter

from fastapi_expert.review.engine import ReviewResult


def summary(result: ReviewResult) -> dict[str, object]:
    by_severity = Counter(f.severity.value for f in result.findings)
    by_code = Counter(f.code for f in result.findings)
    safe = sum(1 for f in result.findings if f.fix is not None and f.fix.safe)
    unsafe = sum(1 for f in result.findings if f.fix is not None and not f.fix.safe)
    return {
        "files": result.files,
        "lines": result.lines,
        "findings": len(result.findings),
        "by_severity": {k: by_severity.get(k, 0) for k in ("error", "warning", "info")},
        "by_code": dict(sorted(by_code.items())),
        "fixable": safe,
        "unsafe_fixable": unsafe,
        "seconds": round(result.seconds, 3),
        "from_cache": result.from_cache,
    }

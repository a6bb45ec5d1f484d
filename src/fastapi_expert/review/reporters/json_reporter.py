"""`--format json`: the stable machine contract (DESIGN.md "Contracts")."""

from __future__ import annotations

import json

from fastapi_expert.review.engine import ReviewResult
from fastapi_expert.review.reporters.summary import summary


def render(result: ReviewResult) -> str:
    document = {
        "version": 1,
        "findings": [f.to_dict() for f in result.findings],
        "summary": summary(result),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

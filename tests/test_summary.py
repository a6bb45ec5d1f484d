"""Module summaries (step 1 of docs/incremental-review.md): faithful to the tree,
unchanged by a JSON round trip, and refused when a stored one is malformed."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import pytest

from fastapi_expert.config import Config
from fastapi_expert.review.discovery import discover
from fastapi_expert.review.engine import read_file
from fastapi_expert.review.model.module import ModuleInfo, build_module
from fastapi_expert.review.model.summary import (
    FORMAT,
    ModuleSummary,
    SummaryError,
    mismatches,
    summarise,
)
from fastapi_expert.review.source import SourceFile, parse_source

ROOT = Path(__file__).resolve().parents[1]


def module(text: str, path: str = "app/main.py", name: str = "app.main") -> ModuleInfo:
    text = textwrap.dedent(text)
    return build_module(SourceFile(path, text, parse_source(text, path)), name)


def round_trip(summary: ModuleSummary) -> ModuleSummary:
    return ModuleSummary.from_json(json.loads(json.dumps(summary.to_json())))


AWKWARD = '''
import os
from . import models as m
from .errors import *
from typing import Annotated

TIMEOUT: int = int(os.environ.get("TIMEOUT", "5"))
Session = m.sessionmaker(   # a comment inside the value
    bind="engine",
)

def helper(a, /, b: "int" = 1, *args: str, c: int, d=None, **kw: object) -> dict[str, "m.Item"]:
    import shutil
    shutil.rmtree(a)
    return {k: v for k, v in kw.items() if (yield_ := callable(v))}

class Service(m.Base, metaclass=m.Meta, abstract=True):
    @property
    def name(self) -> str:
        return "svc"

    @staticmethod
    @helper.register(
        kind="x",
    )
    async def run(x: Annotated[int, m.Depends(helper)] = 0) -> None:
        await os.wait(  # awaited, over two lines
            x)
        sum(i for i in range(x))
        (lambda: print("é"))()

        def inner():
            yield from range(3)

        return inner

async def stream():
    yield 1
'''


def test_a_summary_holds_what_the_tree_says_and_survives_json() -> None:
    info = module(AWKWARD, "app/main.py", "app.main")
    summary = summarise(info)
    assert mismatches(info, summary) == []
    assert round_trip(summary) == summary
    functions = {f.qualname: f for f in summary.functions}
    helper = functions["app.main.helper"]
    assert [(p.name, p.kind, p.annotation, p.default) for p in helper.parameters] == [
        ("a", "positional-only", None, None),
        ("b", "positional", '"int"', "1"),
        ("args", "var-positional", "str", None),
        ("c", "keyword-only", "int", None),
        ("d", "keyword-only", None, "None"),
        ("kw", "var-keyword", "object", None),
    ]
    assert helper.returns == 'dict[str, "m.Item"]'
    assert [c.callee for c in helper.calls] == ["shutil.rmtree", "kw.items", "callable"]
    run = functions["app.main.Service.run"]
    assert run.is_async and run.class_name == "app.main.Service"
    assert run.decorators == ("staticmethod", 'helper.register(\n        kind="x",\n    )')
    # As in the model's `own_nodes`: the decorators and the signature belong to the function.
    assert [(c.callee, c.awaited) for c in run.calls] == [
        ("helper.register", False),
        ("m.Depends", False),
        ("os.wait", True),
        ("sum", False),
        ("range", False),
        ('lambda: print("é")', False),
    ]
    assert functions["app.main.Service.run.inner"].parent == "app.main.Service.run"
    assert functions["app.main.Service.run.inner"].is_generator
    assert functions["app.main.stream"].is_generator and functions["app.main.stream"].is_async
    (service,) = summary.classes
    assert service.bases == ("app.models.Base",)
    assert service.methods == ("name", "run")
    assert service.keywords == (("metaclass", "m.Meta"), ("abstract", "True"))
    assert dict(summary.imports)["shutil"] == "shutil"  # a local import binds as module-level
    assert summary.star_imports == ("app.errors",)
    assert dict(summary.assignments)["Session"].value == 'm.sessionmaker(   # a comment inside the value\n    bind="engine",\n)'


def test_a_summary_that_disagrees_with_the_tree_is_reported() -> None:
    info = module(AWKWARD)
    summary = summarise(info)
    helper = summary.functions[0]
    moved = dataclasses.replace(helper, span=(helper.span[0] + 1, *helper.span[1:]))
    wrong_callee = dataclasses.replace(helper, calls=(dataclasses.replace(helper.calls[0], callee="shutil.copy"), *helper.calls[1:]))
    for bad in (moved, wrong_callee):
        problems = mismatches(info, dataclasses.replace(summary, functions=(bad, *summary.functions[1:])))
        assert len(problems) == 1 and "app.main.helper" in problems[0], problems
    dropped = dataclasses.replace(summary, imports=summary.imports[1:])
    assert any("imports" in p for p in mismatches(info, dropped))


def test_every_module_of_this_repository_summarises_faithfully() -> None:
    """The corpus check of benchmarks/summary_feasibility.py, on the code at hand:
    the tool itself, its tests and the bundled examples."""
    checked = 0
    for found in discover([ROOT / "src", ROOT / "tests", ROOT / "examples"], Config(), ROOT):
        text = read_file(found.path)[0]
        assert text is not None
        info = build_module(SourceFile(found.display, text, parse_source(text, found.display)), found.module)
        summary = summarise(info)
        assert mismatches(info, summary) == [], found.display
        assert round_trip(summary) == summary, found.display
        checked += 1
    assert checked > 200


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("format"), "format None"),
        (lambda d: d.update(format=FORMAT + 1), f"format {FORMAT + 1}"),
        (lambda d: d.update(imports=[["a"]]), "pair"),
        (lambda d: d.update(functions={}), "`functions` is not a list"),
        (lambda d: d["functions"][0].update(span=[1, 0, 2]), "span"),
        (lambda d: d["functions"][0].update(span=[1, 0, 2, -1]), "span"),
        (lambda d: d["functions"][0].update(span=[True, 0, 2, 1]), "span"),
        (lambda d: d["functions"][0]["calls"][0].__setitem__(5, "yes"), "awaited"),
        (lambda d: d["functions"][0]["parameters"][0].__setitem__(1, "self"), "parameter kind"),
        (lambda d: d["functions"][0].update(is_async=1), "is_async"),
        (lambda d: d["classes"][0].update(bases=[1]), "string"),
        (lambda d: d["assignments"][0].__setitem__(1, None), "string"),
    ],
)
def test_a_malformed_stored_summary_is_refused(change: object, message: str) -> None:
    data = summarise(module(AWKWARD)).to_json()
    change(data)  # type: ignore[operator]
    with pytest.raises(SummaryError, match=message):
        ModuleSummary.from_json(json.loads(json.dumps(data)))


@pytest.mark.parametrize("data", [None, [], "summary", 3])
def test_a_stored_summary_that_is_not_an_object_is_refused(data: object) -> None:
    with pytest.raises(SummaryError):
        ModuleSummary.from_json(data)

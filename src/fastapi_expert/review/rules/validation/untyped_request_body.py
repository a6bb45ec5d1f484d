from __future__ import annotations

import ast

from fastapi_expert.review.model.module import FunctionInfo, ModuleInfo, own_nodes
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.validation._models import (
    REQUEST_CLASSES,
    http_routes,
    model_class,
    parameters,
    routes_path_names,
)
from fastapi_expert.types import Severity

_DICTS = frozenset(
    {
        "builtins.dict",
        "typing.Dict",
        "typing.Mapping",
        "typing.MutableMapping",
        "collections.abc.Mapping",
        "collections.abc.MutableMapping",
        "typing_extensions.Dict",
    }
)
_LISTS = frozenset({"builtins.list", "typing.List", "typing.Sequence", "collections.abc.Sequence"})
_ANY = frozenset({"typing.Any", "typing_extensions.Any", "builtins.object"})
_OPTIONAL = frozenset({"typing.Optional", "typing_extensions.Optional", "typing.Union", "typing_extensions.Union"})
_JSON_LOADS = frozenset({"json.loads", "orjson.loads", "ujson.loads", "simplejson.loads"})
_VALIDATING_ATTRS = frozenset(
    {"model_validate", "model_validate_json", "parse_obj", "parse_raw", "validate_python", "validate_json"}
)
_SIGNATURE_WORDS = ("signature", "webhook", "construct_event", "hmac")
# calls that check a value against a schema: `jsonschema.validate(data, schema)`,
# `Draft7Validator(schema).iter_errors(data)`, `validate_payload(data)`
_VALIDATE_EXACT = frozenset({"validate", "iter_errors", "is_valid", "check_schema"})


def _untyped(project: Project, module: ModuleInfo, expr: ast.expr | None, explicit_body: bool, depth: int = 0) -> str | None:
    """How the annotation leaves the payload untyped (`dict`, `Any`, ...), or None."""
    if expr is None or depth > 4:
        return None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        sides = [s for s in (expr.left, expr.right) if not (isinstance(s, ast.Constant) and s.value is None)]
        return _untyped(project, module, sides[0], explicit_body, depth + 1) if len(sides) == 1 else None
    if isinstance(expr, ast.Name | ast.Attribute):
        qual = project.resolve(module, expr)
        if qual in _DICTS:
            return ast.unparse(expr)
        if qual in _ANY and explicit_body:
            return ast.unparse(expr)
        return None
    if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name | ast.Attribute):
        head = project.resolve(module, expr.value)
        parts = expr.slice.elts if isinstance(expr.slice, ast.Tuple) else [expr.slice]
        if head in _OPTIONAL:
            real = [p for p in parts if not (isinstance(p, ast.Constant) and p.value is None)]
            return _untyped(project, module, real[0], explicit_body, depth + 1) if len(real) == 1 else None
        if head in _DICTS:
            value = parts[-1] if len(parts) == 2 else None
            if value is None or _is_any(project, module, value) or _untyped(project, module, value, True, depth + 1):
                return ast.unparse(expr)
            return None
        if head in _LISTS and len(parts) == 1 and _untyped(project, module, parts[0], False, depth + 1):
            return ast.unparse(expr)
    return None


def _string_keyed_map(project: Project, module: ModuleInfo, expr: ast.expr | None, depth: int = 0) -> bool:
    """`dict[str, Any]` / `Mapping[str, Any]` (also optional): a map whose keys the
    client chooses (labels, tags, settings), which no model with fixed fields fits."""
    if expr is None or depth > 2:
        return False
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        sides = [x for x in (expr.left, expr.right) if not (isinstance(x, ast.Constant) and x.value is None)]
        return len(sides) == 1 and _string_keyed_map(project, module, sides[0], depth + 1)
    if not (isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name | ast.Attribute)):
        return False
    head = project.resolve(module, expr.value)
    parts = expr.slice.elts if isinstance(expr.slice, ast.Tuple) else [expr.slice]
    if head in _OPTIONAL:
        real = [x for x in parts if not (isinstance(x, ast.Constant) and x.value is None)]
        return len(real) == 1 and _string_keyed_map(project, module, real[0], depth + 1)
    return (
        head in _DICTS
        and len(parts) == 2
        and isinstance(parts[0], ast.Name | ast.Attribute)
        and project.resolve(module, parts[0]) == "builtins.str"
    )


def _is_any(project: Project, module: ModuleInfo, expr: ast.expr) -> bool:
    return isinstance(expr, ast.Name | ast.Attribute) and project.resolve(module, expr) in _ANY


def _checks_schema(call: ast.Call) -> bool:
    name = _callee_name(call)
    return (
        name in _VALIDATE_EXACT
        or name.startswith("validate_")
        or name.endswith("_validate")
        or name in _VALIDATING_ATTRS
    )


def _validated_in_code(func: FunctionInfo, name: str) -> bool:
    """Does the endpoint pass the payload (or a value derived from it by assignment,
    `data = hydrate(data or {})`) to a validation call? A body whose shape is only
    known at run time (a JSON schema stored with the resource) cannot be a model."""
    derived = {name}
    nodes = sorted(
        (n for n in own_nodes(func.node) if isinstance(n, ast.Assign | ast.Call)),
        key=lambda n: (n.lineno, n.col_offset),
    )
    for n in nodes:
        if isinstance(n, ast.Assign):
            if len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
                uses = {m.id for m in ast.walk(n.value) if isinstance(m, ast.Name)}
                if uses & derived:
                    derived.add(n.targets[0].id)
        elif _checks_schema(n):
            for arg in [*n.args, *(k.value for k in n.keywords)]:
                if isinstance(arg, ast.Name) and arg.id in derived:
                    return True
    return False


def _callee_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


class UntypedRequestBody(Rule):
    """Flags a request body read as a plain `dict`/`Any` or with `await request.json()`.

    ## What it does
    Looks at the parameters of every HTTP route endpoint. A parameter annotated
    `dict`, `Dict[str, Any]`, `dict[str, Any]`, `Mapping[...]`, `list[dict]`
    (or, with an explicit `Body()`, `Any`) is the JSON body for FastAPI, but an
    untyped one. It also flags an endpoint that reads the payload itself with
    `await request.json()` (or `json.loads(await request.body())`) on its
    `Request` parameter, unless the result goes straight into a model's
    validation (`Item.model_validate(data)`, `Item(**data)`).

    A webhook route that verifies a signature over the raw body (it calls
    `hmac`, or a helper whose name mentions a signature or a webhook, or
    Stripe's `construct_event`) is left
    alone: it must read the bytes itself. So is a `dict` body that the endpoint
    checks against a schema in code (`jsonschema.validate(data, schema)`, a
    `validate_*` helper, `Validator(schema).iter_errors(data)`), also after
    reassigning it (`data = fill_defaults(data or {})`): its shape is only known
    at run time, for instance a JSON schema stored with the resource, so no
    model can describe it. Query, header, path and dependency parameters, and
    `dict` as a *return* type, are not request bodies.

    ## Why is this bad?
    Nothing checks an untyped body: missing keys, wrong types and oversized
    values reach the handler, which then fails with a 500 instead of a 422, and
    the OpenAPI document shows an empty object, so clients have no contract.
    Passing the dict on (`User(**payload)`, `setattr` loops, `update(payload)`)
    lets a client write any attribute it likes (mass assignment, OWASP API3).
    A Pydantic model validates, documents and limits the accepted fields.

    ## References
    - https://fastapi.tiangolo.com/tutorial/body/
    - https://fastapi.tiangolo.com/advanced/using-request-directly/
    - https://owasp.org/API-Security/editions/2023/en/0xa3-broken-object-property-level-authorization/
    """

    code = "FX301"
    name = "untyped-request-body"
    summary = "The request body is a plain `dict`/`Any` or read with `request.json()`: no validation, no schema."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from typing import Any

            from fastapi import FastAPI, Query
            from pydantic import BaseModel

            app = FastAPI()

            class ItemCreate(BaseModel):
                name: str
                price: float

            @app.post("/items")
            def create_item(item: ItemCreate) -> dict[str, Any]:
                return {"id": 1, **item.model_dump()}

            @app.get("/items")
            def list_items(tags: list[str] = Query(default=[])) -> dict:
                return {"tags": tags}
            """
        ),
        Valid(
            """
            import hashlib
            import hmac
            import json

            from fastapi import FastAPI, Header, HTTPException, Request

            app = FastAPI()
            SECRET = b"whsec"

            @app.post("/webhooks/github")
            async def github_webhook(request: Request, x_hub_signature_256: str = Header()):
                body = await request.body()
                expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, x_hub_signature_256):
                    raise HTTPException(status_code=401)
                event = json.loads(body)
                return {"received": event.get("action")}

            @app.middleware("http")
            async def log_body(request: Request, call_next):
                if request.method == "POST":
                    print(await request.json())
                return await call_next(request)
            """
        ),
        Valid(
            """
            from typing import Any, Optional

            import jsonschema
            from fastapi import Body, FastAPI, HTTPException

            app = FastAPI()
            FORM_SCHEMAS: dict[int, dict[str, Any]] = {}

            def fill_defaults(values: dict[str, Any]) -> dict[str, Any]:
                return values

            @app.post("/tasks/{task_id}/answer")
            async def answer_task(
                task_id: int, answer: Optional[dict[str, Any]] = Body(default=None, embed=True)
            ) -> dict[str, str]:
                schema = FORM_SCHEMAS.get(task_id)
                if schema is not None:
                    answer = fill_defaults(answer or {})
                    try:
                        jsonschema.validate(answer, schema)
                    except jsonschema.ValidationError as exc:
                        raise HTTPException(422, str(exc)) from exc
                return {"status": "answered"}
            """
        ),
        Valid(
            # A dependency through an alias of an alias: the `Depends` is written in
            # app/deps.py, the `dict` it wraps is imported from app/types.py.
            """
            from fastapi import FastAPI

            from app.deps import PolicyAttributes

            app = FastAPI()

            @app.get("/models")
            def list_models(attributes: PolicyAttributes) -> list[str]:
                return sorted(attributes)
            """,
            filename="app/main.py",
            files={
                "app/types.py": """
                    from typing import Any

                    Attributes = dict[str, Any]
                """,
                "app/deps.py": """
                    from typing import Annotated

                    from fastapi import Depends, Request

                    from app.types import Attributes

                    def resolve_attributes(request: Request) -> Attributes:
                        return {"is_superuser": False}

                    PolicyAttributes = Annotated[Attributes, Depends(resolve_attributes)]
                """,
            },
        ),
    )
    invalid = (
        Invalid(
            """
            from typing import Any, Dict

            from fastapi import Body, FastAPI

            app = FastAPI()

            @app.post("/users")
            def create_user(payload: dict):
                return {"created": payload["email"]}

            @app.patch("/users/{user_id}")
            def update_user(user_id: int, changes: Dict[str, Any] = Body(...)):
                return {"id": user_id, **changes}
            """,
            lines=(8, 12),
        ),
        Invalid(
            """
            import json

            import fastapi

            router = fastapi.APIRouter()

            @router.post("/orders")
            async def create_order(request: fastapi.Request):
                data = await request.json()
                return {"sku": data["sku"], "qty": data["qty"]}

            @router.put("/orders/{order_id}")
            async def replace_order(order_id: int, request: fastapi.Request):
                order = json.loads(await request.body())
                return {"id": order_id, **order}
            """,
            lines=(9, 14),
        ),
    )

    def visit_FunctionDef(self, node: ast.FunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def _check(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext) -> None:
        if ctx.module.is_test:
            return
        routes = http_routes(ctx.project, node)
        func = ctx.module.function_of_node.get(node)
        if not routes or func is None:
            return
        in_path = routes_path_names(routes)
        request_params: list[str] = []
        for p in parameters(ctx.project, func):
            name = p.arg.arg
            if name in in_path or p.kind not in {None, "body"}:
                continue
            if p.inner is not None and isinstance(p.inner, ast.Name | ast.Attribute) and ctx.project.resolve(p.module, p.inner) in REQUEST_CLASSES:
                request_params.append(name)
                continue
            shown = _untyped(ctx.project, p.module, p.inner, explicit_body=p.kind == "body")
            if shown is None or _validated_in_code(func, name):
                continue
            if _string_keyed_map(ctx.project, p.module, p.inner):
                # free-form keys: a model cannot list them, but the values can still be typed
                advice = (
                    f"declare a Pydantic model for `{name}`, or, if its keys are free-form, "
                    "type its values (e.g. `dict[str, str]`) instead."
                )
            else:
                advice = f"declare a Pydantic model for `{name}` instead."
            ctx.report(p.arg, f"`{name}: {shown}` takes the request body unvalidated and undocumented; {advice}")
        if request_params:
            self._raw_reads(ctx, func, request_params)

    def _raw_reads(self, ctx: FileContext, func: FunctionInfo, request_params: list[str]) -> None:
        nodes = sorted(
            (n for n in own_nodes(func.node) if hasattr(n, "lineno")),
            key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)),
        )
        if self._verifies_signature(ctx, nodes):
            return
        reads: dict[ast.Await, str] = {}  # the read -> "json" | "body"
        for n in nodes:
            if isinstance(n, ast.Await) and isinstance(n.value, ast.Call):
                call = n.value
                if (
                    isinstance(call.func, ast.Attribute)
                    and isinstance(call.func.value, ast.Name)
                    and call.func.value.id in request_params
                    and call.func.attr in {"json", "body"}
                    and not call.args
                ):
                    reads[n] = call.func.attr
        if not reads:
            return
        raw: dict[str, ast.Await] = {}  # variable -> the body() read it holds
        parsed: dict[str, ast.Await] = {}  # variable -> the read whose JSON it holds
        parsed_reads: set[ast.Await] = {r for r, kind in reads.items() if kind == "json"}
        validated: set[ast.Await] = set()

        def payload_of(expr: ast.expr) -> ast.Await | None:
            """The read whose parsed JSON `expr` is, if any."""
            if isinstance(expr, ast.Await) and reads.get(expr) == "json":
                return expr
            if isinstance(expr, ast.Name):
                return parsed.get(expr.id)
            if isinstance(expr, ast.Call) and ctx.call_target(expr) in _JSON_LOADS and expr.args:
                arg = expr.args[0]
                if isinstance(arg, ast.Await) and reads.get(arg) == "body":
                    parsed_reads.add(arg)
                    return arg
                if isinstance(arg, ast.Name) and arg.id in raw:
                    parsed_reads.add(raw[arg.id])
                    return raw[arg.id]
            return None

        for n in nodes:
            if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
                target = n.targets[0].id
                if isinstance(n.value, ast.Await) and reads.get(n.value) == "body":
                    raw[target] = n.value
                    continue
                source = payload_of(n.value)
                if source is not None:
                    parsed[target] = source
            elif isinstance(n, ast.Call):
                payload_of(n)
                if self._validates(ctx, n):
                    for arg in [*n.args, *(k.value for k in n.keywords)]:
                        value = arg.value if isinstance(arg, ast.Starred) else arg
                        source = payload_of(value)
                        if source is not None:
                            validated.add(source)
        for read, kind in reads.items():
            if read not in parsed_reads or read in validated:
                continue
            read_call = read.value
            assert isinstance(read_call, ast.Call) and isinstance(read_call.func, ast.Attribute)
            shown = f"{ast.unparse(read_call.func.value)}.{kind}()"
            what = f"`await {shown}`" if kind == "json" else f"`json.loads(await {shown})`"
            ctx.report(
                read,
                f"{what} reads the request body with no validation and no OpenAPI schema; "
                "declare a Pydantic model parameter instead.",
            )

    @staticmethod
    def _validates(ctx: FileContext, call: ast.Call) -> bool:
        if isinstance(call.func, ast.Attribute) and call.func.attr in _VALIDATING_ATTRS:
            return True
        if isinstance(call.func, ast.Name | ast.Attribute):
            return model_class(ctx.project, ctx.resolve(call.func)) is not None
        return False

    @staticmethod
    def _verifies_signature(ctx: FileContext, nodes: list[ast.AST]) -> bool:
        for n in nodes:
            if not isinstance(n, ast.Call):
                continue
            target = ctx.call_target(n) or ""
            if target.startswith("hmac.") or target.startswith("nacl."):
                return True
            name = _callee_name(n).lower()
            if any(word in name for word in _SIGNATURE_WORDS):
                return True
        return False

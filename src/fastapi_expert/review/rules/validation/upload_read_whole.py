from __future__ import annotations

import ast
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi_expert.review.model.fastapi_model import Route
from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, ModuleInfo, own_nodes_of
from fastapi_expert.review.model.project import Project, positional_parameters
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.validation._models import (
    REQUEST_CLASSES,
    describe_route,
    http_routes,
    parameters,
)
from fastapi_expert.types import ChainLink, Severity

_UPLOAD_FILE = frozenset(
    {"fastapi.UploadFile", "fastapi.datastructures.UploadFile", "starlette.datastructures.UploadFile"}
)
_BYTES = "builtins.bytes"
_SEQUENCES = frozenset(
    {"builtins.list", "typing.List", "typing.Sequence", "collections.abc.Sequence", "builtins.tuple", "typing.Tuple"}
)
_OPTIONAL = frozenset({"typing.Optional", "typing_extensions.Optional"})
_UNION = frozenset({"typing.Union", "typing_extensions.Union"})
_BODY_LIMIT_MIDDLEWARE = frozenset(
    {"starlette.middleware.body_limit.RequestBodyLimitMiddleware", "fastapi._body_limit.AppBodyLimitMiddleware"}
)
# Words that, in a name compared before the read, say the code measures the upload:
# `file.size`, `request_size`, `content_length`, `MAX_UPLOAD_SIZE`.
_SIZE_WORDS = ("size", "content_length", "contentlength", "content-length")
_CHECK_VERBS = ("check", "valid", "ensure", "enforce", "verify", "limit", "assert", "reject", "guard")
_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


# -- the shape of a parameter -------------------------------------------------------


def _element(project: Project, module: ModuleInfo, expr: ast.expr | None, depth: int = 0) -> tuple[str | None, bool]:
    """The class a parameter's type names, and whether it is a list of it
    (`UploadFile | None` -> UploadFile, False; `list[bytes]` -> bytes, True)."""
    if expr is None or depth > 4:
        return None, False
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        try:
            parsed = ast.parse(expr.value, mode="eval").body
        except (SyntaxError, ValueError, RecursionError):
            return None, False
        return _element(project, module, parsed, depth + 1)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        sides = [s for s in (expr.left, expr.right) if not _is_none(s)]
        return _element(project, module, sides[0], depth + 1) if len(sides) == 1 else (None, False)
    if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name | ast.Attribute):
        head = project.resolve(module, expr.value)
        parts = expr.slice.elts if isinstance(expr.slice, ast.Tuple) else [expr.slice]
        if head in _OPTIONAL or head in _UNION:
            real = [p for p in parts if not _is_none(p)]
            return _element(project, module, real[0], depth + 1) if len(real) == 1 else (None, False)
        if head in _SEQUENCES and parts and depth < 4:
            inner, nested = _element(project, module, parts[0], depth + 1)
            return (inner, True) if not nested else (None, False)
        return None, False
    if isinstance(expr, ast.Name | ast.Attribute):
        return project.resolve(module, expr), False
    return None, False


def _is_none(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is None


@dataclass
class _Uploads:
    """The endpoint's `UploadFile` parameters: one file each, or a list of them."""

    single: set[str]
    lists: set[str]


# -- is the upload bounded before it is read? -----------------------------------------


def _names_a_size(expr: ast.AST) -> bool:
    """Does the expression measure something (`file.size`, `request_size`,
    `request.headers["content-length"]`, `MAX_UPLOAD_SIZE`)? `len(...)` does not
    count: the length of what was read is known only after the read."""
    for node in ast.walk(expr):
        text = ""
        if isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            value = node.value
            text = value.decode("latin-1") if isinstance(value, bytes) else value
        lowered = text.lower()
        if any(word in lowered for word in _SIZE_WORDS):
            return True
    return False


def _callee_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _size_checks(node: _FunctionNode) -> list[ast.AST]:
    """Where the function measures an upload: a comparison of a size
    (`if file.size > MAX_BYTES`, `if get_request_size(request) > LIMIT`) or a call
    of a helper named for checking it (`check_file_size(file)`)."""
    found: list[ast.AST] = [compare for compare in own_nodes_of(node, ast.Compare) if _bounds_a_size(compare)]
    found += [call for call in own_nodes_of(node, ast.Call) if _checks_size(_callee_name(call).lower())]
    return found


def _checks_size(name: str) -> bool:
    """`check_file_size`, `validate_upload_size`, `enforce_size_limit`; not
    `get_request_size`, which measures and leaves the decision to a comparison."""
    return "size" in name and any(verb in name for verb in _CHECK_VERBS)


def _checked_before(checks: list[ast.AST], node: ast.AST) -> bool:
    line = getattr(node, "lineno", 0)
    return any(getattr(check, "lineno", line + 1) < line for check in checks)


def _measures_uploads(node: ast.AST) -> bool:
    """Does a dependency or middleware body compare a size or read `Content-Length`?"""
    return any(isinstance(sub, ast.Compare) and _bounds_a_size(sub) for sub in ast.walk(node))


def _bounds_a_size(compare: ast.Compare) -> bool:
    """An ordering of a size against something (`file.size > MAX_BYTES`); `==` and
    `is None` bound nothing."""
    return all(isinstance(op, ast.Gt | ast.GtE | ast.Lt | ast.LtE) for op in compare.ops) and (
        _names_a_size(compare.left) or any(_names_a_size(c) for c in compare.comparators)
    )


def _named_like_a_size_limit(qualname: str | None) -> bool:
    """`LimitUploadSize`, `BodySizeLimitMiddleware`, `ContentSizeLimitMiddleware`,
    `RequestBodyLimitMiddleware`; not `RateLimitMiddleware`."""
    name = (qualname or "").rsplit(".", 1)[-1].lower()
    if "rate" in name:
        return False
    return "size" in name or ("limit" in name and any(w in name for w in ("body", "upload", "content")))


_CAPPED_APPS: weakref.WeakKeyDictionary[Project, frozenset[str]] = weakref.WeakKeyDictionary()


def _apps_with_size_middleware(project: Project) -> frozenset[str]:
    """Apps a middleware caps the request body of: Starlette's body limit, one
    named for it, or one of the project's that compares a size or reads the
    `Content-Length` header. A `"*"` in the answer: such a middleware is added to
    an app the model cannot name."""
    cached = _CAPPED_APPS.get(project)
    if cached is not None:
        return cached
    apps: set[str] = set()
    for middleware in project.fastapi.middleware:
        target = middleware.target
        capped = target in _BODY_LIMIT_MIDDLEWARE or _named_like_a_size_limit(target)
        if not capped:
            symbol = project.lookup(target)
            if isinstance(symbol, FunctionInfo | ClassInfo):
                capped = _measures_uploads(symbol.node)
        if capped:
            apps.add(middleware.app)
    cached = frozenset(apps)
    _CAPPED_APPS[project] = cached
    return cached


def _sets_body_limit(call: ast.Call | None) -> bool:
    """`max_body_size=...` other than `None` (which inherits the enclosing limit)."""
    if call is None:
        return False
    value = next((k.value for k in call.keywords if k.arg == "max_body_size"), None)
    return value is not None and not _is_none(value)


def _route_capped(project: Project, route: Route) -> bool:
    """Does FastAPI or a middleware cap the body of this route (`max_body_size=` on
    the route, its router, an include or the app; a body-size middleware on its
    app)? When the route cannot be traced to an app, any app's cap counts."""
    model = project.fastapi
    if _sets_body_limit(route.node):
        return True
    chain = model.include_chain(route.router)
    owners = [route.router, *(inc.parent for inc in chain)]
    if any(_sets_body_limit(inc.node) for inc in chain):
        return True
    if any(_sets_body_limit(obj.node) for obj in (model.objects.get(ref) for ref in owners) if obj is not None):
        return True
    capped_apps = _apps_with_size_middleware(project)
    root = model.objects.get(owners[-1])
    if root is None or root.kind != "app":
        # an app the model cannot see the route reach: any cap in the project may be its
        return bool(capped_apps) or any(_sets_body_limit(app.node) for app in model.apps)
    return owners[-1] in capped_apps


def _dependency_measures(project: Project, route: Route) -> bool:
    """Does a dependency of the route that receives the upload or the request check a
    size first (`file.size > MAX`, `Content-Length`)? FastAPI solves dependencies
    before it calls the endpoint. A pagination dependency comparing `page_size`
    sees neither, and bounds nothing."""
    for dep in route.all_dependencies():
        symbol = project.lookup(dep.target)
        func: FunctionInfo | None = None
        if isinstance(symbol, ClassInfo):
            func = project.find_method(symbol, "__call__") or project.find_method(symbol, "__init__")
        elif isinstance(symbol, FunctionInfo):
            func = symbol
        if func is not None and _sees_the_upload(project, func) and _measures_uploads(func.node):
            return True
    return False


def _sees_the_upload(project: Project, func: FunctionInfo) -> bool:
    """Does the function take an `UploadFile` (or a list of them) or the `Request`?"""
    args = func.node.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
        module, inner, _meta = project.annotated_parts(func.module, arg.annotation)
        element, _is_list = _element(project, module, inner)
        if element in _UPLOAD_FILE or element in REQUEST_CLASSES:
            return True
    return False


# -- whole reads -------------------------------------------------------------------


def _loop_aliases(node: _FunctionNode, lists: set[str]) -> set[str]:
    """Names bound to one file of a list parameter: `for f in files`,
    `for i, f in enumerate(files)`, `[... for f in files]`."""
    out: set[str] = set()
    loops: list[tuple[ast.expr, ast.expr]] = [(n.target, n.iter) for n in own_nodes_of(node, ast.For)]
    loops += [(n.target, n.iter) for n in own_nodes_of(node, ast.AsyncFor)]
    loops += [(n.target, n.iter) for n in own_nodes_of(node, ast.comprehension)]
    for target, iterable in loops:
        if isinstance(iterable, ast.Name) and iterable.id in lists and isinstance(target, ast.Name):
            out.add(target.id)
        elif (
            isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Name)
            and iterable.func.id == "enumerate"
            and iterable.args
            and isinstance(iterable.args[0], ast.Name)
            and iterable.args[0].id in lists
            and isinstance(target, ast.Tuple)
            and len(target.elts) == 2
            and isinstance(target.elts[1], ast.Name)
        ):
            out.add(target.elts[1].id)
    return out


def _reads_whole(call: ast.Call) -> bool:
    """`read()` / `read(-1)` / `read(None)`: everything that is left."""
    args = [*call.args, *(k.value for k in call.keywords)]
    if not args:
        return True
    if len(args) != 1:
        return False
    value = args[0]
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub) and isinstance(value.operand, ast.Constant):
        return True
    return _is_none(value)


def _whole_reads(node: _FunctionNode, files: set[str]) -> Iterator[tuple[ast.Call, str, str]]:
    """Each whole read of one of `files`: the call, the file's name and the code shown
    (`await f.read()` on the UploadFile, `f.file.read()` on the file under it)."""
    awaited = {id(a.value) for a in own_nodes_of(node, ast.Await)}
    for call in own_nodes_of(node, ast.Call):
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr == "read" and _reads_whole(call)):
            continue
        owner = func.value
        if isinstance(owner, ast.Name) and owner.id in files and id(call) in awaited:
            yield call, owner.id, f"await {owner.id}.read()"
        elif (
            isinstance(owner, ast.Attribute)
            and owner.attr == "file"
            and isinstance(owner.value, ast.Name)
            and owner.value.id in files
        ):
            yield call, owner.value.id, f"{owner.value.id}.file.read()"


@dataclass
class _HelperRead:
    call: ast.Call  # the endpoint's call of the helper
    helper: FunctionInfo
    read: ast.Call
    shown: str
    name: str  # the endpoint's name for the file, or for the list of files
    is_list: bool


def _passed_files(
    project: Project, func: FunctionInfo, call: ast.Call, callee: FunctionInfo, uploads: _Uploads
) -> Iterator[tuple[str, str, bool]]:
    """(endpoint name, helper parameter, is a list) for each upload the call passes on by name."""
    positional = positional_parameters(project, func.module, callee, call)
    pairs: list[tuple[ast.expr, str | None]] = [
        (arg, positional[i] if i < len(positional) else None) for i, arg in enumerate(call.args)
    ]
    pairs += [(k.value, k.arg) for k in call.keywords]
    for arg, param in pairs:
        if param is None or not isinstance(arg, ast.Name):
            continue
        if arg.id in uploads.single:
            yield arg.id, param, False
        elif arg.id in uploads.lists:
            yield arg.id, param, True


def _helper_reads(project: Project, func: FunctionInfo, uploads: _Uploads, files: set[str]) -> Iterator[_HelperRead]:
    """Whole reads, one call deep, in a project function the endpoint hands an upload to
    (`await storage.save(file)` with `blob = await file.read()` inside), when the
    helper does not check a size before it reads."""
    for call in own_nodes_of(func.node, ast.Call):
        if not any(isinstance(a, ast.Name) and a.id in files | uploads.lists for a in [*call.args, *(k.value for k in call.keywords)]):
            continue
        callee = project.lookup(project.call_target(func.module, func, call))
        if not isinstance(callee, FunctionInfo) or callee.node is func.node:
            continue
        for name, param, is_list in _passed_files(project, func, call, callee, uploads):
            inside = _loop_aliases(callee.node, {param}) if is_list else {param}
            checks = _size_checks(callee.node)
            for read, _file, shown in _whole_reads(callee.node, inside):
                if not _checked_before(checks, read):
                    yield _HelperRead(call, callee, read, shown, name, is_list)
                    break


class UploadReadWhole(Rule):
    """Flags an upload read whole into memory with nothing bounding its size.

    ## What it does
    Looks at the parameters and body of every HTTP route endpoint. It flags:

    - a parameter declared `bytes` (or `list[bytes]`) with `File()`, also
      through `Annotated[...]` and type aliases: FastAPI reads each upload whole
      into memory to fill it;
    - `await f.read()` with no size (or `f.file.read()`) on an `UploadFile`
      parameter, or on one file of a `list[UploadFile]` in a loop, in the
      endpoint or in a project function the endpoint passes the file to.

    It says nothing when the size is bounded first: `max_body_size=` on the
    route, its router, an include or the app (FastAPI's request-body limit);
    a body-size middleware on the app (Starlette's `RequestBodyLimitMiddleware`,
    one named for it, or one of the project's that compares a size or the
    `Content-Length` header); a dependency of the route that compares a size;
    or a comparison of a size in the endpoint before the read (`if file.size >
    MAX_BYTES: raise HTTPException(413)`, `if get_request_size(request) >
    LIMIT`). Reads of a bounded chunk (`await f.read(1 << 20)`), `Body()`
    parameters (JSON, whose whole body every JSON API reads) and tests are
    left alone.

    ## Why is this bad?
    Nothing in FastAPI or Starlette caps an upload by default. Starlette's
    multipart parser (1.10) limits the number of files and fields (1000 each)
    and the size of *non-file* fields (1 MB), but streams file parts into a
    `SpooledTemporaryFile` of any length, which moves to disk above 1 MB.
    Reading that file whole brings it back into memory: FastAPI fills a `bytes`
    `File()` parameter with `await file.read()` (`_read_file_bytes` in
    `fastapi/dependencies/utils.py`) before the endpoint runs. Measured with
    FastAPI 0.165 by streaming a 50 MB multipart upload into the app: the
    `bytes = File()` endpoint and the `await file.read()` endpoint both peak
    at about 50 MB of Python memory and answer 200, the one reading
    `await file.read(1 << 20)` in a loop peaks at 2 MB, and the same
    `bytes = File()` endpoint under `FastAPI(max_body_size=1 MiB)` answers 413
    at 1 MB. A few concurrent multi-gigabyte uploads take the worker down.

    If a proxy in front of the service caps request bodies (nginx's
    `client_max_body_size`), the code cannot show it: say so with
    `# noqa: FX313`, or set `max_body_size=` so the limit travels with the code.

    ## Example
    ```python
    @router.post("/avatars")
    async def upload_avatar(image: Annotated[bytes, File()]):
        return store(image)
    ```

    ## Use instead
    ```python
    MAX_AVATAR_BYTES = 5 * 1024 * 1024

    @router.post("/avatars")
    async def upload_avatar(image: UploadFile):
        if image.size is not None and image.size > MAX_AVATAR_BYTES:
            raise HTTPException(413, "avatar too large")
        return store(await image.read())
    ```

    ## References
    - https://fastapi.tiangolo.com/tutorial/request-files/
    - https://fastapi.tiangolo.com/advanced/request-body-limits/
    - https://www.starlette.io/requests/#request-files
    - https://owasp.org/API-Security/editions/2023/en/0xa4-unrestricted-resource-consumption/
    """

    code = "FX313"
    name = "upload-read-whole"
    summary = "An upload is read whole into memory (`bytes = File()`, `await file.read()`) with no size limit first."
    severity = Severity.WARNING

    valid = (
        Valid(
            # Streamed to disk in bounded chunks, with a running total and a 413.
            """
            import aiofiles
            from fastapi import APIRouter, HTTPException, UploadFile

            router = APIRouter()
            MAX_BYTES = 100 * 1024 * 1024

            @router.post("/datasets")
            async def upload_dataset(file: UploadFile) -> dict[str, int]:
                total = 0
                async with aiofiles.open(f"/data/{file.filename}", "wb") as out:
                    while chunk := await file.read(1 << 20):
                        total += len(chunk)
                        if total > MAX_BYTES:
                            raise HTTPException(413, "dataset too large")
                        await out.write(chunk)
                return {"bytes": total}
            """
        ),
        Valid(
            # The declared size is checked before the whole read: a near miss.
            """
            from fastapi import FastAPI, File, HTTPException, UploadFile

            app = FastAPI()

            @app.post("/transcribe")
            async def transcribe(audio: UploadFile = File(...)) -> dict[str, str]:
                if audio.size is None or audio.size > 10 * 1024 * 1024:
                    raise HTTPException(413, "audio larger than 10 MB")
                data = await audio.read()
                return {"text": data[:10].hex()}
            """
        ),
        Valid(
            # FastAPI's own limit on the router that the app includes caps every body under it.
            """
            from typing import Annotated

            from fastapi import APIRouter, File

            router = APIRouter(prefix="/images", max_body_size=5 * 1024 * 1024)

            @router.post("/thumbnails")
            async def thumbnail(image: Annotated[bytes, File()]) -> dict[str, int]:
                return {"bytes": len(image)}
            """,
            filename="app/images.py",
            files={
                "app/main.py": """
                    from fastapi import FastAPI

                    from app.images import router

                    app = FastAPI()
                    app.include_router(router)
                """
            },
        ),
        Valid(
            # A body-size middleware on the app bounds every upload before the endpoint runs.
            """
            from fastapi import APIRouter, UploadFile

            router = APIRouter()

            @router.post("/imports")
            async def import_csv(file: UploadFile) -> dict[str, int]:
                rows = (await file.read()).decode().splitlines()
                return {"rows": len(rows)}
            """,
            filename="app/imports.py",
            files={
                "app/main.py": """
                    from fastapi import FastAPI, Request
                    from fastapi.responses import JSONResponse

                    from app.imports import router

                    MAX_BODY = 20 * 1024 * 1024
                    app = FastAPI()
                    app.include_router(router)

                    @app.middleware("http")
                    async def limit_body(request: Request, call_next):
                        declared = request.headers.get("content-length")
                        if declared is None or int(declared) > MAX_BODY:
                            return JSONResponse({"detail": "too large"}, status_code=413)
                        return await call_next(request)
                """
            },
        ),
        Valid(
            # The service reads the file whole, but the route checks Content-Length first.
            """
            from fastapi import APIRouter, HTTPException, Request, UploadFile

            from app import storage

            router = APIRouter()
            UPLOAD_LIMIT = 2 * 1024 * 1024

            def request_size(request: Request) -> int:
                return int(request.headers.get("content-length", 0))

            @router.post("/repos/{repo_id}/code")
            async def upload_code(request: Request, repo_id: str, file: UploadFile) -> None:
                if request_size(request) > UPLOAD_LIMIT:
                    raise HTTPException(413, "diff too large")
                await storage.save_code(repo_id, file)
            """,
            filename="app/routes.py",
            files={
                "app/storage.py": """
                    from fastapi import UploadFile

                    BLOBS: dict[str, bytes] = {}

                    async def save_code(repo_id: str, file: UploadFile) -> None:
                        BLOBS[repo_id] = await file.read()
                """
            },
        ),
        Valid(
            # `bytes` in a JSON body with other fields is a string field, not an upload.
            """
            from uuid import UUID

            from fastapi import Body, FastAPI

            app = FastAPI()

            @app.post("/flow_runs/{id}/input")
            async def create_input(id: UUID, key: str = Body(...), value: bytes = Body(...)) -> None:
                return None
            """
        ),
        Valid(
            # A dependency compares the declared sizes before the endpoint runs.
            """
            from typing import Annotated

            from fastapi import Depends, FastAPI, HTTPException, UploadFile

            app = FastAPI()
            MAX_MB = 25

            def within_quota(files: list[UploadFile]) -> None:
                if sum((f.size or 0) for f in files) > MAX_MB * 1024 * 1024:
                    raise HTTPException(413, "too much data")

            @app.put("/content", dependencies=[Depends(within_quota)])
            async def put_content(files: list[UploadFile]) -> dict[str, int]:
                total = 0
                for f in files:
                    total += len(await f.read())
                return {"bytes": total}
            """
        ),
        Valid(
            # A test app serves no one: its fixtures upload a few bytes.
            """
            from typing import Annotated

            from fastapi import FastAPI, File
            from fastapi.testclient import TestClient

            app = FastAPI()

            @app.post("/echo")
            async def echo(data: Annotated[bytes, File()]) -> dict[str, int]:
                return {"bytes": len(data)}

            def test_echo() -> None:
                assert TestClient(app).post("/echo", files={"data": b"abc"}).json() == {"bytes": 3}
            """,
            filename="tests/test_uploads.py",
        ),
    )
    invalid = (
        Invalid(
            """
            from typing import Annotated

            from fastapi import APIRouter, File, Form

            router = APIRouter()
            Attachment = Annotated[bytes, File(description="the raw attachment")]

            @router.post("/avatars")
            async def upload_avatar(user_id: int = Form(), image: bytes = File()) -> dict[str, int]:
                return {"user": user_id, "bytes": len(image)}

            @router.post("/tickets/{ticket_id}/attachments")
            async def attach(ticket_id: int, attachments: Annotated[list[bytes], File()]) -> dict[str, int]:
                return {"count": len(attachments)}

            @router.post("/scans")
            async def scan(page: Attachment, back: Annotated[bytes | None, File()] = None) -> dict[str, int]:
                return {"bytes": len(page) + len(back or b"")}
            """,
            lines=(9, 13, 17),
        ),
        Invalid(
            """
            from fastapi import FastAPI, HTTPException, UploadFile

            app = FastAPI()
            MAX_FILE_SIZE_BYTES = 10 * 1024 * 1024

            @app.post("/convert")
            async def convert_documents(files: list[UploadFile]) -> list[str]:
                converted = []
                for file in files:
                    content = await file.read()
                    if len(content) > MAX_FILE_SIZE_BYTES:
                        continue
                    converted.append(content.decode(errors="replace"))
                return converted

            @app.post("/certificates")
            def upload_certificate(cert: UploadFile) -> dict[str, int]:
                pem = cert.file.read()
                return {"bytes": len(pem)}

            @app.post("/checksums")
            async def checksums(parts: list[UploadFile]) -> list[int]:
                return [len(await part.read()) for part in parts]
            """,
            lines=(10, 18, 23),
        ),
        Invalid(
            """
            from typing import Annotated

            from fastapi import APIRouter, Depends, UploadFile

            from app.services import archives
            from app.users import current_user

            router = APIRouter(prefix="/files")

            @router.post("/upload_archive")
            async def upload_archive(file: UploadFile, user: Annotated[str, Depends(current_user)]) -> dict[str, str]:
                digest = await archives.store(user, file)
                return {"hash": digest}
            """,
            filename="app/routes.py",
            files={
                "app/services/archives.py": """
                    import hashlib

                    from fastapi import UploadFile

                    async def store(owner: str, upload: UploadFile) -> str:
                        blob = await upload.read()
                        return hashlib.sha256(blob).hexdigest()
                """,
                "app/users.py": """
                    def current_user() -> str:
                        return "alice"
                """,
            },
            lines=(12,),
        ),
    )

    def visit_FunctionDef(self, node: ast.FunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def _check(self, node: _FunctionNode, ctx: FileContext) -> None:
        if ctx.module.is_test:
            return
        routes = http_routes(ctx.project, node)
        func = ctx.module.function_of_node.get(node)
        if not routes or func is None:
            return
        project = ctx.project
        in_bytes: list[tuple[ast.arg, bool]] = []
        uploads = _Uploads(set(), set())
        for p in parameters(project, func):
            element, is_list = _element(project, p.module, p.inner)
            if element == _BYTES and p.kind == "file":
                in_bytes.append((p.arg, is_list))
            elif element in _UPLOAD_FILE and p.kind in {None, "file", "form"}:
                (uploads.lists if is_list else uploads.single).add(p.arg.arg)
        if not in_bytes and not uploads.single and not uploads.lists:
            return
        if all(_route_capped(project, r) for r in routes) or any(_dependency_measures(project, r) for r in routes):
            return
        where = f"`{func.name}` (`{describe_route(routes[0])}`)"
        for arg, is_list in in_bytes:
            self._report_bytes(ctx, arg, is_list, where)
        if uploads.single or uploads.lists:
            self._check_reads(ctx, func, uploads, where)

    def _report_bytes(self, ctx: FileContext, arg: ast.arg, is_list: bool, where: str) -> None:
        declared = ast.unparse(arg.annotation) if arg.annotation is not None else "bytes"
        what = "every uploaded file" if is_list else "the whole upload"
        take = "`list[UploadFile]`" if is_list else "an `UploadFile`"
        ctx.report(
            arg,
            f"`{arg.arg}: {declared}` makes FastAPI read {what} into memory before {where} runs, and nothing "
            f"caps its size, so a client can send gigabytes; take {take}, reject a `.size` above a limit "
            f"with 413 and read it in chunks (`while chunk := await f.read(1 << 20)`), or set "
            f"`max_body_size=` on the route.",
        )

    def _check_reads(self, ctx: FileContext, func: FunctionInfo, uploads: _Uploads, where: str) -> None:
        node = func.node
        files = uploads.single | _loop_aliases(node, uploads.lists)
        checks = _size_checks(node)
        seen: set[str] = set()
        for read, name, shown in _whole_reads(node, files):
            if name in seen or _checked_before(checks, read):
                continue
            seen.add(name)
            sync = not func.is_async or shown.endswith(".file.read()")
            ctx.report(read, self._read_message(f"`{shown}`", f"the whole upload `{name}`", name, where, sync=sync))
        for found in _helper_reads(ctx.project, func, uploads, files):
            if found.name in seen or _checked_before(checks, found.call):
                continue
            seen.add(found.name)
            link = ChainLink(
                found.helper.module.source.location(found.read),
                f"`{found.helper.name}` reads the whole upload with `{found.shown}`",
            )
            call_text = _one_line(ast.unparse(found.call.func))
            ctx.report(
                found.call,
                self._read_message(
                    f"`{call_text}(...)` (`{found.shown}` in `{found.helper.name}`)",
                    f"each upload of `{found.name}` whole" if found.is_list else f"the whole upload `{found.name}`",
                    "f" if found.is_list else found.name,
                    where,
                    sync=not found.helper.is_async or found.shown.endswith(".file.read()"),
                    before="the call",
                ),
                chain=(link,),
            )

    @staticmethod
    def _read_message(
        shown: str, what: str, name: str, where: str, *, sync: bool, before: str = "reading"
    ) -> str:
        # a `def` endpoint reads the file under the UploadFile, without `await`
        chunked = f"{name}.file.read(1 << 20)" if sync else f"await {name}.read(1 << 20)"
        return (
            f"{shown} loads {what} into memory in {where}, and nothing bounds its size "
            f"first, so a client can send gigabytes; reject `{name}.size` above a limit with 413 before "
            f"{before}, or read it in chunks with a running total (`while chunk := {chunked}`), "
            f"or set `max_body_size=` on the route."
        )


def _one_line(text: str) -> str:
    return " ".join(text.split())

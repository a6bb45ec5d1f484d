"""Shared helpers of the secrets / JWT / password rules (FX401-FX405, FX410-FX412).

No rule lives here: JWT call recognition across PyJWT, python-jose, authlib and
joserfc, name heuristics for secrets and passwords, and the tracking of a JWT
payload dict inside one function.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from weakref import WeakKeyDictionary

from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, ModuleInfo, own_nodes
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules._util import keyword_value
from fastapi_expert.review.rules.base import FileContext

# -- JWT libraries -------------------------------------------------------------

# Qualified-name prefix -> library. Longest prefixes first.
_JWT_PREFIXES: tuple[tuple[str, str], ...] = (
    ("authlib.jose.rfc7519.JsonWebToken.", "authlib"),
    ("authlib.jose.JsonWebToken.", "authlib"),
    ("authlib.jose.jwt.", "authlib"),
    ("joserfc.jwt.", "joserfc"),
    ("jose.jwt.", "jose"),
    ("jwt.api_jwt.PyJWT.", "pyjwt"),
    ("jwt.PyJWT.", "pyjwt"),
    ("jwt.api_jwt.", "pyjwt"),
    ("jwt.", "pyjwt"),
)

_JWT_CLASSES = frozenset(
    {"authlib.jose.JsonWebToken", "authlib.jose.rfc7519.JsonWebToken", "jwt.PyJWT", "jwt.api_jwt.PyJWT"}
)

_JWT_MODULES = ("jwt", "jose", "authlib", "joserfc")

LIB_NAMES = {"pyjwt": "PyJWT", "jose": "python-jose", "authlib": "authlib", "joserfc": "joserfc"}


@dataclass(frozen=True)
class JwtCall:
    lib: str  # "pyjwt" | "jose" | "authlib" | "joserfc"
    func: str  # "decode", "encode", "get_unverified_claims", ...

    def payload_arg(self, call: ast.Call) -> ast.expr | None:
        """The claims dict of an `encode` call."""
        if self.lib in {"authlib", "joserfc"}:
            return arg(call, 1, "payload", "claims")
        return arg(call, 0, "payload", "claims")

    def key_arg(self, call: ast.Call) -> ast.expr | None:
        if self.func == "encode" and self.lib in {"authlib", "joserfc"}:
            return arg(call, 2, "key")
        return arg(call, 1, "key")


def jwt_call(ctx: FileContext, call: ast.Call) -> JwtCall | None:
    """Recognise a call into a JWT library, through any import alias."""
    if not ctx.module.imports_any_package(_JWT_MODULES):  # asked of every call: no extra call layer
        return None
    target = ctx.call_target(call)
    f = call.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and ctx.module.resolve(f.value) is not None:
        # `jwt = JsonWebToken(["RS256"])` at module level, then `jwt.decode(...)`.
        bound = ctx.module.assignments.get(f.value.id)
        if isinstance(bound, ast.Call):
            cls = ctx.resolve(bound.func)
            if cls in _JWT_CLASSES:
                target = f"{cls}.{f.attr}"
    if target is None:
        return None
    for prefix, lib in _JWT_PREFIXES:
        if target.startswith(prefix):
            func = target[len(prefix) :]
            if not func or "." in func:
                return None
            if isinstance(ctx.project.lookup(target), FunctionInfo | ClassInfo):
                return None  # the project's own `jwt` module
            return JwtCall(lib, func)
    return None


_TEST_PACKAGES = ("pytest",)


def module_uses(ctx: FileContext, packages: tuple[str, ...]) -> bool:
    """Does the file import any of `packages` (or a submodule)? Cached per module."""
    return ctx.module.imports_any_package(packages)


def is_test(ctx: FileContext) -> bool:
    """Test code: a test file by its path (`ctx.module.is_test`), a module that
    imports pytest wherever it lives (a reusable test suite shipped in the package,
    `mypkg/testing/suites.py`): production code does not import pytest; or a module of
    a `testing` package no production module imports (`mypkg/testing/factories.py`,
    the fakes and builders the project's tests use, shipped without the tests).
    Rules ask this for every call they look at: the answer is kept per module."""
    module = ctx.module
    known: bool | None = getattr(module, "_fx_test_code", None)  # an attribute: a weak map costs a weakref per call
    if known is None:
        if module.is_test or module.imports_any_package(_TEST_PACKAGES):
            known = True
        else:
            package = _testing_package(module)
            known = package is not None and package not in _imported_testing_packages(ctx.project)
        module._fx_test_code = known  # type: ignore[attr-defined]
    return known


_TESTING_DIR = "testing"
# Per project: the `testing` packages that production code imports (those are not test code).
_PRODUCTION_TESTING: WeakKeyDictionary[Project, frozenset[str]] = WeakKeyDictionary()


def _testing_package(module: ModuleInfo) -> str | None:
    """`app.testing` for `app/testing/factories.py` (or `app/testing/__init__.py`); None
    outside such a package. A module named `testing.py` is not one: `settings/testing.py`
    is the configuration of a test mode, production code."""
    parts = module.name.split(".")
    own = parts if module.is_package else parts[:-1]
    if _TESTING_DIR not in own:
        return None
    return ".".join(own[: own.index(_TESTING_DIR) + 1])


def _imported_testing_packages(project: Project) -> frozenset[str]:
    """The `testing` packages some production module imports (a `testing` package that the
    service itself uses, such as a load-testing feature, is production code)."""
    known = _PRODUCTION_TESTING.get(project)
    if known is not None:
        return known
    found: set[str] = set()
    for module in project.modules:
        if module.is_test or module.imports_any_package(_TEST_PACKAGES) or _testing_package(module) is not None:
            continue
        for name in (*module.imported_modules, *module.imports.values()):
            parts = name.split(".")
            if _TESTING_DIR not in parts:
                continue
            imported = project.find_module(".".join(parts[: parts.index(_TESTING_DIR) + 1]))
            if imported is not None:
                found.add(imported.name)
    known = _PRODUCTION_TESTING[project] = frozenset(found)
    return known


def has_star_args(call: ast.Call) -> bool:
    return any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords)


def arg(call: ast.Call, index: int, *names: str) -> ast.expr | None:
    """A call argument given by keyword (any of `names`) or at position `index`."""
    for name in names:
        value = keyword_value(call, name)
        if value is not None:
            return value
    if index < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[: index + 1]):
        return call.args[index]
    return None


# -- values --------------------------------------------------------------------


def str_value(expr: ast.expr | None) -> str | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    return None


def local_value(ctx: FileContext, expr: ast.expr) -> ast.expr:
    """The value a name is bound to, when it is bound exactly once in the current
    function (or at module level); otherwise the expression itself."""
    if not isinstance(expr, ast.Name):
        return expr
    func = ctx.function()
    if func is not None:
        bound: list[ast.expr] = []
        for node in own_nodes(func.node):
            if isinstance(node, ast.Assign):
                if any(isinstance(t, ast.Name) and t.id == expr.id for t in node.targets):
                    bound.append(node.value)
            elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.For | ast.With | ast.NamedExpr):
                target = getattr(node, "target", None)
                if isinstance(target, ast.Name) and target.id == expr.id:
                    return expr
        if len(bound) == 1:
            return bound[0]
        if bound:
            return expr
        args = func.node.args
        if any(a.arg == expr.id for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]):
            return expr
    value = ctx.module.assignments.get(expr.id)
    return value if value is not None else expr


def dict_literal_items(expr: ast.expr) -> dict[str, ast.expr] | None:
    """`{"k": v}` or `dict(k=v)` with only literal keys -> {key: value}; else None."""
    if isinstance(expr, ast.Dict):
        out: dict[str, ast.expr] = {}
        for k, v in zip(expr.keys, expr.values, strict=False):
            key = str_value(k)
            if key is None:
                return None
            out[key] = v
        return out
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "dict" and not expr.args:
        if any(k.arg is None for k in expr.keywords):
            return None
        return {k.arg: k.value for k in expr.keywords if k.arg is not None}
    return None


# -- names ---------------------------------------------------------------------

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def words(name: str) -> list[str]:
    """`SECRET_KEY` -> [secret, key]; `tokenUrl` -> [token, url]; `X-API-Key` -> [x, api, key]."""
    return list(_words(name))


@lru_cache(maxsize=8192)
def _words(name: str) -> tuple[str, ...]:
    # The same names (keywords, attributes) come back on most calls: split each once.
    return tuple(w.lower() for w in _WORD.findall(name))


def terminal_name(expr: ast.expr) -> str | None:
    """The last identifier of an expression: `user.password` -> `password`,
    `data["token"]` -> `token`, `headers.get("X-API-Key")` -> `X-API-Key`,
    `h.hexdigest()` -> `hexdigest`."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Subscript):
        return str_value(expr.slice)
    if isinstance(expr, ast.Call):
        if isinstance(expr.func, ast.Attribute) and expr.func.attr == "get" and expr.args:
            return str_value(expr.args[0])
        if isinstance(expr.func, ast.Attribute):
            return expr.func.attr
        if isinstance(expr.func, ast.Name):
            return expr.func.id
    return None


PASSWORD_WORDS = frozenset({"password", "passwd", "pwd", "passphrase"})
_HASH_WORDS = frozenset({"hash", "hashed", "digest", "encrypted", "crypt", "hashes"})


def is_plain_password_name(name: str | None) -> bool:
    """`password`, `new_password`, `plain_password`, but not `hashed_password`,
    `password_hash`, `password_changed_at`, `password_reset_token`."""
    if not name:
        return False
    ws = words(name)
    if not ws or ws[-1] not in PASSWORD_WORDS:
        return False
    return not any(w in _HASH_WORDS for w in ws)


def receiver_name(expr: ast.expr) -> str | None:
    """`user.password` -> `user`; `db_user["password"]` -> `db_user`; `self.user.password` -> `user`."""
    inner: ast.expr | None = None
    if isinstance(expr, ast.Attribute | ast.Subscript):
        inner = expr.value
    if inner is None:
        return None
    if isinstance(inner, ast.Call):
        inner = inner.func
    return terminal_name(inner)


# -- JWT payload tracking --------------------------------------------------------


@dataclass
class Payload:
    """What one function's code puts into a JWT claims dict."""

    keys: dict[str, list[ast.expr]] = field(default_factory=dict)  # claim -> value exprs
    key_nodes: dict[str, list[ast.AST]] = field(default_factory=dict)  # claim -> where it is set
    complete: bool = True  # False when some part of the dict is not visible

    def add(self, key: str, value: ast.expr, where: ast.AST) -> None:
        self.keys.setdefault(key, []).append(value)
        self.key_nodes.setdefault(key, []).append(where)

    def add_dict(self, expr: ast.expr) -> None:
        if isinstance(expr, ast.Dict):
            for k, v in zip(expr.keys, expr.values, strict=False):
                key = str_value(k)
                if k is None or key is None:
                    self.complete = False  # `**other` or a computed key
                else:
                    self.add(key, v, k)
            return
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "dict" and not expr.args:
            for kw in expr.keywords:
                if kw.arg is None:
                    self.complete = False
                else:
                    self.add(kw.arg, kw.value, kw)
            return
        self.complete = False


def jwt_payload(ctx: FileContext, call: ast.Call, expr: ast.expr | None) -> Payload | None:
    """Follow a JWT payload argument to the dict literal it is built from, with
    later `update(...)`, `[...] =` and `setdefault(...)` in the same function.
    None when the payload is not a local literal we can see."""
    if expr is None:
        return None
    if isinstance(expr, ast.Dict) or (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "dict"):
        payload = Payload()
        payload.add_dict(expr)
        return payload
    if not isinstance(expr, ast.Name):
        return None
    func = ctx.function()
    if func is None:
        return None
    name = expr.id
    args = func.node.args
    if any(a.arg == name for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]):
        return None
    payload = Payload()
    seen_binding = False
    for node in own_nodes(func.node):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    seen_binding = True
                    payload.add_dict(node.value)
                elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id == name:
                    key = str_value(target.slice)
                    if key is None:
                        payload.complete = False
                    else:
                        payload.add(key, node.value, target.slice)
                elif _binds(target, name):
                    payload.complete = False
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            if node.value is not None:
                seen_binding = True
                payload.add_dict(node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            payload.add_dict(node.value)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.With | ast.AsyncWith | ast.NamedExpr | ast.Delete):
            targets: list[ast.expr] = []
            if isinstance(node, ast.For | ast.AsyncFor | ast.NamedExpr):
                targets = [node.target]
            elif isinstance(node, ast.With | ast.AsyncWith):
                targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
            elif isinstance(node, ast.Delete):
                targets = list(node.targets)
            if any(_binds(t, name) or _mentions(t, name) for t in targets):
                payload.complete = False
        elif isinstance(node, ast.Call) and node is not call:
            f = node.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == name:
                if f.attr == "update":
                    for a in node.args:
                        payload.add_dict(a)
                    for kw in node.keywords:
                        if kw.arg is None:
                            payload.complete = False
                        else:
                            payload.add(kw.arg, kw.value, kw)
                elif f.attr == "setdefault" and node.args:
                    key = str_value(node.args[0])
                    if key is None:
                        payload.complete = False
                    else:
                        value = node.args[1] if len(node.args) > 1 else node.args[0]
                        payload.add(key, value, node.args[0])
                elif f.attr not in {"get", "copy", "items", "keys", "values", "__contains__"}:
                    payload.complete = False
            elif any(isinstance(a, ast.Name) and a.id == name for a in node.args) or any(
                isinstance(k.value, ast.Name) and k.value.id == name for k in node.keywords
            ):
                payload.complete = False  # handed to a helper that may add claims
    if not seen_binding:
        return None
    return payload


def encoded_payload(ctx: FileContext, call: ast.Call) -> Payload | None:
    """The claims a JWT `encode(...)` call outside tests signs, when `jwt_payload`
    can see them; None for any other call."""
    if is_test(ctx):
        return None
    jwt = jwt_call(ctx, call)
    if jwt is None or jwt.func != "encode":
        return None
    return jwt_payload(ctx, call, jwt.payload_arg(call))


def _binds(target: ast.expr, name: str) -> bool:
    if isinstance(target, ast.Name):
        return target.id == name
    if isinstance(target, ast.Tuple | ast.List):
        return any(_binds(e, name) for e in target.elts)
    if isinstance(target, ast.Starred):
        return _binds(target.value, name)
    return False


def _mentions(target: ast.expr, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target))


def iter_calls(func: ast.AST) -> Iterator[ast.Call]:
    for node in own_nodes(func):
        if isinstance(node, ast.Call):
            yield node

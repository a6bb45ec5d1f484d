from __future__ import annotations

import ast
import re
from collections import deque

from fastapi_expert.review.model.fastapi_model import Route
from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, ModuleInfo, own_nodes
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.validation._models import (
    PYDANTIC_FIELD,
    FieldDef,
    annotation_classes,
    class_info,
    describe_route,
    inherited_fields,
    is_model_class,
    is_model_node,
    model_class,
    named_like_output,
    only_models,
    own_fields,
    parameters,
    path_names,
    response_models,
    usage,
)
from fastapi_expert.types import Severity

_SECRET_TYPES = frozenset(
    {"pydantic.SecretStr", "pydantic.SecretBytes", "pydantic.types.SecretStr", "pydantic.types.SecretBytes"}
)
# exact field names -> the word a model name may carry to show it hands the value out on purpose
_EXACT: dict[str, str | None] = {
    "password": None,
    "passwd": None,
    "hashed_password": None,
    "password_hash": None,
    "password_hashed": None,
    "password_salt": None,
    "salt": None,
    "secret": "secret",
    "client_secret": "secret",
    "secret_key": "secret",
    "api_key": "key",
    "apikey": "key",
    "private_key": "key",
    "otp": "otp",
    "otp_secret": "otp",
    "totp_secret": "otp",
    "mfa_secret": "secret",
    "token": "token",
}
_SUFFIXES: tuple[tuple[str, str | None], ...] = (
    ("_password", None),
    ("_passwd", None),
    ("_password_hash", None),
    ("_secret", "secret"),
    ("_secret_key", "secret"),
    ("_api_key", "key"),
    ("_private_key", "key"),
    ("_token", "token"),
)
# a field of these types is a flag or a count about the secret, not the secret
_NOT_A_VALUE = frozenset({"builtins.bool", "builtins.int", "builtins.float", "datetime.datetime", "datetime.date"})
_NOT_SECRET_TOKENS = frozenset(
    {
        "page", "cursor", "continuation", "pagination", "next", "prev", "previous", "sync",
        # a version or change marker for optimistic concurrency (`version_token`, an ETag)
        # or a request's idempotency handle: the client echoes it back, it grants nothing
        "version", "revision", "etag", "change", "idempotency",
    }
)
# a model named for handing out a new credential (`GenerateKeyResponse`, `NewTokenOut`)
_ISSUE_VERBS = frozenset(
    {"generate", "generated", "new", "create", "created", "issue", "issued", "mint", "minted",
     "regenerate", "regenerated", "rotate", "rotated"}
)
_CREDENTIAL_NOUNS = frozenset({"key", "keys", "apikey", "token", "tokens", "secret", "secrets", "credential", "credentials"})
# an LLM tokenizer's special vocabulary tokens (`eos_token = "</s>"`), not credentials
_VOCABULARY_TOKENS = frozenset(
    {"eos", "bos", "pad", "unk", "sep", "cls", "mask", "eot", "sos", "special", "stop", "start", "end", "vocab"}
)
# counts and ids of LLM tokens (`max_tokens`, `token_count`, `eos_token_id`)
_TOKEN_COUNT_WORDS = frozenset({"max", "min", "num", "count", "counts", "id", "ids", "limit", "total", "usage", "len", "length"})
_TOKEN_CONTEXT = frozenset({"token", "auth", "login", "session", "oauth", "refresh", "credential", "credentials", "signin"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def _words(name: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(name)}


def _issues_credentials(words: set[str]) -> bool:
    """Is a model with this name the answer of a route that creates a credential
    (`GenerateKeyResponse`, `KeyCreatedOut`)? It hands the new key or token to the
    caller on purpose, once."""
    return bool(words & _ISSUE_VERBS) and bool(words & _CREDENTIAL_NOUNS)


def _parsed_in_module(module: ModuleInfo, name: str) -> bool:
    """Does the module validate a payload with the class (`TypeAdapter(_KeyResponse)`,
    `_KeyResponse.model_validate(data)`)? It reads data with it."""
    for n in ast.walk(module.tree):
        if not isinstance(n, ast.Call):
            continue
        func = n.func
        if isinstance(func, ast.Name) and func.id == "TypeAdapter" and any(
            isinstance(a, ast.Name) and a.id == name for a in n.args
        ):
            return True
        if (
            isinstance(func, ast.Attribute)
            and func.attr.startswith("model_validate")
            and isinstance(func.value, ast.Name)
            and func.value.id == name
        ):
            return True
    return False


def secret_kind(field_name: str) -> tuple[bool, str | None]:
    """(is it a secret, the word that legitimises it in a model's name)."""
    name = field_name.lower()
    words = set(name.split("_"))
    if words & {"token", "tokens"} and words & (_VOCABULARY_TOKENS | _TOKEN_COUNT_WORDS):
        return False, None  # `eos_token`, `pad_token_id`, `max_tokens`, `num_tokens`
    if words & {"session"} and words.isdisjoint({"secret", "private", "password", "passwd"}) and (
        name.endswith("_token") or name.endswith("_api_key")
    ):
        return False, None  # `session_token`, `session_api_key`: the handle of a session, for its client
    if name in _EXACT:
        return True, _EXACT[name]
    for suffix, word in _SUFFIXES:
        if name.endswith(suffix):
            if word == "token" and set(name.split("_")) & _NOT_SECRET_TOKENS:
                return False, None
            return True, word
    return False, None


def _field_hidden(project: Project, module: ModuleInfo, f: FieldDef) -> bool:
    """`Field(exclude=True)` or a `SecretStr` type (not sent in clear), or no secret value at all
    (a flag, a count, a date)."""
    calls: list[tuple[ModuleInfo, ast.expr]] = []
    if f.value is not None:
        calls.append((module, f.value))
    meta_module, _inner, meta = project.annotated_parts(module, f.annotation)
    calls += [(meta_module, m) for m in meta]
    for where, call in calls:
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name | ast.Attribute)
            and project.resolve(where, call.func) in PYDANTIC_FIELD
            and any(k.arg == "exclude" and isinstance(k.value, ast.Constant) and k.value.value is True for k in call.keywords)
        ):
            return True
    return project.annotation_type(module, f.annotation) in _SECRET_TYPES | _NOT_A_VALUE


def _describes_fields(
    project: Project, fields: list[tuple[ClassInfo | None, FieldDef]], module: ModuleInfo, f: FieldDef
) -> bool:
    """Is the field typed as a nested model that the class also uses for fields that
    are no secret (`host`, `login` and `password` all `FieldBehaviour | None`)? Then
    it describes each field (a form's label and placeholder), not the secret. A model
    only the secret field uses (`private_key: PrivateKeyConfig`, holding the key's
    `content`) may well carry it, so it still counts."""
    if not only_models(project, module, f.annotation):
        return False
    mine = {c.qualname for c in annotation_classes(project, module, f.annotation)}
    for owner, other in fields:
        if other.name == f.name or secret_kind(other.name)[0]:
            continue
        where = owner.module if owner is not None else module
        if mine & {c.qualname for c in annotation_classes(project, where, other.annotation)}:
            return True
    return False


_FIELD_HOOKS = frozenset(
    {
        "pydantic.field_validator",
        "pydantic.functional_validators.field_validator",
        "pydantic.field_serializer",
        "pydantic.functional_serializers.field_serializer",
        "pydantic.validator",
        "pydantic.class_validators.validator",
    }
)
_MASK_WORDS = ("redact", "mask", "obfuscat", "censor", "anonymi", "scrub")
_PLACEHOLDER = re.compile(r"\*\*\*|redacted", re.IGNORECASE)


def _masks(expr: ast.expr) -> bool:
    """Does a returned value mask the secret: a redacting call (`redact(v)`,
    `mask_secret(v)`) or a placeholder string (`"***"`, `"<redacted>"`)?"""
    for n in ast.walk(expr):
        if isinstance(n, ast.Call):
            func = n.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if any(word in name.lower() for word in _MASK_WORDS):
                return True
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and _PLACEHOLDER.search(n.value):
            return True
    return False


def masked_fields(project: Project, module: ModuleInfo, node: ast.ClassDef, info: ClassInfo | None) -> set[str]:
    """Fields a validator or serializer of the class (or of a project base) replaces
    with a masked value before the model is serialised (`@field_validator("password")`
    returning `redact(v)`)."""
    classes: list[tuple[ModuleInfo, ast.ClassDef]] = [(module, node)]
    if info is not None:
        for base in project.class_bases(info):
            sym = project.lookup(base)
            if isinstance(sym, ClassInfo):
                classes.append((sym.module, sym.node))
    out: set[str] = set()
    for where, cls in classes:
        for stmt in cls.body:
            if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            names: set[str] = set()
            for deco in stmt.decorator_list:
                if not (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Name | ast.Attribute)):
                    continue
                if project.resolve(where, deco.func) in _FIELD_HOOKS:
                    names |= {a.value for a in deco.args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
            if not names:
                continue
            returns = [n.value for n in ast.walk(stmt) if isinstance(n, ast.Return) and n.value is not None]
            if any(_masks(r) for r in returns):
                out |= names
    return out


# calls that make a new random value: a token the endpoint mints for its caller
_GENERATORS = frozenset(
    {
        "secrets.token_urlsafe",
        "secrets.token_hex",
        "secrets.token_bytes",
        "uuid.uuid4",
        "os.urandom",
    }
)


def _fresh(project: Project, module: ModuleInfo, expr: ast.expr) -> bool:
    """Is `expr` a call that makes a new object: a project class built in place (a
    row whose token its constructor draws) or a random generator (`secrets.token_urlsafe()`)?"""
    if isinstance(expr, ast.Await):
        expr = expr.value
    if not isinstance(expr, ast.Call) or not isinstance(expr.func, ast.Name | ast.Attribute):
        return False
    target = project.resolve(module, expr.func) or ""
    return target in _GENERATORS or isinstance(project.lookup(target), ClassInfo)


def _minted_in(project: Project, func: FunctionInfo, expr: ast.expr) -> bool:
    """Does `expr` hold a value the endpoint itself creates: a fresh object or random
    value, a local every assignment binds to one, or an attribute of such a local
    (`job = ExportJob(...)`, then `job.token`)?"""
    if isinstance(expr, ast.Attribute):
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return _fresh(project, func.module, expr)
    values = [
        n.value
        for n in own_nodes(func.node)
        if isinstance(n, ast.Assign | ast.AnnAssign)
        and n.value is not None
        and any(
            isinstance(t, ast.Name) and t.id == expr.id
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
        )
    ]
    return bool(values) and all(_fresh(project, func.module, v) for v in values)


_CLIENT_SCALARS = frozenset({"builtins.str", "builtins.bytes", "uuid.UUID"})


def _client_values(project: Project, func: FunctionInfo) -> tuple[set[str], set[str]]:
    """The endpoint's parameters a client sends: (scalars such as a token in a header,
    query or path, request bodies that are models). Dependencies are the server's."""
    scalars: set[str] = set()
    bodies: set[str] = set()
    for param in parameters(project, func):
        if param.kind in {"depends", "security"}:
            continue
        qual = project.annotation_type(func.module, param.arg.annotation)
        if qual in _CLIENT_SCALARS:
            scalars.add(param.arg.arg)
        elif model_class(project, qual) is not None:
            bodies.add(param.arg.arg)
    return scalars, bodies


def _sent(expr: ast.expr, client: tuple[set[str], set[str]]) -> bool:
    """Is `expr` a value the client sent: a scalar parameter or a field of its body?"""
    scalars, bodies = client
    if isinstance(expr, ast.Name):
        return expr.id in scalars
    return isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id in bodies


_QUERY_CALLS = frozenset({"select", "query"})
_QUERY_ATTRS = frozenset({"query", "objects"})
_JOINS = frozenset({"join", "outerjoin", "join_from"})


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _selected(expr: ast.expr) -> list[set[str]] | None:
    """What the outermost query in `expr` reads, one set of spellings per selected
    item: `select(Run)` and `session.query(Run)` give `[{"Run"}]`, `select(Run.token)`
    `[{"Run.token", "Run"}]`, `Run.select()`, `Run.query` and `Run.objects` `[{"Run"}]`.
    The statement's own chain and the calls that run it are followed, never a
    filter's arguments (a subquery there reads other rows). None when no query shows."""
    node: ast.expr = expr.value if isinstance(expr, ast.Await) else expr
    if isinstance(node, ast.Attribute):
        if node.attr in _QUERY_ATTRS and isinstance(node.value, ast.Name | ast.Attribute):
            return [{ast.unparse(node.value)}]
        return _selected(node.value)
    if not isinstance(node, ast.Call):
        return None
    name, func = _call_name(node), node.func
    if name in _QUERY_CALLS:
        if node.args:
            return [
                {ast.unparse(a), ast.unparse(a.value)} if isinstance(a, ast.Attribute) else {ast.unparse(a)}
                for a in node.args
            ]
        if name == "select" and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name | ast.Attribute):
            return [{ast.unparse(func.value)}]  # peewee's `Run.select()`
    if isinstance(func, ast.Attribute):
        found = _selected(func.value)
        if found is not None:
            return found
    for arg in node.args:
        if isinstance(arg, ast.Call | ast.Await | ast.Attribute):
            found = _selected(arg)
            if found is not None:
                return found
    return None


def _of_selected(column: ast.Attribute, call: ast.Call | None, selected: list[set[str]] | None) -> bool:
    """Is `column` (`Run.token`) a column of the row the lookup returns: the entity
    every selected item is (or belongs to), or, when no query shows, the receiver of
    the method the comparison is given to (peewee's `Run.get(Run.token == token)`)?
    `select(Run).join(Run.owner).where(Owner.token == token)` compares another
    table's column: the row is found by the owner's token, not by its own."""
    receiver = ast.unparse(column.value)
    if selected is not None:
        return all(receiver in spellings for spellings in selected)
    return (
        call is not None
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name | ast.Attribute)
        and ast.unparse(call.func.value) == receiver
    )


def _found_by(expr: ast.expr, attr: str, client: tuple[set[str], set[str]]) -> bool:
    """Does `expr` look a row up by its own `attr` equal to a value the client sent
    (`select(Run).filter_by(token=token)`, `.where(Run.token == body.token)`,
    `Run.objects.get(token=token)`)? The column must be the selected row's:
    `.where(Owner.token == token)` on `select(Run).join(...)` finds the run by its
    owner's token, and so does a `filter_by` after a join (it filters the joined
    entity)."""
    selected = _selected(expr)
    joined = any(isinstance(n, ast.Call) and _call_name(n) in _JOINS for n in ast.walk(expr))
    stack: list[tuple[ast.AST, ast.Call | None]] = [(expr, None)]
    while stack:
        n, call = stack.pop()
        if isinstance(n, ast.Call):
            if not (joined and _call_name(n) == "filter_by") and any(
                k.arg == attr and _sent(k.value, client) for k in n.keywords
            ):
                return True
            call = n
        elif isinstance(n, ast.Compare) and len(n.ops) == 1 and isinstance(n.ops[0], ast.Eq):
            left, right = n.left, n.comparators[0]
            for column, value in ((left, right), (right, left)):
                if (
                    isinstance(column, ast.Attribute)
                    and column.attr == attr
                    and _sent(value, client)
                    and _of_selected(column, call, selected)
                ):
                    return True
        stack.extend((child, call) for child in ast.iter_child_nodes(n))
    return False


def _local_values(func: FunctionInfo, name: str) -> list[ast.expr]:
    """Every value the endpoint assigns to local `name` (empty if some binding is not
    a plain assignment: a loop target, a `with ... as`)."""
    values: list[ast.expr] = []
    for n in own_nodes(func.node):
        if isinstance(n, ast.Assign | ast.AnnAssign) and n.value is not None:
            targets = n.targets if isinstance(n, ast.Assign) else [n.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                values.append(n.value)
        elif isinstance(n, ast.For | ast.AsyncFor | ast.With | ast.AsyncWith | ast.NamedExpr | ast.AugAssign):
            bound = (
                [n.target]
                if isinstance(n, ast.For | ast.AsyncFor | ast.NamedExpr | ast.AugAssign)
                else [i.optional_vars for i in n.items if i.optional_vars is not None]
            )
            if any(isinstance(t, ast.Name) and t.id == name for b in bound for t in ast.walk(b)):
                return []
    return values


def _clients_own(project: Project, func: FunctionInfo, expr: ast.expr, client: tuple[set[str], set[str]]) -> bool:
    """Does `expr` hold a value the client sent in this request: the value itself, or
    the same column of a row every assignment finds by it (`run = ...filter_by(token=token)`,
    then `run.token`)? Answering it back tells the client nothing it did not hold."""
    if _sent(expr, client):
        return True
    if not (isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name)):
        return False
    values = _local_values(func, expr.value.id)
    return bool(values) and all(_found_by(v, expr.attr, client) for v in values)


def issued_by_routes(project: Project, routes: list[Route], qualname: str, name: str) -> bool:
    """Does every route that answers with the model build it in its endpoint with a
    value of field `name` that the same request creates (`ExportQueued(token=job.token)`
    right after `job = ExportJob(...)`), or with the value the client sent in the
    request (`StatusOut(token=run.token)` where `run` was found `filter_by(token=token)`,
    the token the client polls with)? Then the route mints that token or key for
    the client that asked for it, like a login hands out its access token, or
    answers the client the value it already holds: nothing stored is exposed. A
    model that any route fills from stored data, or that is nested in another
    response, is still checked."""
    if not routes:
        return False
    for route in routes:
        func = route.endpoint
        if func is None:
            return False
        values = [
            k.value
            for call in own_nodes(func.node)
            if isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name | ast.Attribute)
            and project.resolve(func.module, call.func) == qualname
            for k in call.keywords
            if k.arg == name
        ]
        if not values:
            return False
        client: tuple[set[str], set[str]] | None = None
        for v in values:
            if _minted_in(project, func, v):
                continue
            if client is None:
                client = _client_values(project, func)
            if not _clients_own(project, func, v, client):
                return False
    return True


_FRAMEWORK_PARAMETERS = frozenset(
    {"Request", "Response", "BackgroundTasks", "SecurityScopes", "WebSocket", "HTTPConnection"}
)


def _answers_caller(project: Project, route: Route) -> bool:
    """Does the route answer the caller's own record: it takes no input from the
    client (no path parameter; every endpoint parameter is a dependency or the
    framework's, such as `Request`), and every value it returns is built from a
    dependency that gives a project object other than a Pydantic model (the
    authenticated user: `return current_user`, `user_with_creds(user)` with
    `user: UserModel = Depends(Authenticated())`)? A list route with no input
    returns what it reads through the session, not through the user."""
    func = route.endpoint
    if func is None or path_names(route):
        return False
    principals: set[str] = set()
    for param in parameters(project, func):
        qual = project.annotation_type(func.module, param.arg.annotation) or ""
        if param.kind in {"depends", "security"}:
            sym = project.lookup(qual)
            if isinstance(sym, ClassInfo) and model_class(project, qual) is None:
                principals.add(param.arg.arg)
        elif not (qual.startswith(("fastapi.", "starlette.")) and qual.rsplit(".", 1)[-1] in _FRAMEWORK_PARAMETERS):
            return False  # the client chooses what is answered
    returned = [n.value for n in own_nodes(func.node) if isinstance(n, ast.Return) and n.value is not None]
    return bool(principals) and bool(returned) and all(
        any(isinstance(n, ast.Name) and n.id in principals for n in ast.walk(value)) for value in returned
    )


def _field_path(project: Project, route: Route, target: ClassInfo) -> str | None:
    """The shortest chain of fields from the route's response model to `target`
    (`Run.run_spec.configuration.registry_auth`), or None when none shows."""
    roots = response_models(project, route)
    came_from: dict[str, tuple[str, str] | None] = {c.qualname: None for c in roots}
    names = {c.qualname: c.node.name for c in roots}
    queue = deque(roots)
    while queue and len(came_from) < 500:
        cls = queue.popleft()
        for owner, f in inherited_fields(project, cls):
            for sub in annotation_classes(project, owner.module, f.annotation):
                if sub.qualname in came_from or not is_model_class(project, sub):
                    continue
                came_from[sub.qualname] = (cls.qualname, f.name)
                if sub is target:
                    return _walk_back(came_from, names, sub.qualname)
                queue.append(sub)
    return None


def _walk_back(came_from: dict[str, tuple[str, str] | None], names: dict[str, str], qualname: str) -> str:
    """`Root.field.field` from the (holder, field) each class was reached by."""
    fields: list[str] = []
    step = came_from[qualname]
    while step is not None:
        qualname, name = step
        fields.append(name)
        step = came_from[qualname]
    return ".".join([names[qualname], *reversed(fields)])


def _excluded_by_route(route: Route, name: str) -> bool:
    value = route.keyword("response_model_exclude")
    if isinstance(value, ast.Set | ast.List | ast.Tuple):
        return any(isinstance(e, ast.Constant) and e.value == name for e in value.elts)
    if isinstance(value, ast.Dict):
        return any(isinstance(k, ast.Constant) and k.value == name for k in value.keys)
    return False


class SecretInResponseModel(Rule):
    """Flags a response model that carries a password, hash, secret, API key or token field.

    ## What it does
    Finds Pydantic models used as responses, through `response_model=`, a
    route's return annotation (also nested: `list[UserOut]`, a field of another
    response model), or by name (`*Out`, `*Response`, `*Read`, `*Public`,
    `*Output`), that declare or inherit a field named like a secret:
    `password`, `hashed_password`, `password_hash`, `salt`, `secret`,
    `client_secret`, `api_key`, `private_key`, `otp`, `token` and `*_token`.
    Its message says so when the same class is both the request body and the
    response model of a route: whatever the client sent, password included, is
    echoed back. Otherwise it names a route that answers the stored value: one
    that does not read the model in its body (`.../create` shows the client its
    own input), and, if there is one, that does not answer the caller's own
    record (`/users/me`, which takes no input from the client and returns what
    the authenticated-user dependency gives), but someone else's
    (`/users/{user_id}`). A model nested in that route's response model is
    said to be, with the fields that lead to it
    (`Run.run_spec.configuration.registry_auth`).

    Left alone: fields declared `Field(exclude=True)` or typed `SecretStr`
    (serialised masked), fields that a `@field_validator` / `@field_serializer`
    of the model (or of a base) replaces with a masked value (it returns
    `redact(v)`, `mask_secret(v)` or a `"***"` placeholder), fields a route
    drops with `response_model_exclude`, a field typed as a nested model that
    the class also uses for fields that are no secret (`username` and
    `password` both `FormField | None`: a form's label and placeholder for
    each input, not its value),
    token fields in a model that issues tokens (its name says `Token`, `Auth`,
    `Login`, `Session`..., or it has a `token_type` field), a secret in a
    model whose name announces it (`ApiKeyCreated.api_key`, shown once on
    creation) or says it hands out a new credential (a creation verb and a
    credential noun: `GenerateKeyResponse.token`), also when the field is
    inherited from such a model (`NewUserResponse(GenerateKeyResponse)`),
    SQLModel `Relationship()` attributes (no fields: a `File` response does not
    carry its `user`, nor the user's password), a module-private model no
    route answers with that the module parses a payload with
    (`TypeAdapter(_KeyResponse)`), and a token, key or secret that every route answering with the
    model creates in the same request and hands to its caller: the endpoint
    builds the model with a value drawn there (`secrets.token_urlsafe()`) or
    taken from the object it has just built (`job = ExportJob(...)`, then
    `ExportQueued(token=job.token)`, the handle a client polls a queued job
    with). So is a value the client sent in the request, answered back: the
    parameter itself, or the same column of the row the endpoint finds by it
    (`run = session.scalar(select(Run).filter_by(token=token))`, then
    `StatusOut(token=run.token)`: the client polls with that token). A route
    that fills the field from stored data (a row found by anything else, also
    by another table's column of the same name: `select(Run).join(Run.owner)
    .where(Owner.token == token)`, or a `filter_by(token=...)` after a join,
    which filters the joined table) is still flagged, and so are passwords and
    hashes. A key or token the field's
    own name ties to a session (`session_token`, `session_api_key`) is that
    session's handle, which its client sends to reach it, handed out like a
    login's access token; a session's `*_secret` (what signs its cookies) is
    the server's and stays flagged. Pagination tokens (`next_page_token`, `cursor_token`),
    version and change markers (`version_token`, an ETag) and idempotency
    tokens are not secrets, nor are a language model's vocabulary tokens and token counts
    (`eos_token`, `bos_token`, `pad_token`, `unk_token`, `*_token_id`,
    `max_tokens`, `token_count`, `num_tokens`).

    ## Why is this bad?
    A response model is a whitelist of what leaves the server: every field in
    it is serialised into every response. A password hash, an OTP seed or an
    API key in a `UserOut` is handed to anyone who can read a user, and stays
    in browser caches, logs and client apps. Reusing the input model as the
    output model is the usual way this happens (OWASP API3:2023, excessive
    data exposure).

    ## References
    - https://fastapi.tiangolo.com/tutorial/response-model/#add-an-output-model
    - https://fastapi.tiangolo.com/tutorial/extra-models/
    - https://docs.pydantic.dev/latest/concepts/serialization/#field-inclusion-and-exclusion
    - https://owasp.org/API-Security/editions/2023/en/0xa3-broken-object-property-level-authorization/
    """

    code = "FX312"
    name = "secret-in-response-model"
    summary = "A response model exposes a password, hash, secret, key or token field."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel

            app = FastAPI()

            class UserCreate(BaseModel):
                email: str
                password: str

            class UserOut(BaseModel):
                id: int
                email: str

            class Token(BaseModel):
                access_token: str
                token_type: str = "bearer"

            @app.post("/users", response_model=UserOut, status_code=201)
            def register(user: UserCreate):
                return {"id": 1, "email": user.email}

            @app.post("/token")
            def login(user: UserCreate) -> Token:
                return Token(access_token="jwt")
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel, Field, SecretStr

            app = FastAPI()

            class IntegrationRead(BaseModel):
                id: int
                api_key: SecretStr
                webhook_secret: str = Field(exclude=True)
                next_page_token: str | None = None

            @app.get("/integrations/{integration_id}")
            def get_integration(integration_id: int) -> IntegrationRead:
                ...
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel

            app = FastAPI()

            class ChatTemplate(BaseModel):
                eos_token: str | None = None
                bos_token: str | None = None
                pad_token: str | None = None
                unk_token: str | None = None

            class ServiceModel(BaseModel):
                name: str
                chat_template: ChatTemplate | None = None
                eos_token_id: int | None = None
                max_tokens: int = 4096

            class CompletionUsage(BaseModel):
                token_count: int
                num_tokens: list[int]

            @app.get("/models", response_model=list[ServiceModel])
            def list_models() -> list[ServiceModel]:
                return []

            @app.get("/usage", response_model=CompletionUsage)
            def usage() -> CompletionUsage:
                return CompletionUsage(token_count=0, num_tokens=[])
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel, ConfigDict, field_validator

            from app.masking import redact

            app = FastAPI()

            class DatasourceResponse(BaseModel):
                model_config = ConfigDict(from_attributes=True)
                name: str
                login: str | None
                password: str | None

                @field_validator("password", mode="after")
                @classmethod
                def hide_password(cls, v: str | None) -> str | None:
                    if v is None:
                        return None
                    return str(redact(v, "password"))

            @app.get("/datasources/{name}", response_model=DatasourceResponse)
            def get_datasource(name: str) -> DatasourceResponse:
                return DatasourceResponse(name=name, login="etl", password="s3cret")
            """,
            filename="app/main.py",
            files={
                "app/masking.py": """
                    def redact(value: str, key: str) -> str:
                        return "***"
                """
            },
        ),
        Valid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel

            app = FastAPI()

            class FormField(BaseModel):
                hidden: bool = False
                label: str | None = None
                placeholder: str | None = None

            class LoginFormFields(BaseModel):
                # how the form shows each input, not the values typed into it
                username: FormField | None = None
                password: "FormField | None" = None
                api_key: list[FormField] = []

            class ProviderForm(BaseModel):
                provider: str
                fields: LoginFormFields

            @app.get("/providers/forms")
            def provider_forms() -> list[ProviderForm]:
                return []
            """
        ),
        Valid(
            """
            import secrets

            from fastapi import FastAPI
            from pydantic import BaseModel

            app = FastAPI()

            class ExportJob:
                # the ORM row in a real service: its constructor draws the polling token
                def __init__(self, dataset: str) -> None:
                    self.dataset = dataset
                    self.state = "queued"
                    self.token = secrets.token_urlsafe(32)

            class ExportRequest(BaseModel):
                dataset: str

            class ExportQueued(BaseModel):
                token: str  # the handle this client polls its own job with
                state: str

            class ShareLink(BaseModel):
                url: str
                access_token: str

            @app.post("/exports", status_code=202)
            def enqueue_export(body: ExportRequest) -> ExportQueued:
                job = ExportJob(body.dataset)
                return ExportQueued(token=job.token, state=job.state)

            @app.post("/exports/{export_id}/share", status_code=201)
            def share_export(export_id: int) -> ShareLink:
                access_token = secrets.token_urlsafe(16)
                return ShareLink(url=f"/shared/{export_id}", access_token=access_token)
            """
        ),
        Valid(
            # A client polls the probe it queued with the token it was handed then: the row
            # is found by that very token, so answering it back tells the client nothing new.
            """
            from typing import Annotated

            from fastapi import Depends, FastAPI, Header, HTTPException
            from pydantic import BaseModel
            from sqlalchemy import select
            from sqlalchemy.orm import Session

            from app.db import get_session
            from app.models import ProbeRun

            app = FastAPI()

            class ProbeStatus(BaseModel):
                token: str
                target: str
                state: str

            class ProbeLookup(BaseModel):
                token: str

            @app.get("/probes/status")
            def probe_status(
                probe_token: Annotated[str, Header(alias="X-Probe-Token")],
                session: Session = Depends(get_session),
            ) -> ProbeStatus:
                probe = session.scalar(select(ProbeRun).filter_by(token=probe_token))
                if probe is None:
                    raise HTTPException(404, "no such probe")
                return ProbeStatus(token=probe.token, target=probe.target, state=probe.state)

            @app.post("/probes/status")
            def probe_status_post(body: ProbeLookup, session: Session = Depends(get_session)) -> ProbeStatus:
                probe = session.scalars(select(ProbeRun).where(ProbeRun.token == body.token)).one()
                return ProbeStatus(token=probe.token, target=probe.target, state=probe.state)
            """,
            filename="app/main.py",
        ),
        Valid(
            # The key of the user's own sandbox session, which the client sends to reach it:
            # a session's handle, handed out like a login's access token.
            """
            from fastapi import FastAPI
            from pydantic import BaseModel, Field

            app = FastAPI()

            class WorkspaceInfo(BaseModel):
                id: str
                url: str | None = None
                session_api_key: str | None = Field(default=None, description="Key for the workspace's REST API.")
                session_token: str | None = None

            @app.get("/workspaces/search")
            async def search_workspaces() -> list[WorkspaceInfo]:
                return []
            """
        ),
        Valid(
            # A version token for optimistic concurrency; a SQLModel `Relationship()`, which
            # is no field (the user and its password are never serialised with the file);
            # a model named for generating a key, and one that extends it; a private model
            # that only parses another service's reply.
            """
            import uuid

            from fastapi import FastAPI
            from pydantic import BaseModel, TypeAdapter
            from sqlmodel import Field, Relationship, SQLModel

            app = FastAPI()

            class User(SQLModel, table=True):
                id: int | None = Field(default=None, primary_key=True)
                password: str
                files: list["File"] = Relationship(back_populates="user")

            class File(SQLModel, table=True):
                id: int | None = Field(default=None, primary_key=True)
                name: str
                user_id: int = Field(foreign_key="user.id")
                user: User = Relationship(back_populates="files")

            class FlowVersionState(BaseModel):
                flow_id: uuid.UUID
                version_token: uuid.UUID | None

            class GenerateKeyResponse(BaseModel):
                key: str
                token: str | None = None

            class NewUserResponse(GenerateKeyResponse):
                user_id: str

            class _KeyResponse(BaseModel):
                token: str

            _KEY_RESPONSE = TypeAdapter(_KeyResponse)

            @app.get("/files")
            def list_files() -> list[File]:
                return []

            @app.get("/flows/{flow_id}/version-state")
            def version_state(flow_id: uuid.UUID) -> FlowVersionState:
                return FlowVersionState(flow_id=flow_id, version_token=uuid.uuid4())

            @app.post("/key/generate", response_model=GenerateKeyResponse)
            def generate_key(user_id: str):
                return {"key": "sk-new", "token": "hashed"}

            @app.post("/user/new", response_model=NewUserResponse)
            def new_user(user_id: str):
                return {"key": "sk-new", "token": "hashed", "user_id": user_id}
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel

            app = FastAPI()

            class UserBase(BaseModel):
                email: str

            class UserInDB(UserBase):
                id: int
                hashed_password: str

            @app.get("/users", response_model=list[UserInDB])
            def list_users():
                ...
            """,
            lines=(11,),
        ),
        Invalid(
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter()

            class User(BaseModel):
                username: str
                password: str
                otp_secret: str | None = None

            @router.post("/users", response_model=User)
            async def create_user(user: User):
                return user
            """,
            lines=(8, 9),
        ),
        Invalid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel, field_validator

            app = FastAPI()

            class AccountOut(BaseModel):
                email: str
                password: str

                @field_validator("password")
                @classmethod
                def long_enough(cls, v: str) -> str:
                    if len(v) < 12:
                        raise ValueError("too short")
                    return v.strip()

            @app.get("/accounts/me", response_model=AccountOut)
            def me():
                ...
            """,
            lines=(8,),
        ),
        Invalid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel

            app = FastAPI()

            class PrivateKeyConfig(BaseModel):
                path: str = ""
                content: str

            class ClusterConfig(BaseModel):
                name: str
                host: str
                private_key: PrivateKeyConfig  # the nested model carries the key itself

            @app.get("/clusters")
            def list_clusters() -> list[ClusterConfig]:
                return []
            """,
            lines=(13,),
        ),
        Invalid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel

            from app.jobs import ExportJob, load_job

            app = FastAPI()

            class ExportStatus(BaseModel):
                token: str
                state: str

            @app.post("/exports", status_code=202)
            def enqueue_export(dataset: str) -> ExportStatus:
                job = ExportJob(dataset)
                return ExportStatus(token=job.token, state=job.state)

            @app.get("/exports/{export_id}")
            def get_export(export_id: int) -> ExportStatus:
                # any reader of the job gets the token of whoever queued it
                job = load_job(export_id)
                return ExportStatus(token=job.token, state=job.state)
            """,
            lines=(9,),
            files={
                "app/jobs.py": """
                    import secrets

                    class ExportJob:
                        def __init__(self, dataset: str) -> None:
                            self.dataset = dataset
                            self.state = "queued"
                            self.token = secrets.token_urlsafe(32)

                    def load_job(export_id: int) -> ExportJob:
                        return ExportJob(str(export_id))
                """,
            },
        ),
        Invalid(
            # The `create` route answers the config it was just sent; the `config` route
            # loads the stored one, secret included: the message names that route.
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            from app.store import load_config

            router = APIRouter(prefix="/integrations")

            class OAuthAppCreds(BaseModel):
                client_id: str
                client_secret: str

            class IntegrationConfig(BaseModel):
                kind: str
                creds: OAuthAppCreds

            @router.post("/create", response_model=IntegrationConfig)
            def create_integration(body: IntegrationConfig):
                return body

            @router.post("/{kind}/config", response_model=IntegrationConfig)
            def integration_config(kind: str):
                return load_config(kind)
            """,
            lines=(10,),
        ),
        Invalid(
            # Near misses: a row found by another value answers a token the client never
            # sent, and a session's signing secret is the server's, not the session's handle.
            """
            from fastapi import Depends, FastAPI
            from pydantic import BaseModel
            from sqlalchemy import select
            from sqlalchemy.orm import Session

            from app.db import get_session
            from app.models import ProbeRun

            app = FastAPI()

            class ProbeStatus(BaseModel):
                token: str
                state: str

            class SessionSettingsOut(BaseModel):
                cookie_name: str
                session_secret: str

            @app.get("/probes/by-target")
            def probe_by_target(target: str, session: Session = Depends(get_session)) -> ProbeStatus:
                probe = session.scalar(select(ProbeRun).filter_by(target=target))
                return ProbeStatus(token=probe.token, state=probe.state)

            @app.get("/settings/session")
            def session_settings() -> SessionSettingsOut:
                ...
            """,
            lines=(12, 17),
            filename="app/main.py",
        ),
        Invalid(
            # Near misses: the probe is found by its owner's token, a column of another
            # table (and a `filter_by` after a join filters the joined table): the probe's
            # own token is not the value the client sent.
            """
            from typing import Annotated

            from fastapi import Depends, FastAPI, Header
            from pydantic import BaseModel
            from sqlalchemy import select
            from sqlalchemy.orm import Session

            from app.db import get_session
            from app.models import Owner, ProbeRun

            app = FastAPI()

            class ProbeStatus(BaseModel):
                token: str
                state: str

            class ProbeTicket(BaseModel):
                token: str
                target: str

            @app.get("/probes/mine")
            def my_probe(
                owner_token: Annotated[str, Header(alias="X-Owner-Token")],
                session: Session = Depends(get_session),
            ) -> ProbeStatus:
                probe = session.scalar(select(ProbeRun).join(ProbeRun.owner).where(Owner.token == owner_token))
                return ProbeStatus(token=probe.token, state=probe.state)

            @app.get("/probes/mine/ticket")
            def my_ticket(
                token: Annotated[str, Header(alias="X-Owner-Token")],
                session: Session = Depends(get_session),
            ) -> ProbeTicket:
                probe = session.scalar(select(ProbeRun).join(ProbeRun.owner).filter_by(token=token))
                return ProbeTicket(token=probe.token, target=probe.target)
            """,
            lines=(14, 18),
            filename="app/main.py",
        ),
        Invalid(
            # The user's own key, answered to them by `/me`, and anyone's, answered to an
            # admin by `/users/{user_id}`: the message names the second route.
            """
            from fastapi import Depends, FastAPI
            from pydantic import BaseModel
            from sqlalchemy.orm import Session

            from app.auth import current_user
            from app.db import get_session
            from app.models import Account

            app = FastAPI()

            class AccountWithCreds(BaseModel):
                name: str
                ssh_private_key: str | None = None

            @app.post("/users/me", response_model=AccountWithCreds)
            def get_me(user: Account = Depends(current_user)):
                return user

            @app.post("/users/{user_id}", response_model=AccountWithCreds)
            def get_account(user_id: int, session: Session = Depends(get_session), user: Account = Depends(current_user)):
                return session.get(Account, user_id)
            """,
            lines=(13,),
            filename="app/main.py",
            files={"app/models.py": "class Account:\n    name: str\n    ssh_private_key: str | None\n"},
        ),
    )

    def visit_ClassDef(self, node: ast.ClassDef, ctx: FileContext) -> None:
        project, module = ctx.project, ctx.module
        if not is_model_node(project, module, node):
            return
        info = class_info(module, node)
        used = usage(project)
        routes: list[Route] = used.response.get(info.qualname, []) if info is not None else []
        if not routes and not named_like_output(node.name):
            return
        if not routes and node.name.startswith("_") and _parsed_in_module(module, node.name):
            # a module-private model no route answers with, that the module reads a
            # payload with (another service's reply): named like an output, but not one
            return
        fields: list[tuple[ClassInfo | None, FieldDef]] = (
            list(inherited_fields(project, info)) if info is not None else [(None, f) for f in own_fields(project, module, node)]
        )
        words = _words(node.name)
        issues_tokens = bool(words & _TOKEN_CONTEXT) or any(f.name == "token_type" for _, f in fields)
        echo = self._echo_route(used.direct_request, used.direct_response, info)
        # The route the message names: one that does not read the model in its body
        # too, if any. A route that answers what it was just sent (`POST .../create`
        # returning its body) shows the client its own input; a route that loads the
        # stored value (`.../config_info`) is where it leaks.
        inputs = {id(r) for r in used.request.get(info.qualname, [])} if info is not None else set()
        # Among those, one that does not answer the caller's own record (`get_my_user`,
        # the user's own key), if any: another route shows someone else's.
        outputs = [r for r in routes if id(r) not in inputs]
        shown = next(
            (r for r in outputs if not _answers_caller(project, r)),
            outputs[0] if outputs else routes[0] if routes else None,
        )
        masked: set[str] | None = None
        seen: set[str] = set()
        for owner, f in fields:
            if f.name in seen:
                continue
            seen.add(f.name)
            is_secret, word = secret_kind(f.name)
            if not is_secret:
                continue
            if word == "token" and issues_tokens:
                continue
            if word is not None and (word in words or _issues_credentials(words)):
                continue
            if word is not None and owner is not None and owner is not info:
                # inherited from a model named for handing it out (`NewUserResponse`
                # extends `GenerateKeyResponse`, whose `token` the new key is)
                owner_words = _words(owner.node.name)
                if word in owner_words or _issues_credentials(owner_words):
                    continue
            owner_module = owner.module if owner is not None else module
            if _field_hidden(project, owner_module, f):
                continue
            if _describes_fields(project, fields, owner_module, f):
                continue
            if masked is None:
                masked = masked_fields(project, module, node, info)
            if f.name in masked:
                continue
            if routes and all(_excluded_by_route(r, f.name) for r in routes):
                continue
            if word is not None and info is not None and issued_by_routes(project, routes, info.qualname, f.name):
                continue
            where: ast.AST = f.stmt
            if owner is not None and owner is not info:
                where = self._base_expr(ctx, node, owner) or node
            if echo is not None:
                message = (
                    f"`{node.name}` is both the request body and the response model of `{describe_route(echo)}`, "
                    f"so the `{f.name}` a client sends is echoed back; use a separate output model without it."
                )
            else:
                via = self._via(project, shown, info, used.direct_response)
                inherited = f" (inherited from `{owner.node.name}`)" if owner is not None and owner is not info else ""
                message = (
                    f"`{node.name}` is {via} and exposes `{f.name}`{inherited} to clients; "
                    f"remove it from the response model or mark it `Field(exclude=True)`."
                )
            ctx.report(where, message)

    @staticmethod
    def _via(project: Project, shown: Route | None, info: ClassInfo | None, direct: dict[str, list[Route]]) -> str:
        """How the model reaches the route the message names: as its response model,
        or nested in it, with the fields that lead there (`Run.run_spec.configuration
        .registry_auth`): a reader does not find a nested model in the route's
        `response_model=`."""
        if shown is None:
            return "named as a response model"
        route = describe_route(shown)
        if info is None or any(r is shown for r in direct.get(info.qualname, [])):
            return f"the response model of `{route}`"
        path = _field_path(project, shown, info)
        return f"nested in the response model of `{route}`" + (f" (`{path}`)" if path else "")

    @staticmethod
    def _echo_route(
        requests: dict[str, list[Route]], responses: dict[str, list[Route]], info: ClassInfo | None
    ) -> Route | None:
        if info is None:
            return None
        inputs = requests.get(info.qualname, [])
        return next((r for r in responses.get(info.qualname, []) if r in inputs), None)

    @staticmethod
    def _base_expr(ctx: FileContext, node: ast.ClassDef, owner: ClassInfo) -> ast.expr | None:
        for base in node.bases:
            expr = base.value if isinstance(base, ast.Subscript) else base
            if not isinstance(expr, ast.Name | ast.Attribute):
                continue
            sym = ctx.project.lookup(ctx.resolve(expr))
            if isinstance(sym, ClassInfo) and (sym is owner or owner.qualname in ctx.project.class_bases(sym)):
                return base
        return None

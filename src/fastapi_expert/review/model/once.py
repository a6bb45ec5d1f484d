"""Code that runs once per process, which the event-loop search does not follow.

A blocking call that runs once per process (the first call of a cached function,
the lazy start of a shared server) stalls the loop once, at start-up, not every
request: the same judgement as the lazy singletons the performance rules accept.
Two shapes are recognised:

- a plain function without parameters under `functools.cache`/`lru_cache`
  (`runs_once`);
- a block guarded by a flag that the block itself sets, when the flag lives as
  long as the process (`once_per_process_calls`): a `global`/`nonlocal` name, a
  class attribute (`cls._client`), or an attribute of `self` in a class whose
  instances are shared (its `__new__`, or its metaclass's `__call__`, answers
  from a cache kept on the class):

      def start(self):
          if not self.running:        # SubprocessServer() is one per port
              self.running = True
              wait_until_healthy()    # time.sleep() polling: once

  The test may also let a caller ask for the block again through a parameter
  that defaults to `False` (`if _plugins is not None and not reload: return
  _plugins`): called with the default, the block still runs once.
  `once_switches` names such parameters, so that a caller that turns one on
  can be followed into the block.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from fastapi_expert.review.model.module import (
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    own_nodes_of,
    parameter_defaults,
)
from fastapi_expert.review.model.project import positional_parameters

if TYPE_CHECKING:
    from fastapi_expert.review.model.project import Project

# Caches whose wrapped function, called without arguments, runs its body once
# per process and then answers from memory.
_ONCE_PER_PROCESS = frozenset({"functools.lru_cache", "functools.cache"})


def runs_once(func: FunctionInfo) -> bool:
    """Does the function's body run at most once per process: a plain function
    without parameters, or a classmethod whose other parameters all have
    defaults (settings, not keys: `_get_token_signer(cls, expiration=None)`),
    wrapped in `functools.cache`/`lru_cache`? A method is cached per instance,
    and a function with a required parameter per argument, so neither is. What
    it does once, a blocking read of a file at the first call, stalls no later
    call: the event-loop search does not follow it."""
    node = func.node
    args = node.args
    if args.vararg or args.kwarg:
        return False
    decorators = [d.func if isinstance(d, ast.Call) else d for d in node.decorator_list]
    names = {func.module.resolve(d) for d in decorators if isinstance(d, ast.Name | ast.Attribute)}
    if not names & _ONCE_PER_PROCESS:
        return False
    positional = [*args.posonlyargs, *args.args]
    if func.class_name is None:
        return not positional and not args.kwonlyargs
    if not any(isinstance(d, ast.Name) and d.id == "classmethod" for d in decorators):
        return False
    # `cls` first; every other parameter defaulted (keyword-only ones too)
    required_positional = len(positional) - len(args.defaults)
    required_keyword = sum(1 for default in args.kw_defaults if default is None)
    return required_positional <= 1 and required_keyword == 0


def once_per_process_calls(project: Project, func: FunctionInfo) -> frozenset[ast.Call]:
    """The calls of `func` that sit in a block run only while a process-wide flag
    is unset, when that block sets the flag:

        if not self.running: ... self.running = True ...     (shared instance)
        if _client is None: ... _client = ...                 (`global _client`)
        if cls._ready: return ...   then the rest sets cls._ready
        if _plugins is not None and not reload: return ...   (`reload=False`)

    Kept on the function node: the answer reads only the function and its class."""
    return _once(project, func)[0]


def once_switches(project: Project, func: FunctionInfo) -> frozenset[str]:
    """The parameters of `func`, each defaulting to `False`, that a guard of
    `once_per_process_calls` lets a caller turn on to run its block again
    (`reload`, `force`): a call passing one runs the block every time."""
    return _once(project, func)[1]


def turns_on_switch(project: Project, caller: ModuleInfo, callee: FunctionInfo, call: ast.Call) -> bool:
    """Does `call` (made in `caller`) pass one of `callee`'s `once_switches` a value
    that is not a false constant (`reload=True`, or a variable that may be true)? Then
    the block `once_per_process_calls` names runs on this call."""
    switches = once_switches(project, callee)
    if not switches:
        return False
    passed = [(keyword.arg, keyword.value) for keyword in call.keywords]
    if call.args:
        positional = call.args
        starred = next((index for index, arg in enumerate(positional) if isinstance(arg, ast.Starred)), None)
        if starred is not None:
            positional = positional[:starred]  # past `*args`, which parameter gets what is unknown
        passed.extend(zip(positional_parameters(project, caller, callee, call), positional, strict=False))
    return any(name in switches and not (isinstance(value, ast.Constant) and not value.value) for name, value in passed)


def _once(project: Project, func: FunctionInfo) -> tuple[frozenset[ast.Call], frozenset[str]]:
    cached: tuple[frozenset[ast.Call], frozenset[str]] | None = getattr(func.node, "_fx_once", None)
    if cached is not None:
        return cached
    regions: list[ast.stmt] = []
    switches: set[str] = set()
    if own_nodes_of(func.node, ast.If):  # most functions test nothing: spare them the class questions
        keys = _KeyReader(project, func)
        if keys.possible:
            _guarded_blocks(func.node.body, keys, regions, switches)
    out: set[ast.Call] = set()
    if regions:
        spans = [(r.lineno, r.col_offset, r.end_lineno or r.lineno, r.end_col_offset or 0) for r in regions]
        for call in own_nodes_of(func.node, ast.Call):
            start = (call.lineno, call.col_offset)
            if any((a, b) <= start <= (c, d) for a, b, c, d in spans):
                out.add(call)
    found = (frozenset(out), frozenset(switches))
    holder: ast.AST = func.node
    holder._fx_once = found  # type: ignore[attr-defined]
    return found


class _KeyReader:
    """Reads the process-wide flags a function can test: `global`/`nonlocal`
    names, attributes of its class (through `cls` or the class's name) and, in a
    shared-instance class, attributes of `self`."""

    def __init__(self, project: Project, func: FunctionInfo) -> None:
        node = func.node
        self.module = func.module
        self.names = _declared_globals(node)
        # Module globals the function only reads: a block can still set one
        # through a function of the module that declares it `global`
        # (`if not CONFIG: setup()`, where `setup` assigns CONFIG).
        bound = {n.id for n in own_nodes_of(node, ast.Name) if isinstance(n.ctx, ast.Store)}
        self.switches = _false_switches(node) - bound
        bound.update(a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs))
        self.read_globals = set(func.module.assignments) - bound
        self.owners: set[str] = set()  # receivers whose attributes live as long as the process
        cls = project.lookup(func.class_name) if func.class_name else None
        if isinstance(cls, ClassInfo):
            self.owners.add(cls.node.name)
            first = _first_parameter(node)
            decorators = {d.id for d in node.decorator_list if isinstance(d, ast.Name)}
            shared = "classmethod" in decorators or _shares_instances(project, cls)
            if first is not None and "staticmethod" not in decorators and shared:
                self.owners.add(first)
        self.possible = bool(self.names or self.read_globals or self.owners)

    def key(self, expr: ast.expr) -> str | None:
        if isinstance(expr, ast.Name):
            return expr.id if expr.id in self.names or expr.id in self.read_globals else None
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id in self.owners:
            return f"{expr.value.id}.{expr.attr}"
        return None

    def unset(self, test: ast.expr) -> set[str]:
        """Flags a test requires unset: `not F`, `F is None`, `F == None`, also
        within `and` (an `or` lets the block run again on its other operand,
        unless that operand is a switch left off by default: `F is None or
        reload`)."""
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
            return {k for value in test.values for k in self.unset(value)}
        if isinstance(test, ast.BoolOp):
            return self._one_flag_besides_switches(test.values, self.unset, on=True)
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            key = self.key(test.operand)
            return {key} if key else set()
        if _compares_to_none(test, (ast.Is, ast.Eq)):
            assert isinstance(test, ast.Compare)
            key = self.key(test.left)
            return {key} if key else set()
        return set()

    def present(self, test: ast.expr) -> set[str]:
        """Flags a test requires set: `F`, `F is not None`, also with switches
        that must be off (`F is not None and not reload`)."""
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
            return self._one_flag_besides_switches(test.values, self.present, on=False)
        key = self.key(test)
        if key:
            return {key}
        if _compares_to_none(test, (ast.IsNot, ast.NotEq)):
            assert isinstance(test, ast.Compare)
            key = self.key(test.left)
            return {key} if key else set()
        return set()

    def _one_flag_besides_switches(
        self, operands: list[ast.expr], flags_of: Callable[[ast.expr], set[str]], on: bool
    ) -> set[str]:
        """The flags of the one operand that tests a flag, when every other one
        tests a switch (`reload` when `on`, else `not reload`). Two flags would
        both have to be set for the test to settle, and any other operand
        (`key in _cache`) makes it a test per argument: neither is once."""
        flags: set[str] = set()
        for operand in operands:
            if self.switch(operand, on) is not None:
                continue
            found = flags_of(operand)
            if not found or flags:
                return set()
            flags = found
        return flags

    def switch(self, test: ast.expr, on: bool) -> str | None:
        """The switch parameter `test` reads: `reload` (`on`) or `not reload`."""
        if not on:
            if not (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)):
                return None
            test = test.operand
        return test.id if isinstance(test, ast.Name) and test.id in self.switches else None

    def switches_in(self, test: ast.expr, on: bool) -> set[str]:
        """The switches that make a guard run its block again: those turned on
        in an `or` that runs it (`F is None or reload`), or required off in an
        `and` that skips it (`F is not None and not reload`). (A switch that
        must be off for the block to run, `F is None and not dry_run`, asks for
        nothing again.)"""
        joins = ast.Or if on else ast.And
        if not (isinstance(test, ast.BoolOp) and isinstance(test.op, joins)):
            return set()
        return {name for value in test.values if (name := self.switch(value, on))}

    def assigned(self, stmts: list[ast.stmt]) -> set[str]:
        """Flags the statements set (anywhere in them, nested blocks included):
        assigned, filled (`FLAG.update(...)`, `FLAG[k] = v`: an empty container
        is the unset state), or set by a function of the module that they call."""
        out: set[str] = set()
        for node in _statements(stmts):
            for target in _set_targets(node):
                key = self.key(target)
                if key:
                    out.add(key)
            if self.read_globals:
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.expr):
                        out.update(self._set_by_calls(child))
        return out

    def _set_by_calls(self, expr: ast.expr) -> set[str]:
        out: set[str] = set()
        for call in ast.walk(expr):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
                callee = self.module.functions.get(call.func.id)
                if callee is not None:
                    out.update(_globals_set_by(callee.node) & self.read_globals)
        return out


def _guarded_blocks(stmts: list[ast.stmt], keys: _KeyReader, out: list[ast.stmt], switches: set[str]) -> None:
    """Adds to `out` the statements that run only while a flag is unset and set
    it, and to `switches` the switch parameters of the guards that let them in."""
    for index, stmt in enumerate(stmts):
        if isinstance(stmt, ast.If):
            unset = keys.unset(stmt.test)
            if unset and unset & keys.assigned(stmt.body):
                out.extend(stmt.body)
                switches.update(keys.switches_in(stmt.test, on=True))
            else:
                _guarded_blocks(stmt.body, keys, out, switches)
            present = keys.present(stmt.test)
            rest = stmts[index + 1 :]
            if present and stmt.body and isinstance(stmt.body[-1], ast.Return | ast.Raise) and present & keys.assigned(rest):
                # `if self._started: return` guards everything after it
                out.extend(rest)
                switches.update(keys.switches_in(stmt.test, on=False))
                return
            _guarded_blocks(stmt.orelse, keys, out, switches)
        elif isinstance(stmt, ast.With | ast.AsyncWith | ast.For | ast.AsyncFor | ast.While):
            _guarded_blocks(stmt.body, keys, out, switches)
            _guarded_blocks(stmt.orelse if not isinstance(stmt, ast.With | ast.AsyncWith) else [], keys, out, switches)
        elif isinstance(stmt, ast.Try):
            for block in (stmt.body, *(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody):
                _guarded_blocks(block, keys, out, switches)


def _statements(stmts: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of a block and of the blocks nested in it, not entering
    functions or classes defined there (their code runs when called)."""
    stack = list(reversed(stmts))
    while stack:
        stmt = stack.pop()
        yield stmt
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for child in reversed(list(ast.iter_child_nodes(stmt))):
            if isinstance(child, ast.stmt):
                stack.append(child)
            elif isinstance(child, ast.ExceptHandler | ast.match_case):
                stack.extend(reversed(child.body))


def _declared_globals(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names: set[str] = set()
    for declared in own_nodes_of(node, ast.Global):
        names.update(declared.names)
    for nonlocal_ in own_nodes_of(node, ast.Nonlocal):
        names.update(nonlocal_.names)
    return names


# Methods that fill a container: after one, a flag tested with `not FLAG` is set.
_FILLING = frozenset({"update", "append", "extend", "add", "insert", "setdefault"})


def _set_targets(stmt: ast.stmt) -> list[ast.expr]:
    """The expressions a statement sets: assignment targets, and the container
    of `X[k] = v` or of a filling call `X.update(...)`."""
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, ast.AnnAssign | ast.AugAssign) and stmt.value is not None:
        targets = [stmt.target]
    elif (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and isinstance(stmt.value.func, ast.Attribute)
        and stmt.value.func.attr in _FILLING
    ):
        return [stmt.value.func.value]
    else:
        return []
    return [t.value if isinstance(t, ast.Subscript) else t for t in targets]


def _globals_set_by(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Module globals a function sets: those it declares `global` and assigns,
    and those it fills without binding the name locally."""
    declared = _declared_globals(node)
    bound = {n.id for n in own_nodes_of(node, ast.Name) if isinstance(n.ctx, ast.Store)}
    out: set[str] = set()
    for stmt in _statements(node.body):
        for target in _set_targets(stmt):
            if isinstance(target, ast.Name) and (target.id in declared or target.id not in bound):
                out.add(target.id)
    return out


def _compares_to_none(test: ast.expr, ops: tuple[type[ast.cmpop], ...]) -> bool:
    return (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ops)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value is None
    )


def _false_switches(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Parameters that default to `False`: switches a caller turns on
    (`reload=True`) to ask for what the function otherwise does once."""
    return {
        name
        for name, default in parameter_defaults(node).items()
        if isinstance(default, ast.Constant) and default.value is False
    }


def _first_parameter(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    positional = [*node.args.posonlyargs, *node.args.args]
    return positional[0].arg if positional else None


def _shares_instances(project: Project, cls: ClassInfo) -> bool:
    """Does constructing the class hand back a kept instance: a `__new__` (of it
    or a project base) or a metaclass `__call__` that returns from a cache kept
    on the class (`return cls._instances[port]`, `return cls._instance`)?"""
    known: bool | None = getattr(cls.node, "_fx_shares_instances", None)
    if known is None:
        known = _answers_from_class_cache(project, cls)
        holder: ast.AST = cls.node
        holder._fx_shares_instances = known  # type: ignore[attr-defined]
    return known


def _answers_from_class_cache(project: Project, cls: ClassInfo) -> bool:
    new = project.find_method(cls, "__new__")
    if new is not None and _returns_from_class(new):
        return True
    for keyword in cls.node.keywords:
        if keyword.arg != "metaclass" or not isinstance(keyword.value, ast.Name | ast.Attribute):
            continue
        meta = project.lookup(cls.module.resolve(keyword.value))
        if isinstance(meta, ClassInfo):
            call = project.find_method(meta, "__call__")
            if call is not None and _returns_from_class(call):
                return True
    return False


def _returns_from_class(method: FunctionInfo) -> bool:
    owner = _first_parameter(method.node)
    returns = [r for r in own_nodes_of(method.node, ast.Return) if r.value is not None]
    if owner is None or not returns:
        return False
    for ret in returns:
        value = ret.value
        if not isinstance(value, ast.Attribute | ast.Subscript):
            return False
        while isinstance(value, ast.Attribute | ast.Subscript):
            value = value.value
        if not (isinstance(value, ast.Name) and value.id == owner):
            return False
    return True

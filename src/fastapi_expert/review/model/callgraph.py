"""The project call graph and the fact "runs on the event loop".

An `async def` always runs on the event loop. A plain `def` runs there too when
an `async def` (or a function already on the loop) calls it directly; it does
not when it is handed to a thread (`run_in_threadpool`, `asyncio.to_thread`,
`anyio.to_thread.run_sync`), and FastAPI runs sync routes and dependencies in
its threadpool by itself, so those are never roots.
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi_expert.review.model.blocking import Blocking, blocking_call, cheap_metadata_call
from fastapi_expert.review.model.module import FunctionInfo, own_nodes_of, parameter_defaults
from fastapi_expert.review.model.once import once_per_process_calls, runs_once, turns_on_switch
from fastapi_expert.review.model.project import positional_parameters

if TYPE_CHECKING:
    from fastapi_expert.review.model.project import Project

# Parameters bound to the string constant (or `None`) the call that leads into a
# function passes (`get_secret("OPENAI_API_KEY")`, a default left in place),
# limited to those the function tests or passes on: a branch that cannot run for
# that constant (`if secret_name.startswith("oidc/"):`) is not searched for a
# blocking call.
# A name holds one constant, or one of several (`tuple`): the loop variable of
# `for name in ("A_KEY", "B_KEY"):` (a test decides only when all agree).
Value = str | tuple[str | None, ...] | None
Constants = frozenset[tuple[str, Value]]


class _Unknown:
    """The value of an expression that is no constant."""


_UNKNOWN = _Unknown()
_NO_CONSTANTS: Constants = frozenset()


@dataclass(frozen=True, slots=True)
class CallSite:
    caller: FunctionInfo
    node: ast.Call
    target: str | None
    callee: FunctionInfo | None


@dataclass(frozen=True, slots=True)
class BlockingPath:
    """Call sites from a sync function down to the call that blocks."""

    steps: tuple[CallSite, ...]
    blocking: Blocking

    @property
    def final(self) -> CallSite:
        return self.steps[-1]


class CallGraph:
    def __init__(self, project: Project) -> None:
        self.project = project
        # Call sites are resolved when first asked for: "runs on the event loop"
        # needs those of the functions reachable from an `async def`, the rules
        # those of the functions they look at; a forked worker resolves what its
        # files need (in parallel with the others) instead of the parent
        # resolving every call of the project before forking.
        self._sites: dict[ast.AST, list[CallSite]] = {}
        self._complete = False
        self.by_qualname: dict[str, FunctionInfo] = {}
        for func in project.all_functions():
            self.by_qualname[func.qualname] = func
        self._callable_names = _callable_names(project)
        # Keyed by (function, forced, constants): see `blocking_path`.
        self._blocking_memo: dict[tuple[ast.AST, bool, Constants], BlockingPath | None] = {}
        self.on_loop_via: dict[ast.AST, CallSite | None] = self._loop_reachability()

    @property
    def sites(self) -> dict[ast.AST, list[CallSite]]:
        """The call sites of every function of the project, by function node."""
        if not self._complete:
            for func in self.project.all_functions():
                self.sites_of(func)
            self._complete = True
        return self._sites

    def _call_sites(self, func: FunctionInfo) -> list[CallSite]:
        # A function handed to a thread (`run_in_threadpool(f)`) is an argument,
        # not a call, so it has no site here; a call inside the arguments
        # (`run_in_threadpool(f())`) runs here and has one.
        out: list[CallSite] = []
        loopless = _without_running_loop(func)
        for node in own_nodes_of(func.node, ast.Call):
            if node in loopless:
                continue
            target = self.project.call_target(func.module, func, node)
            callee = self.by_qualname.get(target) if target else None
            out.append(CallSite(func, node, target, callee))
        return out

    def _project_calls(self, func: FunctionInfo) -> list[CallSite]:
        """The sites of `func` that call a project function, in order.

        The event-loop search needs only these, and three calls in four are to
        libraries: a call whose written name (`f` of `f()`, `m` of `x.m()`) is
        no project function, class or imported name cannot resolve to a project
        function (a resolved name ends with the written one, except through an
        import alias or a class's `__init__`), so it is not resolved here; the
        rules that need its target resolve it in the worker that reviews its file."""
        known = self._sites.get(func.node)
        if known is not None:
            return [site for site in known if site.callee is not None]
        names = self._callable_names
        out: list[CallSite] = []
        loopless = _without_running_loop(func)
        for node in own_nodes_of(func.node, ast.Call):
            if node in loopless:
                continue
            callee_expr = node.func
            if callee_expr.__class__ is ast.Attribute:
                written = callee_expr.attr
            elif callee_expr.__class__ is ast.Name:
                written = callee_expr.id
            else:
                continue  # `f()()`, `handlers[k]()`: never resolved to a target
            if written not in names:
                continue
            target = self.project.call_target(func.module, func, node)
            callee = self.by_qualname.get(target) if target else None
            if callee is not None:
                out.append(CallSite(func, node, target, callee))
        return out

    def sites_of(self, func: FunctionInfo) -> list[CallSite]:
        found = self._sites.get(func.node)
        if found is None:
            found = self._sites[func.node] = self._call_sites(func)
        return found

    def _loop_reachability(self) -> dict[ast.AST, CallSite | None]:
        via: dict[ast.AST, CallSite | None] = {}
        queue: deque[FunctionInfo] = deque()
        for func in self.by_qualname.values():
            if func.is_async:
                via[func.node] = None
                queue.append(func)
        while queue:
            func = queue.popleft()
            for site in self._project_calls(func):
                callee = site.callee
                if callee is None or callee.is_async or callee.node in via:
                    continue
                via[callee.node] = site
                queue.append(callee)
        return via

    def runs_on_loop(self, func: FunctionInfo) -> bool:
        return func.node in self.on_loop_via

    def blocking_path(
        self, func: FunctionInfo, *, forced: bool = False, constants: Constants = _NO_CONSTANTS
    ) -> BlockingPath | None:
        """The first blocking call a sync function makes, directly or through
        other sync project functions; the same whichever function is asked first.
        `forced`: the call turns on a switch of the function's once-per-process
        guard (`load_plugins(reload=True)`), so the guarded block counts too.
        `constants`: the parameters the call binds to a string constant
        (`call_constants`): a branch that cannot run for them is not searched."""
        if func.is_async:
            return None
        return self._path(func, set(), {}, forced, constants)[0]

    def turns_on_switch(self, site: CallSite) -> bool:
        """Does this call run its callee's once-per-process block again?"""
        callee = site.callee
        return callee is not None and turns_on_switch(self.project, site.caller.module, callee, site.node)

    def call_constants(self, site: CallSite, known: Constants = _NO_CONSTANTS) -> Constants:
        """The callee's tested parameters that this call binds to a string
        constant: a literal (`get_secret("REDIS_URL")`), a module-level constant
        (`get_secret(REDIS_URL_ENV)`), or a parameter of the caller that `known`
        binds (`get_secret_str(name)` passing its own constant on)."""
        callee = site.callee
        if callee is None:
            return _NO_CONSTANTS
        tested = self._bindable_parameters(callee)
        if not tested:
            return _NO_CONSTANTS
        call = site.node
        passed = [(keyword.arg, keyword.value) for keyword in call.keywords if keyword.arg in tested]
        positional = call.args
        starred = next((index for index, arg in enumerate(positional) if isinstance(arg, ast.Starred)), None)
        if starred is not None:
            positional = positional[:starred]  # past `*args`, which parameter gets what is unknown
        names = positional_parameters(self.project, site.caller.module, callee, call)
        if callee.name == "__init__" and names[:1] == ["self"] and not isinstance(call.func, ast.Attribute):
            names = names[1:]  # `Client("x")` constructs: Python passes the new `self`
        passed.extend((name, value) for name, value in zip(names, positional, strict=False) if name in tested)
        if starred is None and all(keyword.arg is not None for keyword in call.keywords):
            # Every argument is accounted for: a tested parameter left out holds
            # its default (`Reader("API_KEY")` keeps `mode="env"`).
            given = {name for name, _ in passed} | {keyword.arg for keyword in call.keywords}
            given.update(names[: len(positional)])
            passed.extend(
                (name, default)
                for name, default in parameter_defaults(callee.node).items()
                # a literal only: a named default is read in the callee's module
                if name in tested and name not in given and isinstance(default, ast.Constant)
            )
        out: list[tuple[str, Value]] = []
        for name, value in passed:
            constant = self._constant_value(site.caller, value, known)
            if name is not None and not isinstance(constant, _Unknown):
                out.append((name, constant))
        return frozenset(out)

    def _bindable_parameters(self, func: FunctionInfo) -> frozenset[str]:
        """The parameters worth binding to a constant: those the function tests
        (`_tested_parameters`) and those it passes on, as they are, to a call that
        may reach a project function (`get_secret_str(name)` handing `name` to
        `get_secret`, which tests it). Any other parameter decides nothing, and
        leaving it unbound lets calls with different constants share one answer.
        Kept on the node."""
        cached: frozenset[str] | None = getattr(func.node, "_fx_bindable_parameters", None)
        if cached is not None:
            return cached
        args = func.node.args
        parameters = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
        found = set(_tested_parameters(func))
        names = self._callable_names
        for call in own_nodes_of(func.node, ast.Call):
            callee = call.func
            written = callee.attr if isinstance(callee, ast.Attribute) else callee.id if isinstance(callee, ast.Name) else None
            if written not in names:
                continue
            for value in (*call.args, *(keyword.value for keyword in call.keywords)):
                if isinstance(value, ast.Name) and value.id in parameters:
                    found.add(value.id)
        out = frozenset(found)
        holder: ast.AST = func.node
        holder._fx_bindable_parameters = out  # type: ignore[attr-defined]
        return out

    def _constant_value(self, caller: FunctionInfo, value: ast.expr, known: Constants) -> Value | _Unknown:
        if isinstance(value, ast.Constant):
            return _literal(value)
        if not isinstance(value, ast.Name):
            return _UNKNOWN
        name = value.id
        for bound, constant in known:
            if bound == name:
                return constant
        if name in _local_names(caller):
            # a parameter or a variable of the caller: any value, unless it only
            # walks a sequence of constants (`for _, env in _ENV_NAMES`)
            return self._loop_values(caller, name)
        found = self._module_constant(caller, value)
        return _literal(found) if isinstance(found, ast.Constant) else _UNKNOWN

    def _module_constant(self, caller: FunctionInfo, name: ast.Name) -> ast.expr | None:
        """What a module-level `NAME = ...` that `name` resolves to assigns."""
        found = self.project.lookup(self.project.resolve(caller.module, name))
        return found[1] if isinstance(found, tuple) else None

    def _loop_values(self, caller: FunctionInfo, name: str) -> Value | _Unknown:
        """The strings a local takes when every assignment to it is the target of a
        loop or comprehension over a literal sequence of constants (or of tuples
        of them), written in place or as a module-level constant."""
        found: list[str | None] = []
        sources = _loop_sources(caller)
        for target, _ in _stores(caller).get(name, []):
            source = sources.get(id(target))
            if source is None:
                return _UNKNOWN
            sequence, position = source
            if isinstance(sequence, ast.Name):
                sequence = self._module_constant(caller, sequence) or sequence
            if not isinstance(sequence, ast.Tuple | ast.List):
                return _UNKNOWN
            for element in sequence.elts:
                item = element
                if position is not None:
                    if not isinstance(element, ast.Tuple) or len(element.elts) <= position:
                        return _UNKNOWN
                    item = element.elts[position]
                held = _literal(item) if isinstance(item, ast.Constant) else _UNKNOWN
                if isinstance(held, _Unknown | tuple):
                    return _UNKNOWN
                found.append(held)
        return tuple(dict.fromkeys(found)) if found else _UNKNOWN

    def _path(
        self,
        func: FunctionInfo,
        active: set[ast.AST],
        provisional: dict[tuple[ast.AST, bool, Constants], BlockingPath | None],
        forced: bool = False,
        constants: Constants = _NO_CONSTANTS,
    ) -> tuple[BlockingPath | None, bool]:
        """The path from `func`, and whether it is provisional: found while a
        cycle was cut at a function still being searched (`active`). Only final
        answers are memoised for good: a provisional "no path" for B, found while
        A -> B -> A was cut at A, is wrong when B is asked on its own (B -> A ->
        C -> requests.get), and would make findings depend on the order of the
        questions (and differ between one process and several). Provisional
        answers are kept for the current question only."""
        node = func.node
        key = (node, forced, constants)
        if key in self._blocking_memo:
            return self._blocking_memo[key], False
        if key in provisional:
            return provisional[key], True
        if node in active:
            return None, True  # a cycle: cut here
        active.add(node)
        result, unsure = self._search(func, active, provisional, forced, constants)
        active.discard(node)
        if unsure:
            provisional[key] = result
        else:
            self._blocking_memo[key] = result
        return result, unsure

    def _search(
        self,
        func: FunctionInfo,
        active: set[ast.AST],
        provisional: dict[tuple[ast.AST, bool, Constants], BlockingPath | None],
        forced: bool,
        constants: Constants,
    ) -> tuple[BlockingPath | None, bool]:
        sites = self.sites_of(func)
        once = frozenset[ast.Call]() if forced else once_per_process_calls(self.project, func)
        if once:
            sites = [site for site in sites if site.node not in once]
        if constants:
            dead, constants = _dead_calls(func, constants)
            if dead:
                sites = [site for site in sites if site.node not in dead]
        if len(sites) > 1:
            sites = _in_source_order(func, sites)
        checks: list[tuple[CallSite, Blocking]] = []
        for site in sites:
            fact = blocking_call(site.target)
            if fact is None:
                continue
            if _kernel_file(site.node):
                continue
            if not cheap_metadata_call(site.target) and not _ensures_directory(func, site):
                return BlockingPath((site,), fact), False
            checks.append((site, fact))
        if checks:
            # A project function the path goes to is searched below, and a call
            # of the tables has been judged above; another library call may read
            # the file where no table can see it.
            library = [site for site in sites if site.callee is None and blocking_call(site.target) is None]
            for site, fact in checks:
                reader = _reads_checked_path(site.node, library)
                if reader is not None:
                    # Named by the call that loads the file when its name is known
                    # (`networkx.read_graphml`), else by the check.
                    return BlockingPath((reader if reader.target is not None else site,), fact), False
        unsure = False
        for site in sites:
            if site.callee is None or site.callee.is_async or runs_once(site.callee):
                continue
            below, below_unsure = self._path(
                site.callee, active, provisional, self.turns_on_switch(site), self.call_constants(site, constants)
            )
            unsure = unsure or below_unsure
            if below is not None:
                return BlockingPath((site, *below.steps), below.blocking), unsure
        return None, unsure


# -- file-system checks ----------------------------------------------------------------

# Calls that take a path without reading the file: handing the checked path to
# one of these is no read. (Any other call the path goes to, a library's
# `nx.read_graphml(path)` or `ctx.load_verify_locations(path)`, may read it.)
_NOT_A_READ = frozenset(
    {
        # metadata queries themselves
        "exists", "is_file", "is_dir", "isfile", "isdir", "stat", "getsize", "getmtime", "lexists",
        # path arithmetic
        "Path", "PurePath", "join", "dirname", "basename", "abspath", "expanduser", "normpath",
        "relpath", "splitext", "split", "resolve", "with_suffix", "with_name", "joinpath",
        # builtins, text and logging
        "str", "repr", "len", "bool", "isinstance", "print", "format", "append", "next", "iter",
        "list", "tuple", "set", "sorted", "any", "all", "min", "max", "getattr", "hasattr", "hash",
        "debug", "info", "warning", "warn", "error", "exception", "critical", "log",
    }
)


# The kernel's own file systems: what they hold is made in memory when read.
_KERNEL_FILES = ("/proc/", "/sys/")


def _kernel_file(call: ast.Call) -> bool:
    """Does the call open a file of `/proc` or `/sys` (`open(f"/proc/{pid}/stat")`,
    `Path("/sys/fs/cgroup/cpu.max").read_text()`)? The kernel answers from memory:
    no disk is read."""
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    if isinstance(receiver, ast.Call) and not call.args:
        call = receiver  # `Path("/proc/...").read_text()`
    path = call.args[0] if call.args else None
    if isinstance(path, ast.JoinedStr):
        path = path.values[0] if path.values else None
    return isinstance(path, ast.Constant) and isinstance(path.value, str) and path.value.startswith(_KERNEL_FILES)


# Calls that create a directory: after the first call, one that leaves an existing
# directory alone (`exist_ok=True`, or inside `if not os.path.exists(d):`) is one
# cheap system call, like a metadata query.
_DIRECTORY_CREATES = frozenset({"os.makedirs", "os.mkdir", "pathlib.Path.mkdir"})
_DIRECTORY_CHECKS = frozenset({"exists", "isdir", "is_dir", "lexists"})


def _checked_path(call: ast.Call) -> ast.expr | None:
    """The path a file-system call is about: `p` of `os.path.exists(p)`, `p.exists()`."""
    if isinstance(call.func, ast.Attribute) and not call.args:
        return call.func.value
    return call.args[0] if call.args else None


def _ensures_directory(func: FunctionInfo, site: CallSite) -> bool:
    """Does the call create a directory only when it is missing: `exist_ok=True`,
    or guarded by a test that the directory exists (`if not d.exists(): d.mkdir()`)?"""
    if site.target not in _DIRECTORY_CREATES:
        return False
    call = site.node
    for keyword in call.keywords:
        if keyword.arg == "exist_ok":
            return isinstance(keyword.value, ast.Constant) and bool(keyword.value.value)
    path = _checked_path(call)
    if path is None:
        return False
    wanted = ast.dump(path)
    start = (call.lineno, call.col_offset)
    for test in own_nodes_of(func.node, ast.If):
        body = test.body
        if not ((body[0].lineno, body[0].col_offset) <= start <= (body[-1].end_lineno or 0, body[-1].end_col_offset or 0)):
            continue
        for check in ast.walk(test.test):
            if (
                isinstance(check, ast.Call)
                and isinstance(check.func, ast.Attribute)
                and check.func.attr in _DIRECTORY_CHECKS
                and (checked := _checked_path(check)) is not None
                and ast.dump(checked) == wanted
            ):
                return True
    return False


def _reads_checked_path(check: ast.Call, sites: list[CallSite]) -> CallSite | None:
    """The first of these library calls that the path a metadata query checks
    (`os.path.exists(p)`, `p.is_file()`, `d.mkdir(exist_ok=True)`) is then handed
    to, and which may read it (`nx.read_graphml(p)`, `ctx.load_verify_locations(p)`).
    The check alone is one cheap system call; the check of a file that a library
    then loads, where the tables cannot see it, marks that load."""
    checked = _checked_path(check)
    if not isinstance(checked, ast.Name | ast.Attribute):
        return None  # a literal path (`"/.dockerenv"`) or a built one: nothing else names it
    wanted = ast.dump(checked)
    after = (check.lineno, check.col_offset)
    for site in sites:
        call = site.node
        if (call.lineno, call.col_offset) <= after:
            continue  # a call before the check (`resolve(path)`) reads nothing it checked
        callee = call.func
        written = callee.attr if isinstance(callee, ast.Attribute) else callee.id if isinstance(callee, ast.Name) else None
        if written in _NOT_A_READ:
            continue
        values = [*call.args, *(keyword.value for keyword in call.keywords)]
        if any(isinstance(value, ast.Name | ast.Attribute) and ast.dump(value) == wanted for value in values):
            return site
    return None


# -- branches a constant argument rules out --------------------------------------------


def _tested_parameters(func: FunctionInfo) -> frozenset[str]:
    """The parameters an `if` of the function tests in a shape a string constant
    decides (`p.startswith("oidc/")`, `p == "azure"`, `p in ("a", "b")`, `not p`).
    Most functions test none: their callers bind nothing, and their answers are
    shared by every call. Kept on the node."""
    cached: frozenset[str] | None = getattr(func.node, "_fx_tested_parameters", None)
    if cached is not None:
        return cached
    found: set[str] = set()
    tests = own_nodes_of(func.node, ast.If)
    if tests:
        args = func.node.args
        parameters = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
        for statement in tests:
            _decidable_names(statement.test, parameters, found)
    out = frozenset(found)
    holder: ast.AST = func.node
    holder._fx_tested_parameters = out  # type: ignore[attr-defined]
    return out


def _decidable_names(test: ast.expr, parameters: set[str], out: set[str]) -> None:
    if isinstance(test, ast.BoolOp):
        for value in test.values:
            _decidable_names(value, parameters, out)
    elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        _decidable_names(test.operand, parameters, out)
    else:
        subject = _subject(test)
        if subject is not None and subject in parameters:
            out.add(subject)


def _subject(test: ast.expr) -> str | None:
    """The name a simple test is about: `p` of `p`, `p.startswith(...)`, `p == "x"`."""
    if isinstance(test, ast.Name):
        return test.id
    if (
        isinstance(test, ast.Call)
        and isinstance(test.func, ast.Attribute)
        and test.func.attr in _STRING_TESTS
        and isinstance(test.func.value, ast.Name)
    ):
        return test.func.value.id
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name):
        return test.left.id
    return None


_STRING_TESTS = frozenset({"startswith", "endswith"})


def _decide(test: ast.expr, values: dict[str, Value]) -> bool | None:
    """The value of an `if` test when the names in `values` hold those strings,
    or None when it depends on anything else."""
    if isinstance(test, ast.BoolOp):
        outcomes = [_decide(value, values) for value in test.values]
        decisive = isinstance(test.op, ast.Or)  # `or` is decided by a True, `and` by a False
        if decisive in outcomes:
            return decisive
        return None if None in outcomes else not decisive
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _decide(test.operand, values)
        return None if inner is None else not inner
    subject = _subject(test)
    if subject is None or subject not in values:
        return None
    held = values[subject]
    if isinstance(held, tuple):
        agreed = {_decide_one(test, alternative) for alternative in held}
        return agreed.pop() if len(agreed) == 1 else None
    return _decide_one(test, held)


def _decide_one(test: ast.expr, text: str | None) -> bool | None:
    """A simple test (`_subject`) when its name holds `text`."""
    if isinstance(test, ast.Name):
        return bool(text)
    if text is None:
        if isinstance(test, ast.Compare):
            return _compare_none(test.ops[0], test.comparators[0])
        return None  # `None.startswith(...)` raises: not ours to decide
    if isinstance(test, ast.Call):
        affixes = _strings(test.args[0]) if len(test.args) == 1 and not test.keywords else None
        if affixes is None:
            return None
        method = text.startswith if test.func.attr == "startswith" else text.endswith  # type: ignore[attr-defined]
        return method(tuple(affixes))
    if isinstance(test, ast.Compare):
        return _compare(text, test.ops[0], test.comparators[0])
    return None


def _compare_none(op: ast.cmpop, other: ast.expr) -> bool | None:
    """`p is None`, `p == "x"`, `p in (...)` for a `p` that holds `None`."""
    if isinstance(op, ast.Is | ast.IsNot) and isinstance(other, ast.Constant) and other.value is None:
        return isinstance(op, ast.Is)
    if isinstance(op, ast.Eq | ast.NotEq) and isinstance(other, ast.Constant) and isinstance(other.value, str):
        return isinstance(op, ast.NotEq)
    return None


def _literal(node: ast.Constant) -> str | _Unknown | None:
    return node.value if node.value is None or isinstance(node.value, str) else _UNKNOWN


def _compare(text: str, op: ast.cmpop, other: ast.expr) -> bool | None:
    if isinstance(op, ast.Is | ast.IsNot):
        if isinstance(other, ast.Constant) and other.value is None:
            return isinstance(op, ast.IsNot)  # a string is never None
        return None
    if isinstance(op, ast.Eq | ast.NotEq):
        if isinstance(other, ast.Constant) and isinstance(other.value, str):
            return (text == other.value) == isinstance(op, ast.Eq)
        return None
    if isinstance(op, ast.In | ast.NotIn) and isinstance(other, ast.Tuple | ast.List | ast.Set):
        options = _strings(other)
        if options is None:
            return None
        return (text in options) == isinstance(op, ast.In)
    return None


def _strings(expr: ast.expr) -> list[str] | None:
    """The strings a literal string, or a literal tuple/list/set of them, holds."""
    if isinstance(expr, ast.Constant):
        return [expr.value] if isinstance(expr.value, str) else None
    if isinstance(expr, ast.Tuple | ast.List | ast.Set):
        out: list[str] = []
        for element in expr.elts:
            if not (isinstance(element, ast.Constant) and isinstance(element.value, str)):
                return None
            out.append(element.value)
        return out
    return None


def _dead_calls(func: FunctionInfo, constants: Constants) -> tuple[frozenset[ast.Call], Constants]:
    """The calls of `func` in branches that cannot run for these constants, and
    the names that hold a constant throughout (passed on to its callees): a parameter the function assigns again
    in code that can run holds something else after that, so it decides
    nothing (assigned only in a branch ruled out, `if name.startswith("env/"):
    name = name[4:]`, it keeps its value). A local variable that every
    assignment left standing sets to one constant decides too
    (`path = None` when the `if config_file is not None:` that would set it
    another way is ruled out)."""
    parameters = dict(constants)
    stores = _stores(func)
    # A `global`/`nonlocal` name may be set by other code between two lines.
    shared = {name for node in own_nodes_of(func.node, ast.Global) for name in node.names}
    shared.update(name for node in own_nodes_of(func.node, ast.Nonlocal) for name in node.names)
    values: dict[str, Value] = dict(parameters)
    inside: set[int] = set()
    for _ in range(4):  # each round may rule out more; a few settle every case seen
        dead = _dead_statements(func.node.body, values)
        inside = {id(node) for statement in dead for node in ast.walk(statement)}
        settled: dict[str, Value] = {}
        for name, assigned in stores.items():
            live = [value for target, value in assigned if id(target) not in inside]
            if name in parameters:
                if not live:
                    settled[name] = parameters[name]
            elif live and len(set(live)) == 1 and name not in shared:
                first = live[0]
                if not isinstance(first, _Unknown):
                    settled[name] = first
        settled.update((name, value) for name, value in parameters.items() if name not in stores)
        if settled == values:
            break
        values = settled
    if not values:
        return frozenset(), _NO_CONSTANTS
    calls = frozenset(call for call in own_nodes_of(func.node, ast.Call) if id(call) in inside)
    return calls, frozenset(values.items())


def _loop_sources(func: FunctionInfo) -> dict[int, tuple[ast.expr, int | None]]:
    """The loop and comprehension targets of the function, by node id: the
    sequence walked and, for a target in a tuple (`for key, env in pairs`), its
    position. Kept on the node."""
    cached: dict[int, tuple[ast.expr, int | None]] | None = getattr(func.node, "_fx_loop_sources", None)
    if cached is not None:
        return cached
    out: dict[int, tuple[ast.expr, int | None]] = {}
    loops: list[tuple[ast.expr, ast.expr]] = [(loop.target, loop.iter) for loop in own_nodes_of(func.node, ast.For)]
    loops.extend((walk.target, walk.iter) for walk in own_nodes_of(func.node, ast.comprehension))
    for target, sequence in loops:
        if isinstance(target, ast.Name):
            out[id(target)] = (sequence, None)
        elif isinstance(target, ast.Tuple):
            for position, element in enumerate(target.elts):
                if isinstance(element, ast.Name):
                    out[id(element)] = (sequence, position)
    holder: ast.AST = func.node
    holder._fx_loop_sources = out  # type: ignore[attr-defined]
    return out


def _stores(func: FunctionInfo) -> dict[str, list[tuple[ast.AST, str | _Unknown | None]]]:
    """Every name the function assigns, with each assigning node and the constant
    it assigns (`_UNKNOWN` for anything else: a call, a loop target, `+=`).
    Kept on the node."""
    cached: dict[str, list[tuple[ast.AST, str | _Unknown | None]]] | None = getattr(func.node, "_fx_stores", None)
    if cached is not None:
        return cached
    constant_targets: dict[int, str | _Unknown | None] = {}
    for statement in own_nodes_of(func.node, ast.Assign):
        if len(statement.targets) == 1 and isinstance(statement.value, ast.Constant):
            constant_targets[id(statement.targets[0])] = _literal(statement.value)
    for annotated in own_nodes_of(func.node, ast.AnnAssign):
        if isinstance(annotated.value, ast.Constant):
            constant_targets[id(annotated.target)] = _literal(annotated.value)
    out: dict[str, list[tuple[ast.AST, str | _Unknown | None]]] = {}
    for name in own_nodes_of(func.node, ast.Name):
        if not isinstance(name.ctx, ast.Load):
            out.setdefault(name.id, []).append((name, constant_targets.get(id(name), _UNKNOWN)))
    holder: ast.AST = func.node
    holder._fx_stores = out  # type: ignore[attr-defined]
    return out


def _dead_statements(stmts: list[ast.stmt], values: dict[str, Value]) -> list[ast.stmt]:
    """The statements of a block that cannot run for these values: the branch of
    an `if` its test rules out, and what follows an `if` that always returns or
    raises (`if not name.startswith("oidc/"): return os.environ.get(name)`)."""
    out: list[ast.stmt] = []
    for index, stmt in enumerate(stmts):
        if isinstance(stmt, ast.If):
            outcome = _decide(stmt.test, values)
            if outcome is False:
                out.extend(stmt.body)
                out.extend(_dead_statements(stmt.orelse, values))
                continue
            if outcome is True:
                out.extend(stmt.orelse)
                out.extend(_dead_statements(stmt.body, values))
                if stmt.body and isinstance(stmt.body[-1], ast.Return | ast.Raise):
                    out.extend(stmts[index + 1 :])
                    return out
                continue
            out.extend(_dead_statements(stmt.body, values))
            out.extend(_dead_statements(stmt.orelse, values))
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            out.extend(_dead_statements(stmt.body, values))
        elif isinstance(stmt, ast.For | ast.AsyncFor | ast.While):
            out.extend(_dead_statements(stmt.body, values))
            out.extend(_dead_statements(stmt.orelse, values))
        elif isinstance(stmt, ast.Try):
            for block in (stmt.body, *(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody):
                out.extend(_dead_statements(block, values))
    return out


def _local_names(func: FunctionInfo) -> frozenset[str]:
    """The names a function binds itself: its parameters and the names it assigns.
    Kept on the node."""
    cached: frozenset[str] | None = getattr(func.node, "_fx_local_names", None)
    if cached is not None:
        return cached
    args = func.node.args
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    if args.vararg is not None:
        names.add(args.vararg.arg)
    if args.kwarg is not None:
        names.add(args.kwarg.arg)
    names.update(name.id for name in own_nodes_of(func.node, ast.Name) if not isinstance(name.ctx, ast.Load))
    out = frozenset(names)
    holder: ast.AST = func.node
    holder._fx_local_names = out  # type: ignore[attr-defined]
    return out


def _without_running_loop(func: FunctionInfo) -> frozenset[ast.Call]:
    """The calls in an `except RuntimeError:` of a `try` that asks for the running
    loop (`asyncio.get_running_loop()`): the handler runs only when this thread
    has no loop running, so nothing in it runs on one (the sync bridge's
    `try: get_running_loop() ... except RuntimeError: return asyncio.run(coro)`).
    Kept on the node."""
    cached: frozenset[ast.Call] | None = getattr(func.node, "_fx_without_loop", None)
    if cached is not None:
        return cached
    found: set[ast.Call] = set()
    for statement in own_nodes_of(func.node, ast.Try):
        asks = any(
            isinstance(node, ast.Call)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None))
            == "get_running_loop"
            for stmt in statement.body
            for node in ast.walk(stmt)
        )
        if not asks:
            continue
        for handler in statement.handlers:
            if _catches_runtime_error(handler.type):
                found.update(node for stmt in handler.body for node in ast.walk(stmt) if isinstance(node, ast.Call))
    out = frozenset(found)
    holder: ast.AST = func.node
    holder._fx_without_loop = out  # type: ignore[attr-defined]
    return out


def _catches_runtime_error(kind: ast.expr | None) -> bool:
    if isinstance(kind, ast.Tuple):
        return any(_catches_runtime_error(element) for element in kind.elts)
    return isinstance(kind, ast.Name) and kind.id == "RuntimeError"


def _in_source_order(func: FunctionInfo, sites: list[CallSite]) -> list[CallSite]:
    """The sites in the order they are written, those inside an `except` handler
    last: the path names the blocking call that runs on every call (the write of
    `write_atomically`, not the clean-up `os.unlink` of its error branch)."""
    handlers = [
        (h.lineno, h.col_offset, h.end_lineno or h.lineno, h.end_col_offset or 0)
        for h in own_nodes_of(func.node, ast.ExceptHandler)
    ]

    def key(site: CallSite) -> tuple[bool, int, int]:
        where = (site.node.lineno, site.node.col_offset)
        return any((a, b) <= where <= (c, d) for a, b, c, d in handlers), where[0], where[1]

    return sorted(sites, key=key)


def _callable_names(project: Project) -> frozenset[str]:
    """Every name a call to a project function can be written with: the names
    of its functions and classes, and every name its imports bind."""
    names: set[str] = set()
    for module in project.modules:
        names.update(f.node.name for f in module.all_functions)
        names.update(module.classes)  # only these are looked up, and then called through `__init__`
        for local in module.imports:
            names.update(local.split("."))
    return frozenset(names)

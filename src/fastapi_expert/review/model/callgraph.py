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

from fastapi_expert.review.model.blocking import Blocking, blocking_call
from fastapi_expert.review.model.module import FunctionInfo, own_nodes_of
from fastapi_expert.review.model.once import once_per_process_calls, runs_once, turns_on_switch

if TYPE_CHECKING:
    from fastapi_expert.review.model.project import Project


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
        # Keyed by (function, forced): see `blocking_path`.
        self._blocking_memo: dict[tuple[ast.AST, bool], BlockingPath | None] = {}
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
        for node in own_nodes_of(func.node, ast.Call):
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
        for node in own_nodes_of(func.node, ast.Call):
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

    def blocking_path(self, func: FunctionInfo, *, forced: bool = False) -> BlockingPath | None:
        """The first blocking call a sync function makes, directly or through
        other sync project functions; the same whichever function is asked first.
        `forced`: the call turns on a switch of the function's once-per-process
        guard (`load_plugins(reload=True)`), so the guarded block counts too."""
        if func.is_async:
            return None
        return self._path(func, set(), {}, forced)[0]

    def turns_on_switch(self, site: CallSite) -> bool:
        """Does this call run its callee's once-per-process block again?"""
        callee = site.callee
        return callee is not None and turns_on_switch(self.project, site.caller.module, callee, site.node)

    def _path(
        self,
        func: FunctionInfo,
        active: set[ast.AST],
        provisional: dict[tuple[ast.AST, bool], BlockingPath | None],
        forced: bool = False,
    ) -> tuple[BlockingPath | None, bool]:
        """The path from `func`, and whether it is provisional: found while a
        cycle was cut at a function still being searched (`active`). Only final
        answers are memoised for good: a provisional "no path" for B, found while
        A -> B -> A was cut at A, is wrong when B is asked on its own (B -> A ->
        C -> requests.get), and would make findings depend on the order of the
        questions (and differ between one process and several). Provisional
        answers are kept for the current question only."""
        node = func.node
        key = (node, forced)
        if key in self._blocking_memo:
            return self._blocking_memo[key], False
        if key in provisional:
            return provisional[key], True
        if node in active:
            return None, True  # a cycle: cut here
        active.add(node)
        result, unsure = self._search(func, active, provisional, forced)
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
        provisional: dict[tuple[ast.AST, bool], BlockingPath | None],
        forced: bool,
    ) -> tuple[BlockingPath | None, bool]:
        sites = self.sites_of(func)
        once = frozenset[ast.Call]() if forced else once_per_process_calls(self.project, func)
        if once:
            sites = [site for site in sites if site.node not in once]
        if len(sites) > 1:
            sites = _in_source_order(func, sites)
        for site in sites:
            fact = blocking_call(site.target)
            if fact is not None:
                return BlockingPath((site,), fact), False
        unsure = False
        for site in sites:
            if site.callee is None or site.callee.is_async or runs_once(site.callee):
                continue
            below, below_unsure = self._path(site.callee, active, provisional, self.turns_on_switch(site))
            unsure = unsure or below_unsure
            if below is not None:
                return BlockingPath((site, *below.steps), below.blocking), unsure
        return None, unsure


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

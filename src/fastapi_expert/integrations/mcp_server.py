"""`fastapi-expert mcp`: the expert as a Model Context Protocol server (stdio).

Built on the official SDK's `MCPServer` (mcp 2.x). Every tool is read-only
and returns structured data:

    review_code    review a snippet or a set of files given as text
    review_path    review a file or folder under the server's root
    explain_rule   a rule's documentation (why, example, fix, references)
    list_rules     the catalogue
    search_guides  the guides and rules that answer a question
    read_guide     one guide, whole or one section
    audit_app      import and probe the live app (`fastapi-expert audit`), when installed

Resources: every guide (`fastapi-expert://guides/SLUG`) and every rule's
docs (`fastapi-expert://rules/CODE`). Prompt: `fastapi_review`.

A failing call — missing or wrong arguments, an unknown rule or guide, a path
outside the root — returns `isError: true` with `structuredContent`
`{"error": {"type", "message", ...}}`; the server keeps serving. In stdio mode
stdout is the protocol: nothing else is ever printed there (the SDK logs to
stderr).

No `from __future__ import annotations` here: the SDK reads the tools'
annotations at runtime to build their JSON schemas.
"""

import argparse
import inspect
import json
import logging
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.resources import TextResource
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import Field, ValidationError
from typing_extensions import TypedDict

from fastapi_expert import __version__
from fastapi_expert.config import Config, find_config_file, load_config
from fastapi_expert.errors import ConfigError, FastAPIExpertError, UsageError
from fastapi_expert.knowledge.guides import Guide, find_guide, load_guides, suggest
from fastapi_expert.review import catalogue
from fastapi_expert.review.discovery import discover
from fastapi_expert.review.engine import (
    InputFile,
    ReviewResult,
    enabled_rules,
    read_file,
    review_sources,
    run_review,
)
from fastapi_expert.review.reporters.summary import summary
from fastapi_expert.review.selection import validate_selectors
from fastapi_expert.review.source import MAX_FILE_BYTES

logger = logging.getLogger("fastapi_expert.mcp")

GUIDE_URI = "fastapi-expert://guides/{slug}"
RULE_URI = "fastapi-expert://rules/{code}"
MAX_SNIPPET_FILES = 200
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

INSTRUCTIONS = """\
fastapi-expert reviews FastAPI code the way an experienced backend engineer does:
architecture and dependency injection, async correctness, Pydantic models, security,
performance, tests and API design. Its findings are deterministic and each names a rule
(FX201, ...) with a documented why and fix.

Verify before you recommend: review the code (review_code for text, review_path for
files under the project root), read the rule behind each finding (explain_rule), and
look up how to do a task right (search_guides, then read_guide). Cite rule codes and
guide slugs in what you tell the user."""


# --- structured outputs ------------------------------------------------------


class ReviewOutput(TypedDict):
    findings: list[dict[str, Any]]
    summary: dict[str, Any]


class RuleDoc(TypedDict):
    code: str
    name: str
    area: int
    area_title: str
    severity: str
    fixable: bool
    default_enabled: bool
    summary: str
    markdown: str
    uri: str


class RuleList(TypedDict):
    rules: list[dict[str, Any]]


class SearchHit(TypedDict):
    kind: str
    key: str
    title: str
    summary: str
    score: float
    section: str
    excerpt: str
    uri: str


class SearchOutput(TypedDict):
    query: str
    hits: list[SearchHit]


class GuideOutput(TypedDict):
    slug: str
    title: str
    summary: str
    sections: list[str]
    markdown: str
    uri: str


# --- errors ------------------------------------------------------------------


class ToolCallError(ToolError):
    """A failure the caller can fix, reported as `{"error": {...}}`."""

    def __init__(self, kind: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details = details


def error_result(kind: str, message: str, **details: Any) -> CallToolResult:
    error: dict[str, Any] = {"type": kind, "message": message, **details}
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps({"error": error}, ensure_ascii=False))],
        structured_content={"error": error},
        is_error=True,
    )


class ExpertServer(MCPServer[Any]):
    """`MCPServer` whose failed tool calls carry a structured error."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        known = [t.name for t in await self.list_tools()]
        if name not in known:
            return error_result("unknown_tool", f"no tool is called '{name}'", suggestions=_close(name, known))
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ToolCallError):
                return error_result(cause.kind, cause.message, **cause.details)
            if isinstance(cause, ValidationError):
                problems = [
                    {"argument": ".".join(str(p) for p in err["loc"]) or "(arguments)", "problem": err["msg"]}
                    for err in cause.errors()
                ]
                listed = "; ".join(f"{p['argument']}: {p['problem']}" for p in problems)
                return error_result("invalid_arguments", f"{name}: {listed}", problems=problems)
            if isinstance(cause, ConfigError):
                return error_result("config_error", str(cause))
            if isinstance(cause, FastAPIExpertError):
                return error_result("invalid_arguments", str(cause))
            if isinstance(exc, UnexpectedToolError):
                logger.error("tool %s crashed", name, exc_info=cause or exc)
                return error_result("internal_error", f"{name} failed unexpectedly; the server logged the details")
            return error_result("tool_error", str(exc))


def _close(word: str, options: list[str], n: int = 3) -> list[str]:
    import difflib

    return difflib.get_close_matches(word, options, n=n, cutoff=0.5)


# --- the tools' logic (plain functions, tested through the protocol) ---------


def _config(base: Config, select: list[str] | None, ignore: list[str] | None) -> Config:
    try:
        if select:
            validate_selectors(select, "select")
            base.select = tuple(select)
        if ignore:
            validate_selectors(ignore, "ignore")
            base.ignore = (*base.ignore, *ignore)
    except ConfigError as exc:  # a bad argument here, not a bad pyproject.toml
        raise ToolCallError("invalid_arguments", str(exc)) from exc
    if not enabled_rules(base):
        raise ToolCallError("invalid_arguments", "the selection enables no rule")
    return base


def _output(result: ReviewResult) -> ReviewOutput:
    return {"findings": [f.to_dict() for f in result.findings], "summary": summary(result)}


def review_code_impl(
    code: str | None, filename: str, files: Mapping[str, str] | None, select: list[str] | None, ignore: list[str] | None
) -> ReviewOutput:
    if (code is None) == (files is None):
        raise ToolCallError("invalid_arguments", "give either `code` (one snippet) or `files` ({path: text}), not both or neither")
    sources: dict[str, str] = dict(files) if files is not None else {filename or "snippet.py": code or ""}
    if not sources:
        raise ToolCallError("invalid_arguments", "`files` is empty")
    if len(sources) > MAX_SNIPPET_FILES:
        raise ToolCallError("invalid_arguments", f"at most {MAX_SNIPPET_FILES} files per call; use review_path for a project")
    for path, text in sources.items():
        if not path.strip() or path.startswith(("/", "\\")) or ".." in Path(path).parts:
            raise ToolCallError("invalid_arguments", f"`{path}`: a file name must be a relative path inside the snippet")
        if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
            raise ToolCallError("invalid_arguments", f"`{path}` is over the {MAX_FILE_BYTES:,}-byte limit")
    return _output(review_sources(sources, _config(Config(), select, ignore)))


def resolve_under(root: Path, path: str) -> Path:
    """`path` (relative to root, or absolute) resolved; refused when outside root."""
    candidate = Path(path).expanduser()
    target = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if target != root and root not in target.parents:
        raise ToolCallError("path_outside_root", f"`{path}` is outside the server's root {root}", root=str(root))
    if not target.exists():
        raise ToolCallError("not_found", f"`{path}`: no such file or directory under {root}", root=str(root))
    return target


def review_path_impl(root: Path, path: str, select: list[str] | None, ignore: list[str] | None) -> ReviewOutput:
    target = resolve_under(root, path)
    config_file = find_config_file(target)
    if config_file is not None and root not in config_file.resolve().parents:
        config_file = None  # a pyproject.toml above the root is not this project's
    base = load_config(config_file) if config_file is not None else Config(root=root)
    config = _config(base, select, ignore)
    inputs: list[InputFile] = []
    skipped: list[str] = []
    for found in discover([target], config, cwd=root):
        resolved = found.path.resolve()
        if resolved != root and root not in resolved.parents:
            skipped.append(found.display)  # a symlink that leads out of the root
            continue
        text, error = read_file(found.path)
        inputs.append(InputFile(found.display, found.module, text, error))
    output = _output(run_review(inputs, config))
    if skipped:
        output["summary"]["skipped_outside_root"] = skipped
    return output


def rule_markdown(entry: catalogue.Entry) -> str:
    state = "on by default" if entry.default_enabled else "off by default"
    return (
        f"# {entry.code} {entry.name}\n\n"
        f"*{entry.area.title} · {entry.severity} · {'fixable' if entry.fixable else 'no fix'} · {state}*\n\n"
        f"{entry.summary}\n\n{entry.doc}"
    )


def explain_rule_impl(code: str) -> RuleDoc:
    entry = catalogue.find(code)
    if entry is None:
        from fastapi_expert.cli import catalogue_suggestions

        raise ToolCallError("unknown_rule", f"no rule is called '{code}'", suggestions=catalogue_suggestions(code))
    data = entry.to_dict()
    return {
        "code": entry.code,
        "name": entry.name,
        "area": int(entry.area),
        "area_title": str(data["area_title"]),
        "severity": entry.severity,
        "fixable": entry.fixable,
        "default_enabled": entry.default_enabled,
        "summary": entry.summary,
        "markdown": rule_markdown(entry),
        "uri": RULE_URI.format(code=entry.code),
    }


def list_rules_impl(prefix: str | None) -> RuleList:
    entries: Sequence[catalogue.Entry] = catalogue.entries()
    if prefix:
        key = prefix.strip().upper()
        entries = [e for e in entries if e.code.startswith(key) or e.name.startswith(prefix.strip().lower())]
        if not entries:
            raise ToolCallError("invalid_arguments", f"no rule code or name starts with '{prefix}'")
    return {"rules": [{**e.to_dict(), "uri": RULE_URI.format(code=e.code)} for e in entries]}


def search_impl(query: str, limit: int, kind: Literal["guide", "rule"] | None, guides: Path | None) -> SearchOutput:
    from fastapi_expert.knowledge.search import search

    if not query.strip():
        raise ToolCallError("invalid_arguments", "`query` is empty")
    try:
        hits = search(query, limit, kind=kind, guides_directory=guides)
    except UsageError as exc:  # the ranking library is missing
        raise ToolCallError("unavailable", str(exc)) from exc
    out: list[SearchHit] = []
    for h in hits:
        uri = GUIDE_URI.format(slug=h.key) if h.kind == "guide" else RULE_URI.format(code=h.key)
        out.append({
            "kind": h.kind, "key": h.key, "title": h.title, "summary": h.summary,
            "score": round(h.score, 3), "section": h.section, "excerpt": h.excerpt, "uri": uri,
        })
    return {"query": query, "hits": out}


def read_guide_impl(slug: str, section: str | None, guides: Path | None) -> GuideOutput:
    guide = find_guide(slug, guides)
    if guide is None:
        raise ToolCallError("unknown_guide", f"no guide is called '{slug}'", suggestions=suggest(slug, guides))
    markdown = guide.text
    if section:
        found = guide.section(section)
        if found is None:
            raise ToolCallError(
                "unknown_section",
                f"guide '{guide.slug}' has no section '{section}'",
                suggestions=[s.title for s in guide.sections],
            )
        markdown = f"## {found.title}\n\n{found.body}\n"
    return {
        "slug": guide.slug,
        "title": guide.title,
        "summary": guide.summary,
        "sections": [s.title for s in guide.sections],
        "markdown": markdown,
        "uri": GUIDE_URI.format(slug=guide.slug),
    }


REVIEW_PROMPT = """\
Review {target} as a senior FastAPI backend engineer would.{focus}

Ground every statement in the tools, not in memory:
1. Run {tool} and read every finding. A finding is evidence: cite its rule code,
   file and line.
2. For each rule you cite, call explain_rule and use its "why" and its fix; do not
   invent a different fix.
3. Before recommending how to build something (pagination, JWT auth, CORS, async
   database access, background work, caching, tests, ...), call search_guides and
   read_guide, and follow the guide's example.
4. Then look, area by area, at what static rules cannot see, and say plainly that
   it is your judgment rather than a finding:
   - architecture and dependency injection: routers, Depends/Annotated, sessions
     and clients created once and injected, lifespan for start-up and shutdown;
   - async: nothing blocking on the event loop, no forgotten await, bounded concurrency;
   - Pydantic: typed request bodies and response models, v2 API, no secret fields out;
   - security: authentication on every state-changing route, JWT verification,
     CORS, secrets from settings, SQL with bound parameters;
   - performance: pooled engines and HTTP clients, no N+1 queries, pagination, timeouts;
   - tests and API design: TestClient in a `with` block, dependency overrides
     cleared, 201/204 status codes, resource-named paths.
5. Answer with the findings grouped by severity (errors first), each with the fix,
   then your judgment items, then what is good and should stay.
"""


def review_prompt_text(path: str, focus: str) -> str:
    target = "the code at `{}`".format(path or ".")
    tool = f"review_path with path=\"{path or '.'}\""
    focus_line = f"\nPay particular attention to: {focus.strip()}." if focus.strip() else ""
    return REVIEW_PROMPT.format(target=target, tool=tool, focus=focus_line)


# --- the server --------------------------------------------------------------


def build_server(root: Path | None = None, guides_directory: Path | None = None) -> ExpertServer:
    """The server, with `review_path` confined to `root` (default: the current directory)."""
    base = (root or Path.cwd()).resolve()
    server = ExpertServer(
        "fastapi-expert",
        title="fastapi-expert",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
    )

    def review_code(
        code: Annotated[str | None, Field(description="One Python snippet or module to review.")] = None,
        filename: Annotated[str, Field(description="The snippet's file name (used in findings and for test-file rules).")] = "snippet.py",
        files: Annotated[dict[str, str] | None, Field(description="Several files as {relative path: source}, reviewed together as one project.")] = None,
        select: Annotated[list[str] | None, Field(description="Only these rule codes or prefixes (FX2, FX201) or names.")] = None,
        ignore: Annotated[list[str] | None, Field(description="Skip these rule codes or prefixes.")] = None,
    ) -> ReviewOutput:
        """Review FastAPI code given as text: either `code` (one snippet) or `files`
        ({path: source}). Returns the findings (rule code, severity, line, message, fix)
        and a summary, the same shape as `fastapi-expert review --format json`. Code that
        does not parse comes back as an FX001 finding with the syntax error."""
        return review_code_impl(code, filename, files, select, ignore)

    def review_path(
        path: Annotated[str, Field(description="A file or folder, relative to the server's root (or absolute inside it).")] = ".",
        select: Annotated[list[str] | None, Field(description="Only these rule codes or prefixes.")] = None,
        ignore: Annotated[list[str] | None, Field(description="Skip these rule codes or prefixes.")] = None,
    ) -> ReviewOutput:
        """Review a file or folder of the project on disk (under the server's root; the
        project's [tool.fastapi-expert] configuration applies). Returns findings and a
        summary; paths in findings are relative to the root."""
        return review_path_impl(base, path, select, ignore)

    def explain_rule(
        code: Annotated[str, Field(description="A rule code (FX201) or name (blocking-sleep-in-async).")],
    ) -> RuleDoc:
        """A rule's documentation as markdown: what it flags, why it is a problem, an
        example, the fix, references."""
        return explain_rule_impl(code)

    def list_rules(
        prefix: Annotated[str | None, Field(description="Only codes starting with this (FX4 = security) or names starting with it.")] = None,
    ) -> RuleList:
        """The rule catalogue: code, name, area, severity, fixable, on by default, summary.
        Areas: FX1 architecture & DI, FX2 async, FX3 Pydantic, FX4 security,
        FX5 performance, FX6 testing, FX7 API design."""
        return list_rules_impl(prefix)

    def search_guides(
        query: Annotated[str, Field(description="A question in plain words: 'how do I paginate a list endpoint?'")],
        limit: Annotated[int, Field(ge=1, le=20, description="How many hits.")] = 5,
        kind: Annotated[Literal["guide", "rule"] | None, Field(description="Only guides or only rules.")] = None,
    ) -> SearchOutput:
        """Find the task guides and rules that answer a question, best first, each with
        the passage that matched. Read a guide with read_guide, a rule with explain_rule."""
        return search_impl(query, limit, kind, guides_directory)

    def read_guide(
        slug: Annotated[str, Field(description="The guide's slug (pagination) or title.")],
        section: Annotated[str | None, Field(description="Only this section, e.g. 'Example' or 'Mistakes to avoid'.")] = None,
    ) -> GuideOutput:
        """A task guide as markdown: when to use what, a complete tested example,
        mistakes to avoid (with the rules that catch them), references."""
        return read_guide_impl(slug, section, guides_directory)

    for tool in (review_code, review_path, explain_rule, list_rules, search_guides, read_guide):
        # cleandoc: the docstring is the description the assistant reads.
        server.add_tool(tool, description=inspect.cleandoc(tool.__doc__ or ""), annotations=READ_ONLY)
    _register_audit(server, base)

    for guide in load_guides(guides_directory):
        server.add_resource(_guide_resource(guide))
    for entry in catalogue.entries():
        server.add_resource(
            TextResource(
                uri=RULE_URI.format(code=entry.code),
                name=f"{entry.code} {entry.name}",
                title=f"{entry.code} {entry.name}",
                description=entry.summary,
                mime_type="text/markdown",
                text=rule_markdown(entry),
            )
        )

    @server.prompt(
        name="fastapi_review",
        title="FastAPI expert review",
        description="Review FastAPI code the way the expert does, backed by the tools' findings.",
    )
    def fastapi_review(path: str = ".", focus: str = "") -> str:
        return review_prompt_text(path, focus)

    return server


def _guide_resource(guide: Guide) -> TextResource:
    return TextResource(
        uri=GUIDE_URI.format(slug=guide.slug),
        name=guide.slug,
        title=guide.title,
        description=guide.summary,
        mime_type="text/markdown",
        text=guide.text,
    )


class AuditOutput(TypedDict):
    routes: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    summary: dict[str, Any]


_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_SELECTOR = re.compile(r"^[A-Za-z0-9_-]+$")
AUDIT_LIMIT_S = 120.0


async def audit_app_impl(
    root: Path,
    target: str,
    app_dir: str,
    factory: bool,
    probe: bool,
    production: bool,
    timeout: float,
    select: list[str] | None,
    ignore: list[str] | None,
) -> AuditOutput:
    """Run `fastapi-expert audit --format json` in a child process.

    Not in-process on purpose: the audit imports the user's app and runs its
    lifespan. In this long-lived server a second audit would get the first
    import's modules from `sys.modules` (the edits made in between would be
    invisible), and the app's import side effects and start-up would run
    inside the server. A child process gives each audit a fresh interpreter,
    and the JSON report is the audit's stable contract.
    """
    import anyio
    import anyio.to_thread

    if not _TARGET.match(target):
        raise ToolCallError("invalid_arguments", f"`{target}` is not MODULE:ATTRIBUTE (for example app.main:app)")
    for selector in (*(select or ()), *(ignore or ())):
        if not _SELECTOR.match(selector):
            raise ToolCallError("invalid_arguments", f"`{selector}` is not a rule code or prefix")
    directory = await anyio.to_thread.run_sync(_app_directory, root, app_dir)
    command = [
        sys.executable, "-m", "fastapi_expert", "audit", target,
        "--format", "json", "--app-dir", str(directory), "--timeout", str(timeout), "--isolated",
    ]
    command += ["--factory"] if factory else []
    command += [] if probe else ["--no-probe"]
    command += ["--production"] if production else []
    command += ["--select", ",".join(select)] if select else []
    command += ["--ignore", ",".join(ignore)] if ignore else []
    try:
        with anyio.fail_after(AUDIT_LIMIT_S):
            done = await anyio.run_process(command, cwd=root, check=False)
    except TimeoutError as exc:
        raise ToolCallError("audit_failed", f"the audit of {target} took over {AUDIT_LIMIT_S:.0f} s") from exc
    stderr = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode not in (0, 1):
        lines = [line for line in stderr.splitlines() if line.strip()]
        message = lines[-1] if lines else f"the audit exited with {done.returncode}"
        raise ToolCallError("audit_failed", message.removeprefix("fastapi-expert: error: "))
    try:
        document = json.loads(done.stdout.decode("utf-8"))
    except ValueError as exc:
        raise ToolCallError("audit_failed", "the audit did not produce a JSON report") from exc
    return {"routes": document["routes"], "findings": document["findings"], "summary": document["summary"]}


def _app_directory(root: Path, app_dir: str) -> Path:
    directory = resolve_under(root, app_dir)
    if not directory.is_dir():
        raise ToolCallError("invalid_arguments", f"`{app_dir}` is not a directory")
    return directory


def _register_audit(server: ExpertServer, root: Path) -> None:
    """`audit_app`, when the audit is installed (`fastapi_expert.audit`)."""
    import importlib.util

    if importlib.util.find_spec("fastapi_expert.audit") is None:
        return

    async def audit_app(
        target: Annotated[str, Field(description="The app as uvicorn takes it: MODULE:ATTRIBUTE, e.g. app.main:app.")],
        app_dir: Annotated[str, Field(description="The folder the module is imported from, under the server's root.")] = ".",
        factory: Annotated[bool, Field(description="ATTRIBUTE is a function that builds the app.")] = False,
        probe: Annotated[bool, Field(description="Send in-process requests and run the lifespan (no sockets).")] = True,
        production: Annotated[bool, Field(description="Judge the app as running in production.")] = False,
        timeout: Annotated[float, Field(gt=0, le=60, description="Seconds for each probe and for start-up.")] = 5.0,
        select: Annotated[list[str] | None, Field(description="Only these audit codes or prefixes.")] = None,
        ignore: Annotated[list[str] | None, Field(description="Skip these audit codes or prefixes.")] = None,
    ) -> AuditOutput:
        """Import the live FastAPI app and check what FastAPI actually built: the
        route table, dependency trees, security schemes, middleware and OpenAPI, then
        probe it in-process over ASGI (no network). Returns the routes, the findings
        (same shape as review's) and a summary. Runs in a separate process each time,
        so it always sees the current code."""
        return await audit_app_impl(root, target, app_dir, factory, probe, production, timeout, select, ignore)

    server.add_tool(
        audit_app,
        description=inspect.cleandoc(audit_app.__doc__ or ""),
        # It runs the app's own code (import, lifespan), which may write (a lifespan that
        # creates tables): honest hints say not read-only, though never destructive by us.
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False),
    )


def run_mcp_command(args: argparse.Namespace) -> int:
    root: Path = args.root or Path.cwd()
    if not root.is_dir():
        raise UsageError(f"--root {root}: not a directory")
    server = build_server(root)
    print(f"fastapi-expert {__version__}: MCP server on stdio, root {root.resolve()}", file=sys.stderr)
    server.run("stdio")
    return 0

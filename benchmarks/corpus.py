"""The real-code corpus: published FastAPI applications and services, pinned.

Each entry is a pure-Python distribution on PyPI whose package is (or contains)
a FastAPI application: routers, dependencies, models, services and their
settings. The files are downloaded at run time with pip into a temporary folder
(or `--cache DIR` to keep them between runs) and are never committed.

    python benchmarks/corpus.py [--cache DIR] [--corpus first|second|all]   # download and unpack, print the folders
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Project:
    name: str
    version: str
    what: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


# Pinned so the table in the README can be reproduced. Wheels, not sdists: pip
# can fetch a wheel without building anything, and for these pure-Python
# distributions the wheel holds exactly the published source files.
PROJECTS: tuple[Project, ...] = (
    Project("apache-airflow-core", "3.3.2", "Airflow 3 API server (`api_fastapi`: public and UI REST APIs)"),
    Project("argilla-server", "2.8.0", "Argilla data-labelling server (FastAPI + SQLAlchemy async)"),
    Project("dstack", "0.22.5", "dstack orchestration server (FastAPI routers, services, SQLAlchemy)"),
    Project("fief-server", "0.30.0", "Fief authentication server (FastAPI, OAuth2, admin API)"),
    Project("freqtrade", "2026.9", "Freqtrade trading bot with its FastAPI REST/WebSocket API"),
    Project("khoj", "1.42.1", "Khoj AI assistant server (FastAPI routers over Django models)"),
    Project("mlserver", "1.3.5", "Seldon MLServer inference server (FastAPI REST)"),
    Project("opal-server", "0.9.6", "OPAL policy server (FastAPI, WebSocket pub/sub)"),
    Project("openhands-ai", "1.11.0", "OpenHands agent server (FastAPI routes, sessions)"),
    Project("prefect", "3.9.1", "Prefect orchestration server (`prefect.server.api`, FastAPI)"),
)

# A second corpus, first reviewed on 2026-11-29, after six rounds of precision work on
# the first: code the rules were not written against (its findings were read, rule by
# rule, in the seventh round). litellm, about a million lines, is the scale test: the
# review of the largest FastAPI code bases, where a cost that grows with the square of
# the project (a scan per router of every module) shows.
SECOND: tuple[Project, ...] = (
    Project("arize-phoenix", "20.26.1", "Arize Phoenix observability server (FastAPI, GraphQL, SQLAlchemy async)"),
    Project("chainlit", "2.12.0", "Chainlit chat-app server (FastAPI, Socket.IO)"),
    Project("feast", "0.67.0", "Feast feature server and registry REST API (FastAPI)"),
    Project("kserve", "0.21.0", "KServe model server (FastAPI REST, OpenAI-compatible endpoints)"),
    Project("langflow-base", "1.13.0", "Langflow flow-builder API (FastAPI, SQLModel async)"),
    Project("lightrag-hku", "1.5.7", "LightRAG server (FastAPI routers, document and query APIs)"),
    Project("litellm", "1.110.2", "LiteLLM proxy server (FastAPI, Prisma, about a million lines in all)"),
    Project("zenml", "0.98.0", "ZenML server (FastAPI routers, SQLModel, RBAC)"),
)

CORPORA: dict[str, tuple[Project, ...]] = {"first": PROJECTS, "second": SECOND, "all": PROJECTS + SECOND}


def add_corpus_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--corpus",
        choices=sorted(CORPORA),
        default="first",
        help="which projects: the first corpus (default; the README's tables), the second "
        "(read first on 2026-11-29; litellm is the million-line scale test), or all",
    )


def download(projects: tuple[Project, ...], into: Path) -> dict[Project, Path]:
    """Download and unpack each project's wheel; returns its source folder."""
    wheels = into / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    out: dict[Project, Path] = {}
    for project in projects:
        target = into / "src" / f"{project.name}-{project.version}"
        if not target.exists():
            prefix = project.name.replace("-", "_").lower() + "-" + project.version + "-"
            found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(prefix)]
            if not found:
                subprocess.run(
                    [
                        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--only-binary", ":all:", "--python-version", "3.13",
                        "--dest", str(wheels), project.requirement,
                    ],
                    check=True,
                )
                found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(prefix)]
            if not found:
                raise RuntimeError(f"{project.requirement}: pip downloaded no wheel")
            partial = target.with_name(target.name + ".partial")
            with zipfile.ZipFile(found[0]) as archive:
                archive.extractall(partial)
            partial.rename(target)
        out[project] = target
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="keep the downloads here (default: a temporary folder)")
    add_corpus_option(parser)
    args = parser.parse_args()
    projects = CORPORA[args.corpus]
    if args.cache:
        folders = download(projects, args.cache)
    else:
        with tempfile.TemporaryDirectory(prefix="fastapi-expert-corpus-") as tmp:
            folders = download(projects, Path(tmp))
            for project, folder in folders.items():
                print(project.requirement, folder)
            return 0
    for project, folder in folders.items():
        print(project.requirement, folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

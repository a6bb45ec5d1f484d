# Two commands do everything on a fresh machine:
#   make demo   installs, then reviews the bundled flawed service
#   make test   installs, then runs every check CI runs
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint pytest docs bench bench-ask bench-corpus bench-peers bench-summaries bench-audit test-pythons test-audit-oldest example-tests clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	@echo "== fastapi-expert review examples/flawed-app"
	@$(BIN)/fastapi-expert review examples/flawed-app; status=$$?; \
	  if [ $$status -ne 1 ]; then echo "expected findings (exit 1), got exit $$status"; exit 1; fi
	@echo "== exit code 1: findings reported, as expected for a flawed service"

lint: install
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/mypy src

# The audit test of examples/todo-api runs the app in that service's own venv.
pytest: install
	@if [ -f examples/todo-api/Makefile ]; then $(MAKE) --no-print-directory -C examples/todo-api venv; fi
	$(BIN)/pytest

example-tests:
	@if [ -f examples/todo-api/Makefile ]; then $(MAKE) -C examples/todo-api test; fi

# The suite's parsing-critical parts on the oldest supported Python and the newest
# available one (each in its own venv; a Python that is not installed is skipped).
COMPAT_PYTHONS ?= 3.10 3.13
COMPAT_TESTS := tests/compat tests/test_engine.py tests/test_rule_examples.py tests/test_add_noqa.py tests/test_summary.py

test-pythons:
	@for v in $(COMPAT_PYTHONS); do \
	  py=; for c in $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$$v.*/bin/python 2>/dev/null) $$(command -v python$$v); do \
	    if "$$c" -c 'import sys' >/dev/null 2>&1; then py=$$c; break; fi; \
	  done; \
	  if [ -z "$$py" ]; then echo "== Python $$v not found: skipped"; continue; fi; \
	  venv=.venv-py$$v; \
	  if [ ! -f $$venv/.installed ] || [ pyproject.toml -nt $$venv/.installed ]; then \
	    $$py -m venv $$venv && \
	    $$venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' && \
	    touch $$venv/.installed || exit 1; \
	  fi; \
	  echo "== Python $$v ($$py)"; \
	  $$venv/bin/python -m pytest -q -p no:cacheprovider $(COMPAT_TESTS) || exit 1; \
	done

# The audit against the oldest FastAPI it supports, in its own venv (.venv has the
# newest): how included routers are stored changed in between (see audit/inspect.py).
OLDEST_FASTAPI ?= 0.115.*
OLDEST_VENV := .venv-fastapi-oldest

test-audit-oldest:
	@if [ ! -f $(OLDEST_VENV)/.installed ] || [ pyproject.toml -nt $(OLDEST_VENV)/.installed ]; then \
	  $(PYTHON) -m venv $(OLDEST_VENV) && \
	  $(OLDEST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e . \
	    'fastapi==$(OLDEST_FASTAPI)' httpx python-multipart sqlalchemy pyjwt requests pytest && \
	  touch $(OLDEST_VENV)/.installed || exit 1; \
	fi
	@echo "== audit tests on FastAPI $$($(OLDEST_VENV)/bin/python -c 'import fastapi; print(fastapi.__version__)')"
	$(OLDEST_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/audit

test: lint pytest test-pythons test-audit-oldest example-tests

docs: install
	$(BIN)/python scripts/gen_docs.py

bench: install bench-ask bench-peers bench-summaries
	$(BIN)/python benchmarks/review_stdlib.py

# `ask`: top-3 hit rate on benchmarks/ask_questions.tsv (target 90 %)
bench-ask: install
	$(BIN)/python benchmarks/ask_questions.py --fail-under 90

# Downloads pinned real FastAPI services from PyPI into a temporary folder and reviews them.
bench-corpus: install
	$(BIN)/python benchmarks/review_corpus.py
	$(BIN)/python benchmarks/review_corpus.py --corpus second

# Our cold, warm and one-file-changed reviews beside the floor, ruff, bandit and
# semgrep on the same corpus (bandit goes into the venv; semgrep into its own,
# .venv-semgrep, because its pinned dependencies clash with ours).
bench-peers: install
	$(BIN)/python -m pip install --quiet --disable-pip-version-check bandit
	test -x .venv-semgrep/bin/semgrep || { $(PYTHON) -m venv .venv-semgrep && .venv-semgrep/bin/python -m pip install --quiet --disable-pip-version-check semgrep; }
	# Byte-compiled, as a regular install is (PYTHONDONTWRITEBYTECODE would otherwise
	# make every run recompile the package, ~0.13 s of each warm figure).
	$(BIN)/python -m compileall -q src/fastapi_expert
	$(BIN)/python benchmarks/compare_peers.py
	# The second corpus: code the rules were not written against, and litellm's
	# million lines for the largest code bases.
	$(BIN)/python benchmarks/compare_peers.py --corpus second

# Module summaries (docs/incremental-review.md, step 1) on the same corpus: checked
# against every tree, then the time to build, write and read them.
bench-summaries: install
	$(BIN)/python benchmarks/summary_feasibility.py

# Wall time of `audit` on examples/todo-api (through its own venv), probes included.
bench-audit:
	$(PYTHON) benchmarks/audit_todo_api.py

clean:
	rm -rf $(VENV) .venv-py3.* .venv-semgrep $(OLDEST_VENV) .pytest_cache .mypy_cache .ruff_cache .fastapi_expert_cache

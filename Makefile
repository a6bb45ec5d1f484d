# Two commands do everything on a fresh machine:
#   make demo   installs, then reviews the bundled flawed service
#   make test   installs, then runs every check CI runs
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint pytest docs bench example-tests clean

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

pytest: install
	$(BIN)/pytest

example-tests:
	@if [ -f examples/todo-api/Makefile ]; then $(MAKE) -C examples/todo-api test; fi

test: lint pytest example-tests

docs: install
	$(BIN)/python scripts/gen_docs.py

bench: install
	$(BIN)/python benchmarks/review_stdlib.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .fastapi_expert_cache

# rxledger — the two commands a fresh machine needs are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint unit bench demo check system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

## run: create or migrate ./var/rxledger.db, load the demo network when empty, print its stock
## position and the demo sign-ins, and serve the web UI and API on http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/rxledger init
	$(BIN)/rxledger demo --if-empty
	$(BIN)/rxledger --user admin stock --summary
	$(BIN)/rxledger serve --host 127.0.0.1 --port 8000

## test: lint (ruff, mypy, import-linter) and the whole suite on SQLite and a real PostgreSQL
test: $(STAMP) system-deps lint
	$(BIN)/pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## bench: the benchmarks in bench/ (figures go to docs/benchmarks.md by hand)
bench: $(STAMP) system-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# Rapport: `make run` starts it with demo data, `make test` proves it works.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
RAPPORT := $(BIN)/rapport
export RAPPORT_DATA_DIR ?= $(CURDIR)/var
# Test processes (pytest-xdist): one per core; 0 runs everything in this process (for pdb).
TEST_WORKERS ?= auto

.PHONY: run test test-fast lint format bench bench-full bench-insights clean help

help:
	@echo "make run         set up and start Rapport at http://127.0.0.1:8000 (SQLite, demo data)"
	@echo "make test        set up and run the whole test suite"
	@echo "make lint        ruff check, ruff format --check, mypy"
	@echo "make format      ruff format and fix"
	@echo "make bench       benchmarks at 100,000 contacts on DATABASE_URL (default SQLite)"
	@echo "make bench-full  the same at 1,000,000 contacts"
	@echo "make bench-insights  the analytics refresh at 100,000 contacts / 500,000 orders"
	@echo "make clean       remove .venv and caches (keeps ./var, your data)"

# The virtualenv is rebuilt when pyproject.toml changes.
$(BIN)/python:
	@py="$${PYTHON:-$$(sh scripts/find-python.sh)}" || exit 1; \
	echo "Creating $(VENV) with $$py ($$($$py --version))"; \
	"$$py" -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(RAPPORT) migrate --no-input
	$(RAPPORT) demo --if-empty
	$(RAPPORT) createadmin --if-missing --remember
	exec $(RAPPORT) serve --with-worker

test: $(VENV)/.installed-dev
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

test-fast: $(VENV)/.installed-dev
	$(BIN)/pytest -x -q -m "not browser" $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(VENV)/.installed-bench: pyproject.toml | $(VENV)/.installed-dev
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	@touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py --contacts 100000 $(BENCH_ARGS)

bench-full: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py --contacts 1000000 $(BENCH_ARGS)

bench-insights: $(VENV)/.installed-bench
	$(BIN)/python bench/insights_refresh.py --contacts 100000 --orders 500000 --reuse $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov

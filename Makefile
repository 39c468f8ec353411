# Process Task Manager — the front door. Every target bootstraps what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help dev lint format test unit integration workflow local bench-init clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

dev: $(PY_STAMP) ## Create .venv and install the project with its dev tools

lint: $(PY_STAMP) ## ruff (lint + format check) and mypy (strict)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy functions infra tests bench

format: $(PY_STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint ## Everything: lint, unit, integration and workflow tests (what CI runs)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --durations=5

unit: $(PY_STAMP) ## Unit tests only (no network)
	$(BIN)/pytest tests/unit

integration: $(PY_STAMP) ## Handler tests against moto's services
	$(BIN)/pytest tests/integration

workflow: $(PY_STAMP) ## The real ASL executed by moto with the real handlers
	$(BIN)/pytest tests/workflow

local: $(PY_STAMP) ## Run the whole system on this machine (the embedded local stack)
	@echo "make local: the embedded local stack is not available yet (see the open local-stack issue)." >&2
	@exit 2

bench-init: $(PY_STAMP) ## Handler init time vs the boto3 floor (fresh interpreters, median of 7)
	$(BIN)/python -m bench.init_time --runs 7

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache cdk.out node_modules

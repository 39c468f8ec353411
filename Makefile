# Process Task Manager — the front door. Every target bootstraps what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9
UV_VENV := .uv
UV := $(UV_VENV)/bin/uv
NODE_STAMP := node_modules/.installed
# Browser tests drive Debian's Chromium (Playwright's own browser download is not used).
CHROMIUM := /usr/bin/chromium
PYTEST_WORKERS ?= 2
STAGE ?= dev
CDK := cdk --no-notices

export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# The machine's Python, never one uv would download; the project's venv is .venv.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
# Installed packages get their bytecode at install time, as Lambda's runtime and layers ship it:
# a machine with PYTHONDONTWRITEBYTECODE set otherwise compiles them in every test process and
# every fresh interpreter the benchmarks start (about 10 s of `make test` on 2 cores).
export UV_COMPILE_BYTECODE := 1
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: help dev lock lint format test unit integration workflow infra e2e chaos fuzz mutants local smoke openapi openapi-stage capacity cost synth bootstrap deploy diff adopt destroy bench bench-init bench-local bench-retry bench-schedule bench-fairness clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# Python packages come from uv.lock, exactly: `uv sync --locked` fails when the lock no longer
# matches pyproject.toml (run `make lock` and commit uv.lock). uv itself is pinned, in its own venv.
$(UV):
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install --quiet uv==$(UV_VERSION)

$(PY_STAMP): pyproject.toml uv.lock client/pyproject.toml | $(UV)
	$(UV) sync --locked --extra dev --python $(PYTHON) --quiet
	touch $@

lock: $(UV) ## Re-resolve uv.lock after changing pyproject.toml's dependencies
	$(UV) lock --python $(PYTHON)

# Node 22, the CDK CLI and asl-validator come from package-lock.json (the machine's Node is not used).
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

dev: $(PY_STAMP) $(NODE_STAMP) ## Install Python (.venv) and Node (node_modules) tooling

lint: $(PY_STAMP) ## ruff (lint + format check), mypy (strict), the secret scan and the import layers (lint-imports)
	git ls-files -z | xargs -0 $(BIN)/detect-secrets-hook --
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy functions infra local tests bench smoke ptm client/ptm_client examples
	$(BIN)/lint-imports

format: $(PY_STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint $(NODE_STAMP) $(CHROMIUM) ## Everything: lint and every test tier, infra and browser included (what CI runs)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=5

unit: $(PY_STAMP) ## Unit tests only (no network)
	$(BIN)/pytest tests/unit

integration: $(PY_STAMP) ## Handler tests against moto's services
	$(BIN)/pytest tests/integration

workflow: $(PY_STAMP) ## The real ASL executed by moto with the real handlers
	$(BIN)/pytest tests/workflow

infra: $(PY_STAMP) $(NODE_STAMP) ## CDK assertions, cdk-nag, cfn-lint and asl-validator
	$(BIN)/pytest tests/infra -n 0

# cfn-lint fails on warnings too; W3005 (a DependsOn that a GetAtt already implies) is how CDK writes roles.
# The CLI rewrites the stage's template in CDK_OUT; the outputs `make deploy` saved there stay.
CDK_OUT ?= cdk.out
CONTEXT ?=
synth: $(PY_STAMP) $(NODE_STAMP) ## cdk synth STAGE=dev from stages/STAGE.json (offline) + cfn-lint; CONTEXT="k=v ..." CDK_OUT=<dir>: hypothetical
	$(if $(and $(CONTEXT),$(filter cdk.out,$(CDK_OUT))),$(error CONTEXT overrides the saved options (stages/$(STAGE).json): synthesize it into a scratch directory, CDK_OUT=<dir>))
	$(CDK) synth --context stage=$(STAGE) $(if $(CONTEXT),--context hypothetical=true) $(foreach pair,$(CONTEXT),--context '$(pair)') --output $(CDK_OUT) --quiet
	$(BIN)/cfn-lint $(CDK_OUT)/ProcessTaskManager-$(STAGE).template.json --non-zero-exit-code warning --ignore-checks W3005
	@echo "$(CDK_OUT)/ written; cdk-nag report: $(CDK_OUT)/validation-report.json"

bootstrap: $(PY_STAMP) $(NODE_STAMP) ## cdk bootstrap, once per account and region (your profile's; AWS_REGION to choose)
	$(CDK) bootstrap

diff: $(PY_STAMP) $(NODE_STAMP) ## cdk diff STAGE=dev against your account
	$(CDK) diff --context stage=$(STAGE)

deploy: $(PY_STAMP) $(NODE_STAMP) ## cdk deploy STAGE=dev (outputs in cdk.out/outputs-STAGE.json)
	$(CDK) deploy --context stage=$(STAGE) --outputs-file cdk.out/outputs-$(STAGE).json

adopt: synth ## After make destroy of a production stage: import what it kept (table, DLQ, schedule group, secret), then make deploy
	$(BIN)/python -m infra.adopt --template $(CDK_OUT)/ProcessTaskManager-$(STAGE).template.json --out $(CDK_OUT)/adopt-$(STAGE).json
	$(CDK) import --context stage=$(STAGE) --resource-mapping $(CDK_OUT)/adopt-$(STAGE).json

destroy: $(PY_STAMP) $(NODE_STAMP) ## cdk destroy STAGE=dev
	$(CDK) destroy --context stage=$(STAGE)

LOCAL_ARGS ?=
local: $(PY_STAMP) $(NODE_STAMP) ## Run the whole system on this machine until Ctrl-C (LOCAL_ARGS="--time-scale 0.1 ...")
	$(BIN)/python -m local $(LOCAL_ARGS)

smoke: $(PY_STAMP) ## Smoke test: the local stack by default, or TASKS_ENDPOINT=... (SMOKE_ARGS="--scenario dlq")
	$(BIN)/python -m smoke $(SMOKE_ARGS)

e2e: $(PY_STAMP) $(NODE_STAMP) $(CHROMIUM) ## Start the local stack as a subprocess and run the smoke script against it
	$(BIN)/pytest tests/e2e -n 0

MUTANTS ?=
CHAOS_TASKS ?= 10000
BENCH_TASKS ?= 1000
SCHEDULE_DELAY ?= 5
chaos: $(PY_STAMP) ## Chaos run with every fault injected (CHAOS_TASKS=10000; make test runs 100)
	POWERTOOLS_LOG_LEVEL=ERROR POWERTOOLS_METRICS_DISABLED=true CHAOS_TASKS=$(CHAOS_TASKS) \
		$(BIN)/pytest tests/chaos -n 0 -q

mutants: $(PY_STAMP) $(NODE_STAMP) ## Mutation sweep: weaken each rule in turn; every mutant must turn a test red (MUTANTS=name filter)
	$(BIN)/python -m tests.mutants --only "$(MUTANTS)"

fuzz: $(PY_STAMP) $(NODE_STAMP) ## Schemathesis against docs/openapi.json on a fresh local stack, the long run (make test runs 15 examples per operation)
	FUZZ_MAX_EXAMPLES=200 $(BIN)/pytest tests/e2e/test_fuzz.py -n 0

openapi: $(PY_STAMP) ## Regenerate docs/openapi.json from the submit function's resolver
	$(BIN)/python -m infra.openapi

openapi-stage: $(PY_STAMP) ## The API's contract with STAGE's registered task types, into cdk.out/openapi-<stage>.json
	$(BIN)/python -m infra.openapi --stage $(STAGE)

CAPACITY_ARGS ?=
capacity: $(PY_STAMP) $(NODE_STAMP) ## Which AWS limit binds first, in tasks/s, for STAGE's settings (CAPACITY_ARGS="--recipe 1k --rate 1000 ...")
	$(BIN)/python -m bench.capacity --stage $(STAGE) $(CAPACITY_ARGS)

cost: $(PY_STAMP) $(NODE_STAMP) ## Cost per 1M tasks on AWS at 1, 10 and 100 tasks/s (this design vs the Node.js version's), from the synthesized template
	$(BIN)/python -m bench.cost

bench: bench-init bench-local bench-retry bench-schedule bench-fairness ## Every benchmark, printing its figures (about 6 minutes)

bench-init: $(PY_STAMP) ## Handler init time vs the boto3 floor (fresh interpreters, median of 11, interleaved)
	$(BIN)/python -m bench.init_time --runs 11

bench-local: $(PY_STAMP) ## Local stack: BENCH_TASKS (1000) through the pipeline vs the same API calls made directly
	$(BIN)/python -m bench.local_throughput --tasks $(BENCH_TASKS)

bench-retry: $(PY_STAMP) ## Retry waits actually waited (real time) vs the ASL's backoff policy
	$(BIN)/python -m bench.retry_timing --tasks 40

bench-schedule: $(PY_STAMP) ## How long after its runAt a delayed task starts (SCHEDULE_DELAY: 5 s an SQS delay; over 900 a Scheduler schedule)
	$(BIN)/python -m bench.schedule_precision --tasks 20 --delay $(SCHEDULE_DELAY)

bench-fairness: $(PY_STAMP) ## Unlimited tasks' p95 alone, beside the same load, and beside a key limited to 1 at once
	$(BIN)/python -m bench.fairness --tasks 50

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) $(UV_VENV) .pytest_cache .mypy_cache .ruff_cache cdk.out node_modules

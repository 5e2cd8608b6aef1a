# The developer's front door. Every target installs what it needs on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# The CLI pinned in package.json (2.x); never npx's download of `latest`, which is 3.x and cannot read
# aws-cdk-lib 2 assemblies.
CDK := node_modules/.bin/cdk
# The function's dependencies, every one pinned with the hashes of its wheels for every platform: Lambda's arm64
# Python 3.14 (bundling) and the development machine (the tests), so both get exactly the same packages.
LOCK := lambda/requirements.lock
# Everything for development (the stack, tests, lint), the function's packages at exactly LOCK's versions, hashed.
DEV_LOCK := requirements.lock
# The lowest Python the lock must serve: the dev venv's (pyproject.toml's requires-python); --universal covers the rest.
LOCK_PYTHON_VERSION := 3.11

# jsii prints an end-of-life banner for Node 20 on every CDK call.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PATH := $(CURDIR)/$(BIN):$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: help dev lock test test-pipeline unit integration infra-test lint format demo reliability bench schema send synth bootstrap deploy diff destroy preflight clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# Every dependency from the development lock, each checked against its hashes (the function's at the versions it ships
# with), then this repo itself, editable, built by the locked setuptools: its packages import each other, no path
# appended.
$(PY_STAMP): requirements.txt lambda/requirements.txt $(LOCK) $(DEV_LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --editable .
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

dev: $(PY_STAMP) $(NODE_STAMP) ## Create .venv and node_modules with everything for development

lock: $(PY_STAMP) ## Regenerate both locks after editing lambda/requirements.txt or requirements.txt
	$(BIN)/uv pip compile lambda/requirements.txt --universal --python-version $(LOCK_PYTHON_VERSION) \
		--generate-hashes --default-index https://pypi.org/simple --custom-compile-command "make lock" \
		--quiet --output-file $(LOCK)
	sed -n 's/^\([A-Za-z0-9][^ ]*==[^ \\]*\).*/\1/p' $(LOCK) > $(VENV)/function-pins.txt
	$(BIN)/uv pip compile requirements.txt lambda/requirements.txt --constraint $(VENV)/function-pins.txt \
		--universal --python-version $(LOCK_PYTHON_VERSION) --generate-hashes --default-index https://pypi.org/simple \
		--custom-compile-command "make lock" --quiet --output-file $(DEV_LOCK)

# Two workers: the machine's two cores. --durations shows what to move to the pipeline tier when make test slows.
PYTEST_WORKERS ?= 2

test: $(PY_STAMP) ## Run the fast tiers: unit, integration, infrastructure (under 4 minutes)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --durations=10 tests/unit tests/integration tests/infra

test-pipeline: $(PY_STAMP) ## Run the real-time local pipeline tier: end-to-end runs, faults, the reliability soak
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --durations=10 tests/pipeline

unit: $(PY_STAMP) ## Run the unit tests
	$(BIN)/python -m pytest tests/unit

integration: $(PY_STAMP) ## Run the integration tests
	$(BIN)/python -m pytest tests/integration

infra-test: $(PY_STAMP) ## Run the infrastructure (CDK template and cdk-nag) tests
	$(BIN)/python -m pytest tests/infra

lint: $(PY_STAMP) ## ruff (lint and format check), mypy (tests included) and the layering contract (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(PY_STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema: $(PY_STAMP) ## Regenerate the call request's JSON Schema from the model
	$(BIN)/python -c "import json; from outbound_caller.request.contract import request_json_schema; print(json.dumps(request_json_schema(), indent=2, ensure_ascii=False))" > schema/call-request.schema.json

send: $(PY_STAMP) ## Check a call request and send it: make send ARGS="request.json --queue-url URL [--dry-run]"
	$(BIN)/python -m outbound_caller.cli send $(ARGS)

demo: $(PY_STAMP) ## Run the whole system locally (no AWS account needed); knobs: python -m local demo --help
	$(BIN)/python -m local demo

synth: $(PY_STAMP) $(NODE_STAMP) ## Synthesize offline: bundles the function without Docker, runs cdk-nag
	$(CDK) synth --quiet $(CDK_ARGS)

bootstrap: $(PY_STAMP) $(NODE_STAMP) ## Bootstrap CDK in the account and Region of your credentials (once)
	$(CDK) bootstrap $(CDK_ARGS)

diff: $(PY_STAMP) $(NODE_STAMP) ## Show what a deploy would change (needs AWS credentials)
	$(CDK) diff $(CDK_ARGS)

deploy: $(PY_STAMP) $(NODE_STAMP) ## Deploy to the account and Region of your credentials (docs/deploy.md)
	$(CDK) deploy $(CDK_ARGS)

# make reads --help itself: pass options through PREFLIGHT_ARGS (make preflight PREFLIGHT_ARGS=--help). Not echoed,
# so that a missing credential or Region reads as one line.
preflight: $(PY_STAMP) ## Read-only checks of your account before the first call: instance, flows, caller ID, quotas, permission
	@$(BIN)/python -m preflight $(PREFLIGHT_ARGS)

destroy: $(PY_STAMP) $(NODE_STAMP) ## Delete the stack (the queues and their messages go with it)
	$(CDK) destroy $(CDK_ARGS)

reliability: $(PY_STAMP) ## 10,000 requests with faults injected: 0 rung twice, 0 lost (python -m local reliability --help)
	$(BIN)/python -m local reliability $(RELIABILITY_ARGS)

bench: $(PY_STAMP) ## Ours beside a naive loop: quota, busy instance, agents (abandoned, occupancy), cost per call; cold init and per-record cost (~13 min; bench/results.json, .png)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean: ## Remove the virtualenv, node_modules and build output
	rm -rf $(VENV) node_modules cdk.out .local build .pytest_cache .mypy_cache .ruff_cache .hypothesis

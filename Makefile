# The developer's front door. Every target installs what it needs on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

# jsii prints an end-of-life banner for Node 20 on every CDK call.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help dev test unit integration infra-test lint format demo bench schema synth deploy diff destroy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY_STAMP): requirements.txt lambda/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

dev: $(PY_STAMP) ## Create .venv with the function, CDK and test dependencies

test: $(PY_STAMP) ## Run every test (unit, integration, infrastructure)
	$(BIN)/python -m pytest

unit: $(PY_STAMP) ## Run the unit tests
	$(BIN)/python -m pytest tests/unit

integration: $(PY_STAMP) ## Run the integration tests
	$(BIN)/python -m pytest tests/integration

lint: $(PY_STAMP) ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(PY_STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema: $(PY_STAMP) ## Regenerate the call request's JSON Schema from the model
	PYTHONPATH=lambda $(BIN)/python -c "import json; from outbound_caller.contract import request_json_schema; print(json.dumps(request_json_schema(), indent=2, ensure_ascii=False))" > schema/call-request.schema.json

demo: $(PY_STAMP) ## Run the whole system locally (no AWS account needed)
	@echo "The local pipeline is not there yet."

clean: ## Remove the virtualenv, node_modules and build output
	rm -rf $(VENV) node_modules cdk.out .local build .pytest_cache .mypy_cache .ruff_cache .hypothesis

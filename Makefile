# Everything installs from nothing: a venv in .venv, Python packages from PyPI, the CDK CLI from npm.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export AWS_DEFAULT_REGION ?= eu-west-1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install test lint format unit integration infra deployed e2e synth local demo bench load clean

help:
	@echo "make demo   - a year of synthetic store traffic through the real API, monthly runs, pictures"
	@echo "make test   - lint + unit + integration + infra + e2e tests (what CI runs)"
	@echo "make local  - the local stack: moto + the real handlers behind a gateway on :3000"
	@echo "make synth  - cdk synth, offline"
	@echo "make bench  - side-by-side ratios against bare baselines"

$(STAMP): pyproject.toml package.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[tools,infra,dev]'
	npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

infra: $(STAMP)
	$(BIN)/pytest -q tests/infra

# The functions from cdk.out's assets, as Lambda lays them out, in a cached venv of the Powertools
# layer's release (build/lambda-runtime/), against moto.
deployed: $(STAMP)
	$(BIN)/pytest -q tests/deployed

e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e

test: $(STAMP) lint
	$(BIN)/pytest -q -n 2 --dist loadfile tests

synth: $(STAMP)
	npx --no-install cdk synth --no-notices --quiet > /dev/null && echo "synth ok: cdk.out/"

local: $(STAMP)
	$(BIN)/loyalty local

demo: $(STAMP)
	$(BIN)/loyalty demo

bench: $(STAMP)
	$(PY) -m bench

load: $(STAMP)
	$(PY) -m bench.load

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .ruff_cache demo-report build/lambda-runtime

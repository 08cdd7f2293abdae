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

CHROMIUM := /usr/bin/chromium

$(STAMP): pyproject.toml package.json
	@echo "make install: a venv in $(VENV) with the Python packages of pyproject.toml (runtime, tools, CDK, tests),"
	@echo "  the pinned CDK CLI and Swagger UI from npm (node_modules), and Debian's chromium for the browser test"
	@echo "  when $(CHROMIUM) is missing. Usually 3-6 minutes from nothing (warm pip/npm caches: about 2), seconds after."
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium (apt-get, about 1-2 minutes)"; \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# pip and npm are quiet for minutes: a plain line every 10 s says the install is still going.
	@( while sleep 10; do echo "  ... still installing ($${SECONDS}s)"; done ) & beat=$$!; \
	trap "kill $$beat 2>/dev/null" EXIT; set -e; \
	echo "pip: upgrading pip, then installing .[tools,infra,dev]"; \
	$(PY) -m pip install --quiet --upgrade pip; \
	$(PY) -m pip install --quiet -e '.[tools,infra,dev]'; \
	echo "npm: the pinned CDK CLI and swagger-ui-dist (package-lock.json)"; \
	npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error
	touch $(STAMP)
	@echo "make install: done in $(VENV) and node_modules"

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
	$(BIN)/pytest -q -n 2 --dist loadfile --durations=15 tests

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

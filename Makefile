# Two commands for a newcomer: `make demo` and `make test`. Both create .venv/ when missing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)

.PHONY: demo test test-fast lint ui venv bqemulator clean-warehouse validate bench dashboard dashboard-mes chromium

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	@touch $(STAMP)

venv: $(STAMP)

bqemulator:
	bash scripts/setup-bqemulator.sh

## Backfill every date of the real sample for ZL and MES on the embedded warehouse; print the ladders.
demo: $(STAMP)
	$(BIN)/mes-assets demo

chromium:
	bash scripts/setup-chromium.sh

## The whole test suite, including the BigQuery backend against a local emulator and the dashboard
## in headless Chromium (installed here when missing; without it the browser tests skip, saying why).
test: $(STAMP) bqemulator
	-bash scripts/setup-chromium.sh
	$(BIN)/python -m pytest

## The ZL procurement dashboard (http://127.0.0.1:8050): reads the shared warehouse's api view only.
dashboard: $(STAMP)
	$(BIN)/python -m mes_assets.dashboard

## The private MES cockpit, its own process (http://127.0.0.1:8051).
dashboard-mes: $(STAMP)
	$(BIN)/python -m mes_assets.dashboard --mes

## Lint (ruff), format check (ruff format --check) and types (mypy, configured in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check mes_assets mes_assets_tests benchmarks
	$(BIN)/ruff format --check mes_assets mes_assets_tests benchmarks
	$(BIN)/mypy

## Tests without the emulator-backed integration tests.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not emulator and not slow"

## Open the Dagster UI on this workspace (http://127.0.0.1:3000).
ui: $(STAMP)
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

validate: $(STAMP)
	$(BIN)/dagster definitions validate -w workspace.yaml

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean-warehouse:
	rm -rf .warehouse .dagster/storage .dagster/artifacts .dagster/compute_logs

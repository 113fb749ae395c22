# The two commands README promises: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-postgresql test-sqlite services install clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## Start API, web view, worker and scheduler with the demo province (Ctrl-C stops all).
run: $(STAMP)
	$(BIN)/python run.py

## Run the tests: the whole suite on PostgreSQL and Redis, then the embedded default (SQLite).
test: $(STAMP) services
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q --database=sqlite -m embedded

## Start the local PostgreSQL and Redis if they are not running.
services:
	@./scripts/services.sh

clean:
	rm -rf $(VENV) instance .pytest_cache

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STACK := $(PY) -m tools.stack

.PHONY: run test lint test-site test-library test-topologies mutants loadtest loadtest-ui bench

# One stamp per requirements set: `make run` installs the runtime only.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.loadtest: requirements.txt requirements-loadtest.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements-loadtest.txt
	touch $@ $(VENV)/.runtime

$(VENV)/.dev: requirements.txt requirements-loadtest.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.loadtest $(VENV)/.runtime

run: $(VENV)/.runtime
	$(STACK) run

lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The site's suite, then cache_sync's own (its test app, settings and URLs).
test: lint
	$(STACK) exec -- $(MAKE) --no-print-directory test-site test-library

test-site:
	$(PY) -m pytest $(PYTEST_ARGS)

test-library:
	cd cache_sync && ../$(VENV)/bin/pytest $(PYTEST_ARGS)

# cache_sync's suite against a 3-master Redis Cluster and behind Sentinel, each started for the run.
test-topologies: $(VENV)/.dev
	$(STACK) exec -- $(PY) -m tools.topology cluster -- $(MAKE) --no-print-directory test-library
	$(STACK) exec -- $(PY) -m tools.topology sentinel -- $(MAKE) --no-print-directory test-library

# Each deliberate breakage of cache_sync must make its suite fail.
mutants: $(VENV)/.dev
	$(STACK) exec -- $(PY) -m tools.mutants

loadtest: $(VENV)/.loadtest
	$(STACK) exec -- $(PY) -m loadtests.run $(LOADTEST_ARGS)

# Locust's web UI against a site, database and Redis of its own (never the dev data).
loadtest-ui: $(VENV)/.loadtest
	$(PY) -m loadtests.ui $(LOADTEST_UI_ARGS)

bench: $(VENV)/.dev
	$(STACK) exec -- $(PY) -m benchmarks.run $(BENCH_ARGS)
	$(STACK) exec -- $(PY) -m benchmarks.http $(BENCH_HTTP_ARGS)
	$(PY) -m benchmarks.topologies

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STACK := $(PY) -m tools.stack

.PHONY: run test lint test-site test-library test-topologies matrix mutants loadtest loadtest-ui bench lock newcomer

# One stamp per requirements set: `make run` installs the runtime only. Each set is a lock with hashes
# (requirements*.txt), compiled from the readable top-level pins (requirements*.in) by `make lock`.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install -q --require-hashes -r requirements.txt
	touch $@

$(VENV)/.loadtest: requirements.txt requirements-loadtest.txt | $(VENV)/bin/python
	$(PY) -m pip install -q --require-hashes -r requirements-loadtest.txt
	touch $@ $(VENV)/.runtime

$(VENV)/.dev: requirements.txt requirements-loadtest.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install -q --require-hashes -r requirements-dev.txt
	touch $@ $(VENV)/.loadtest $(VENV)/.runtime

run: $(VENV)/.runtime
	$(STACK) run

lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# The site's suite, then cache_sync's own (its test app, settings and URLs).
test: lint
	$(STACK) exec -- $(MAKE) --no-print-directory test-site test-library

# Each suite names its settings: an exported DJANGO_SETTINGS_MODULE must not choose them.
test-site:
	$(PY) -m pytest --ds=website.settings $(PYTEST_ARGS)

test-library:
	cd cache_sync && ../$(VENV)/bin/pytest --ds=cache_sync.tests.settings $(PYTEST_ARGS)

# cache_sync's suite against a 3-master Redis Cluster and behind Sentinel, each started for the run.
test-topologies: $(VENV)/.dev
	$(STACK) exec -- $(PY) -m tools.topology cluster -- $(MAKE) --no-print-directory test-library
	$(STACK) exec -- $(PY) -m tools.topology sentinel -- $(MAKE) --no-print-directory test-library

# cache_sync's suite on Django 5.2 (Python 3.11) and 6.0 (Python 3.12) x SQLite and PostgreSQL, in venvs
# of nox's own (.nox/). `make matrix NOX_ARGS=-l` lists the sessions; NOX_ARGS="-s <name>" runs one.
matrix: $(VENV)/.dev
	$(STACK) exec -- $(PY) -m nox $(NOX_ARGS)

# Each deliberate breakage of cache_sync must make its suite fail.
mutants: $(VENV)/.dev
	$(STACK) exec -- $(PY) -m tools.mutants

loadtest: $(VENV)/.loadtest
	$(STACK) exec -- $(PY) -m loadtests.run $(LOADTEST_ARGS)

# A million checked reads of `sync` within 30 minutes (loadtests/soak.py), its stale reads per million in
# loadtests/report/soak/; SOAK_ARGS="--reads 50000 --minutes 3", or "--modes ttl,sync" to see the check catch ttl's.
.PHONY: soak
soak: $(VENV)/.loadtest
	$(STACK) exec -- $(PY) -m loadtests.soak $(SOAK_ARGS)

# Locust's web UI against a site, database and Redis of its own (never the dev data).
loadtest-ui: $(VENV)/.loadtest
	$(PY) -m loadtests.ui $(LOADTEST_UI_ARGS)

bench: $(VENV)/.dev
	$(STACK) exec -- $(PY) -m benchmarks.run $(BENCH_ARGS)
	$(STACK) exec -- $(PY) -m benchmarks.http $(BENCH_HTTP_ARGS)
	$(PY) -m benchmarks.topologies

# Recompile the hashed locks after editing a requirements*.in file.
lock: $(VENV)/.dev
	tools/lock.sh

# What a newcomer does, checked: a fresh clone of HEAD, a new venv, `make run`, pages answer, Ctrl-C stops all.
newcomer:
	$(PYTHON) -m tools.newcomer

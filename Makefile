PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STACK := $(PY) -m tools.stack

.PHONY: run test lint loadtest bench venv

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

run: venv
	$(STACK) run

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: lint
	$(STACK) exec -- $(PY) -m pytest $(PYTEST_ARGS)

loadtest: venv
	$(STACK) exec -- $(PY) -m loadtests.run $(LOADTEST_ARGS)

bench: venv
	$(STACK) exec -- $(PY) -m benchmarks.run $(BENCH_ARGS)

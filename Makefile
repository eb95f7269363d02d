# SteelSight — `make help` lists the commands.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501

.DEFAULT_GOAL := help
.PHONY: help run test lint format bench notebooks demo clean

help: ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.runtime: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

run: $(VENV)/.runtime ## install, build the demo warehouse on first start, serve on localhost:8501
	$(PY) -m analytics demo --if-missing
	@$(PY) -m analytics users status
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.address localhost

demo: $(VENV)/.runtime ## rebuild the demo warehouse (a new version; older ones stay for rollback)
	$(PY) -m analytics demo

test: $(VENV)/.dev ## run the whole suite (unit, app, browser, notebooks), as CI does
	$(PY) -m pytest

lint: $(VENV)/.dev ## ruff and mypy
	$(PY) -m ruff check .
	$(PY) -m mypy

format: $(VENV)/.dev ## ruff import sorting and fixes
	$(PY) -m ruff check --fix .

bench: $(VENV)/.dev ## benchmarks at ≈1 M and ≈10 M lines: writes bench/RESULTS.md (not tests)
	$(PY) -m bench
	$(PY) -m bench.spark --scale 150
	$(PY) -m bench.pages --scale 150
	$(PY) -m bench.levels --scale 150
	$(PY) -m bench.entry_levels --scale 150
	$(PY) -m bench.load --scale 150 --sessions 20
	$(PY) -m bench.import_visible --scale 150
	$(PY) -m bench.data_page --rows 500000

notebooks: $(VENV)/.dev ## sync notebooks from their .py sources and execute them in place
	$(PY) -m jupytext --sync notebooks/*.py
	@# nbclient (a test dependency) runs them: nbconvert is not installed
	$(PY) -c 'import sys, nbformat, nbclient; [nbformat.write(nbclient.execute(nbformat.read(p, 4), resources={"metadata": {"path": "notebooks"}}), p) for p in sys.argv[1:]]' notebooks/*.ipynb

clean: ## remove the venv and caches (keeps the warehouse)
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache

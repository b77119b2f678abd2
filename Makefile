# Two commands matter on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install check test lint run bench clean

install: $(STAMP)

# Reinstall only when the project's dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The fast loop: lint, then every test not marked slow or browser, on one process per core
# (pytest-xdist). Under a minute on the 2-core development machine.
check: lint
	$(BIN)/pytest -q -n auto -m "not slow and not browser"

# Everything, one test at a time: the real-time suites, the browser and the rest.
test: lint
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  printf '\n%s\n%s\n%s\n\n' '!!!!!!!!!! NO BROWSER: the portal browser tests will be SKIPPED !!!!!!!!!!' \
	  'Install Debian chromium (sudo apt-get install -y chromium); .ci/run does, and fails without it.' \
	  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'
	$(BIN)/pytest -q

# The embedded Temporal server with its web UI, the worker and demo journeys.
run: install
	$(BIN)/journey validate journeys/
	$(BIN)/python worker.py --dev --demo

bench: install
	$(BIN)/python -m bench.simulate
	$(BIN)/python -m bench.replay
	$(BIN)/python -m bench.throughput 100 500
	$(BIN)/python -m bench.scale 2000
	$(BIN)/python -m bench.codec 300
	$(BIN)/python -m bench.portal 1000

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

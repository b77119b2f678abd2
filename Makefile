# Two commands matter on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every dependency pinned to the version CI tested; `make lock` refreshes it.
CONSTRAINTS := constraints.txt

.PHONY: install lock check test lint run bench clean diagrams catalogs

install: $(STAMP)

# Reinstall only when the project's dependencies or their pins change.
$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev]'
	touch $(STAMP)

# Re-pin: the newest versions pyproject.toml allows, installed into a fresh venv, frozen
# (without the project itself) into constraints.txt. Run `make test`, then commit it.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	{ echo '# Pins for `make install` (pip install -c constraints.txt). Made by `make lock`: do not edit.'; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable; } > $(CONSTRAINTS)
	rm -rf .lock-venv

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The fast loop: lint, then every test not marked slow or browser, on one process per core
# (pytest-xdist). Under a minute on the 2-core development machine at rest (README).
check: lint
	$(BIN)/pytest -q -n auto -m "not slow and not browser"

# Everything, one test at a time: the real-time suites, the browser and the rest.
test: lint
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  printf '\n%s\n%s\n%s\n\n' '!!!!!!!!!! NO BROWSER: the portal browser tests will be SKIPPED !!!!!!!!!!' \
	  'Install Debian chromium (sudo apt-get install -y chromium); .ci/run does, and fails without it.' \
	  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || \
	  printf '\n%s\n%s\n\n' '!!!!!!!!!! NO NODE: the cross-language (TypeScript) test will be SKIPPED !!!!!!!!!!' \
	  'Install Node and npm (sudo apt-get install -y nodejs npm); .ci/run does, and fails without it.'
	$(BIN)/pytest -q

# The embedded Temporal server with its web UI, the worker and demo journeys.
run: install
	$(BIN)/journey validate journeys/
	$(BIN)/python worker.py --dev --demo

# The pictures of the shipped journeys in docs/designing-journeys.md (a test fails when stale).
diagrams: install
	$(BIN)/journey diagram journeys/ --format svg --out docs/images/journeys/

# The portal's sentences, from its templates and Python, merged into each language's
# catalog (new ones untranslated: tests/web/test_languages.py names them; gone ones dropped).
catalogs: install
	$(BIN)/pybabel extract -F rapport/web/portal/babel.cfg --no-location --omit-header \
	  -o .portal.pot rapport/web/portal rapport/web/unsubscribe.py
	$(BIN)/pybabel update -i .portal.pot -d rapport/web/portal/locales --no-fuzzy-matching \
	  --ignore-obsolete --ignore-pot-creation-date
	rm .portal.pot

bench: install
	$(BIN)/python -m bench.simulate
	$(BIN)/python -m bench.replay
	$(BIN)/python -m bench.throughput 100 500
	$(BIN)/python -m bench.stops 20
	$(BIN)/python -m bench.scale 2000
	$(BIN)/python -m bench.codec 300
	$(BIN)/python -m bench.portal 1000
	$(BIN)/python -m bench.intake 300 10000

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# One entry point for everything a developer runs. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
BASE ?= main
BENCH_ARGS ?=

.PHONY: help setup upgrade-deps assets i18n demo test lint format bench bench-compare serve screenshots clean

help:
	@echo "make demo   - set up, load the Cần Thơ demo data, simulate live feeds and serve http://127.0.0.1:8000 (PORT=8080: another port)"
	@echo "make test   - set up, then run the whole test suite"
	@echo "make lint   - import-linter (layers), ruff (lint + format check) and mypy"
	@echo "make bench  - run the benchmarks (figures go into docs/performance.md)"
	@echo "make bench-compare BASE=<rev> - HTTP/MQTT ingest and alert latency, BASE and this tree alternately"
	@echo "make serve  - run the server on the configured database (PORT=8080: another port)"
	@echo "make screenshots - regenerate docs/screenshots/ with the browser tests (headless Chromium)"

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tây Đô needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian, apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

# The newest releases allowed by pyproject.toml, written back to constraints.txt.
upgrade-deps: setup
	$(BIN)/python -m pip install --quiet --upgrade --upgrade-strategy eager -e ".[dev]"
	@{ sed -n '/^#/p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable; } > constraints.new
	@mv constraints.new constraints.txt
	@echo "constraints.txt updated: run make test and make lint, then commit it"

# Console front-end libraries (npm, lockfile) copied into the package: served by the IOC itself.
ASSETS := src/taydo/web/static/vendor/.stamp
$(ASSETS): package.json package-lock.json src/taydo/web/echarts.entry.js $(STAMP)
	@[ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund || { echo "npm ci failed: on Debian, apt-get install npm"; exit 1; }
	$(BIN)/python -m taydo.web.assets node_modules
	@touch $@

assets: $(ASSETS)

# Console messages: extract (babel.cfg), update the English catalog, compile it.
I18N := src/taydo/web/translations
i18n: setup
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output --omit-header -o $(I18N)/messages.pot .
	$(BIN)/pybabel update -i $(I18N)/messages.pot -d $(I18N) -l en --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d $(I18N) -l en --statistics

# make demo PORT=8080 serves on another port (the default: 8000)
demo: setup assets
	$(BIN)/taydo demo $(if $(PORT),--port $(PORT))

test: setup assets
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser tests take their pictures in a temporary directory; this target points them at
# docs/screenshots/ (the only way those tracked files change).
screenshots: setup assets
	TAYDO_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q -p no:cacheprovider -m browser tests

lint: setup
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: setup
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

bench: setup
	$(BIN)/python benchmarks/run.py

# e.g. make bench-compare BASE=main BENCH_ARGS="--rounds 5"; BENCH_ARGS="--quick --rounds 1" to try it
bench-compare: setup
	$(BIN)/python benchmarks/compare.py --base $(BASE) $(BENCH_ARGS)

serve: setup
	$(BIN)/taydo serve $(if $(PORT),--port $(PORT))

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info

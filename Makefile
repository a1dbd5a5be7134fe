# Two commands matter: `make demo` and `make test` (README). Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Written last by the copy, so it stands for complete browser assets (docs/architecture.md, "Static assets").
ASSETS_STAMP := src/cadence/web/static/vendor/manifest.json
VENDOR_ASSETS = npm ci --ignore-scripts --no-audit --no-fund && $(BIN)/python -m cadence.web.assets

.PHONY: install assets catalogs catalogs-extract demo test lint bench bench-health clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Re-copied when the lockfile or the list of vendored files changes, not on every install.
$(ASSETS_STAMP): package.json package-lock.json src/cadence/web/assets.py | $(STAMP)
	$(VENDOR_ASSETS)

# Always re-runs: the command the app names when a vendored file is missing.
assets: | $(STAMP)
	$(VENDOR_ASSETS)

install: $(STAMP) $(ASSETS_STAMP) catalogs

# Compiled catalogs (.mo) are build outputs, shipped in the wheel as package data (docs/guides/translating.md).
LOCALES := src/cadence/locales
catalogs: | $(STAMP)
	$(BIN)/pybabel compile --statistics -d $(LOCALES) -D cadence

# Refresh the template and the .po files from the sources; then translate and `make catalogs`.
catalogs-extract: | $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_plural:1,2 --add-location=file --sort-output \
		--project=Cadence --copyright-holder="Cadence contributors" -o $(LOCALES)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) -D cadence

demo: install
	$(BIN)/cadence demo

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/ingest.py --write-docs
	$(BIN)/python benchmarks/live_latency.py --write-docs
	$(BIN)/python benchmarks/ui_paint.py --write-docs
	$(BIN)/python benchmarks/reports.py --write-docs
	$(BIN)/python benchmarks/kpi_year.py --write-docs
	$(BIN)/python benchmarks/genealogy.py --write-docs
	$(BIN)/python benchmarks/spc_arl.py --write-docs
	$(BIN)/python benchmarks/worker_rss.py --write-docs

# Failure anticipation (issue 6): about two hours on 2 cores (the C-MAPSS cross-validation half an hour); the dataset runs read ../shared/datasets.
bench-health: install
	mkdir -p var
	$(BIN)/python benchmarks/health_sim.py --write-docs --save-runs var/health-runs.json
	$(BIN)/python benchmarks/health_forecast.py var/health-runs.json --write-docs
	$(BIN)/python benchmarks/nab_detector.py --write-docs
	$(BIN)/python benchmarks/cmapss_rul.py --cv 5 --write-docs
	$(BIN)/python benchmarks/public_classification.py --write-docs

clean:
	rm -rf $(VENV) var build dist .pytest_cache .mypy_cache .ruff_cache test-artifacts node_modules src/cadence/web/static/vendor

# Strom developer commands. `make help` lists them.
PYTHON ?= python3
STAMP := .strom/installed.stamp
PYTEST_ARGS ?=

.PHONY: help install start test test-tools test-unit lint typecheck bench clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@mkdir -p .strom && touch $(STAMP)

install: $(STAMP)  ## Install Strom and its development tools (pip, editable)

start: $(STAMP)  ## Start Strom: Kafka, Elasticsearch and every service; prints where to connect
	strom server start-dev

test: $(STAMP) test-tools  ## Run the whole test suite (starts its own Kafka and Elasticsearch)
	env -u PYTHONDONTWRITEBYTECODE $(PYTHON) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

test-tools:  ## Install the system tools the tests need (Debian's chromium), once
	@bash scripts/ensure-test-tools.sh

test-unit: $(STAMP)  ## Run only the tests that need no broker
	env -u PYTHONDONTWRITEBYTECODE $(PYTHON) -m pytest -p no:cacheprovider tests/unit $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff lint and format check
	ruff check .
	ruff format --check .

typecheck: $(STAMP)  ## mypy
	mypy streams schemas sdk/strom frontend history_processor matching_processor visibility_indexer worker_service

bench: $(STAMP)  ## Run the benchmarks (print figures; assert nothing)
	env -u PYTHONDONTWRITEBYTECODE $(PYTHON) bench/bench_streams.py
	$(PYTHON) bench/bench_schemas.py

clean:  ## Remove build and tool caches (not the Kafka/Elasticsearch cache in ~/.cache/strom)
	rm -rf .strom build *.egg-info .mypy_cache .ruff_cache

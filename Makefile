# Strom developer commands. `make help` lists them.
#
# Everything runs in the project's virtual environment .venv (VENV=... moves it), made with
# $(BASE_PYTHON) by the first target that needs it; its bin/ comes first on PATH in every
# recipe, so the tools it installs (strom, temporal, ruff, mypy) are the ones used.
BASE_PYTHON ?= python3
VENV ?= .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.strom-installed
PYTEST_ARGS ?=
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: help install start test test-tools test-unit lint typecheck bench clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# A half-made environment (say, Debian's python3 without its python3-venv package) is removed,
# so the next run starts over instead of using it.
$(PYTHON):
	$(BASE_PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "make: cannot create $(VENV) with $(BASE_PYTHON) (on Debian: apt-get install python3-venv; or pass BASE_PYTHON=...)" >&2; \
	  exit 1; }

$(STAMP): pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## Install Strom and its development tools into .venv (pip, editable)

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
	mypy streams schemas sdk/strom frontend history_processor matching_processor visibility_indexer worker_service replicator

bench: $(STAMP)  ## Run the benchmarks (print figures; assert nothing)
	env -u PYTHONDONTWRITEBYTECODE $(PYTHON) bench/bench_streams.py
	$(PYTHON) bench/bench_schemas.py

clean:  ## Remove build and tool caches (not .venv, nor the Kafka/Elasticsearch cache in ~/.cache/strom)
	rm -rf .strom build *.egg-info .mypy_cache .ruff_cache

# make demo   - set up, then deploy both envs into the local AWS and show allowed / denied calls
# make test   - set up, then run every check: lint, types, Terraform fmt/validate, checkov, the test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
UV     := $(BIN)/uv
UV_VERSION := 0.13.9
# checkov pins an older boto3 than ours, so it lives in a virtualenv of its own.
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
CHECKOV_VERSION := 3.3.30
# Four workers on two cores: three test modules mostly wait (the AWS provider's 2-minute CreateRole retry, its S3
# lifecycle re-reads and Route 53 wait), so a fourth worker keeps both cores busy meanwhile (measured from a clean
# clone: 5m32s with -n 4, 5m41s with -n 3, before the waits became the larger share).
PYTEST_WORKERS ?= 4
# Python's bytecode cache, in .venv only: where PYTHONDONTWRITEBYTECODE is set (to keep trees free of __pycache__),
# every Python process would compile all it imports again - each test worker, each `xacct` and checkov run.
export PYTHONPYCACHEPREFIX := $(CURDIR)/$(VENV)/pycache
# Every Terraform command runs with the CLI config the project writes (xacct terraform-setup), never with whatever
# TF_CLI_CONFIG_FILE the environment names: one that names a missing file makes Terraform warn on every command.
TERRAFORM = TF_CLI_CONFIG_FILE="$$($(BIN)/python -c 'from xacct.local.terraform import write_cli_config as w; print(w())')" terraform
export PYTHONDONTWRITEBYTECODE :=

.PHONY: help setup demo test lint typecheck pytest bench fmt docs clean

help:
	@echo "make demo    deploy envs/deve + envs/stag into a local AWS and call the API (allowed and denied)"
	@echo "make test    lint, type-check and run the whole suite"
	@echo "make bench   run the benchmarks in benchmarks/"
	@echo "make fmt     format Python and Terraform"
	@echo "make docs    regenerate the inputs/outputs tables in modules/*/README.md from the .tf files"

# uv installs what pip would, about four times faster; pip stays in the virtualenv for whoever wants it. The
# virtualenv starts without pip (ensurepip alone takes 5 s) and the system's pip (>= 22.3, for --python) puts uv
# in it; an older pip falls back to ensurepip. -qq: errors only, not the warnings some machines' pip configuration
# prints about its own find-links folders (nothing this project can change).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(BIN)/python install --quiet --quiet 'uv==$(UV_VERSION)' \
	  || { $(BIN)/python -m ensurepip --default-pip >/dev/null && $(BIN)/python -m pip install --quiet 'uv==$(UV_VERSION)'; }
	$(UV) pip install --quiet --python $(BIN)/python pip -e '.[local,dev]'
	@touch $@

$(CHECKOV_STAMP): | $(STAMP)
	$(UV) venv --quiet --clear --python $(BIN)/python $(CHECKOV_VENV)
	$(UV) pip install --quiet --python $(CHECKOV_VENV)/bin/python 'checkov==$(CHECKOV_VERSION)'
	@touch $@

# Virtualenv + package, then the Terraform CLI config (provider mirror) and a provider check.
setup: $(STAMP)
	$(BIN)/xacct terraform-setup

# make demo ARGS=--keep leaves everything running for exploring by hand.
demo: setup
	$(BIN)/xacct demo $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(TERRAFORM) fmt -check -recursive modules envs examples

typecheck: $(STAMP)
	$(BIN)/mypy src tools

pytest: setup $(CHECKOV_STAMP)
	XACCT_CHECKOV=$(CURDIR)/$(CHECKOV_VENV)/bin/checkov $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadscope --no-loadscope-reorder --durations=15

# Lint and type checks run beside the suite (their output is short); make still fails if any of them fails.
test:
	$(MAKE) --no-print-directory -j3 lint typecheck pytest

bench: setup
	$(BIN)/python benchmarks/client_overhead.py
	$(BIN)/python benchmarks/client_stack.py
	$(BIN)/python benchmarks/gateway_cost.py
	$(BIN)/python benchmarks/payloads.py
	$(BIN)/python benchmarks/access_report.py
	$(BIN)/python benchmarks/scale.py

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(TERRAFORM) fmt -recursive modules envs examples

# The tables between the BEGIN_TF_DOCS/END_TF_DOCS markers; tests/test_docs_tables.py fails when they drift.
docs: $(STAMP)
	$(BIN)/python tools/tfdocs.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

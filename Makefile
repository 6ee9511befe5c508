# VerAI network: every install step and every command a user or CI runs.
# `make test` and `make demo` install whatever is missing first (make deps), and nothing twice.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMPS := .stamps

# tools/bin/anvil poses every local chain as BASE Sepolia; tools/solc-bin holds the solc stand-in
# that py-solc-x (used by ape-solidity) treats as an installed native compiler.
export PATH := $(CURDIR)/tools/bin:$(BIN):$(PATH)
export SOLCX_BINARY_PATH := $(CURDIR)/tools/solc-bin
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help deps compile lint typecheck test test-fast demo gas gas-snapshot bench clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# ---------------------------------------------------------------- installs (idempotent)
$(STAMPS)/python: pyproject.toml requirements.lock
	@mkdir -p $(STAMPS)
	@echo "==> Python virtualenv $(VENV) (pinned by requirements.lock)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $@

$(STAMPS)/node: package.json package-lock.json
	@mkdir -p $(STAMPS)
	@echo "==> npm ci (solc, anvil, forge, OpenZeppelin)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(STAMPS)/python $(STAMPS)/node ## install everything the project needs (idempotent)

compile: deps ## compile the contracts with ape-solidity
	ape compile

lint: deps ## ruff
	ruff check oracle tests scripts bench tools
	ruff format --check oracle tests scripts bench tools

typecheck: deps ## mypy strict on oracle/
	mypy

test: deps lint typecheck ## lint, types, the whole suite, gas snapshot comparison
	@mkdir -p build && rm -f build/gas-report.json
	@start=$$(date +%s); \
	ape test tests -p no:cacheprovider -q; \
	echo "suite time: $$(( $$(date +%s) - start )) s"
	$(BIN)/python tools/gas_snapshot.py check

demo: deps ## start a local chain posing as BASE Sepolia and run the whole system end to end
	ape run demo

gas: deps ## print the gas tables (ape test --gas) and the snapshot
	@mkdir -p build && rm -f build/gas-report.json
	ape test tests/contracts -q --gas
	$(BIN)/python tools/gas_snapshot.py show

gas-snapshot: deps ## re-measure gas and rewrite the committed snapshot
	@mkdir -p build && rm -f build/gas-report.json
	ape test tests/contracts -q
	$(BIN)/python tools/gas_snapshot.py write

bench: deps ## benchmarks side by side with the reference algorithms (ratios)
	@for b in bench/*.py; do echo "==> $$b"; $(BIN)/python $$b; done

clean: ## remove build outputs (keeps the installs)
	rm -rf .build contracts/.cache build out forge-cache

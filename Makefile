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

.PHONY: help deps deps-ipfs test-ipfs compile abi abi-check lint typecheck test test-fast demo gas gas-snapshot bench clean
.PHONY: security slither fuzz fuzz-long halmos audit

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

# Slither and halmos share a virtualenv of their own (their eth-* pins conflict with ape's);
# Mythril gets another, created only by `make audit`.
SEC_VENV := .venv-slither
SEC_BIN := $(CURDIR)/$(SEC_VENV)/bin
MYTH_VENV := .venv-mythril
MYTH_BIN := $(CURDIR)/$(MYTH_VENV)/bin

$(STAMPS)/security-tools: tools/slither-requirements.lock
	@mkdir -p $(STAMPS)
	@echo "==> Slither + halmos virtualenv $(SEC_VENV) (pinned by tools/slither-requirements.lock)"
	@test -x $(SEC_BIN)/python || $(PYTHON) -m venv $(SEC_VENV)
	@$(SEC_BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c tools/slither-requirements.lock slither-analyzer halmos
	@touch $@

$(STAMPS)/mythril: tools/mythril-requirements.lock
	@mkdir -p $(STAMPS)
	@echo "==> Mythril virtualenv $(MYTH_VENV) (pinned by tools/mythril-requirements.lock)"
	@test -x $(MYTH_BIN)/python || $(PYTHON) -m venv $(MYTH_VENV)
	@$(MYTH_BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c tools/mythril-requirements.lock mythril
	@touch $@

deps: $(STAMPS)/python $(STAMPS)/node $(STAMPS)/security-tools ## install everything the project needs (idempotent)

compile: deps ## compile the contracts with ape-solidity
	ape compile

abi: compile ## re-export the committed ABIs (oracle/abi/*.json) from the compiled contracts
	$(BIN)/python tools/export_abi.py

abi-check: compile ## fail when oracle/abi/*.json differs from what the compiler produces
	$(BIN)/python tools/export_abi.py --check

lint: deps ## ruff
	ruff check oracle tests scripts bench tools
	ruff format --check oracle tests scripts bench tools

typecheck: deps ## mypy strict on oracle/
	mypy

test: deps lint typecheck abi-check security ## lint, types, security gates, the whole suite, gas snapshot comparison
	@mkdir -p build && rm -f build/gas-report.json
	@start=$$(date +%s); \
	ape test tests -m 'not ipfs' -p no:cacheprovider -q; \
	echo "suite time: $$(( $$(date +%s) - start )) s"
	$(BIN)/python tools/gas_snapshot.py check

demo: deps ## start a local chain posing as BASE Sepolia and run the whole system end to end
	ape run demo

gas: deps ## measure receipt gas of every named operation and print it beside the snapshot
	@# `ape test --gas` (ape 0.8.51) crashes on view calls that return structs (TypeError in
	@# ape_ethereum decode_returndata while tracing), so the table is the suite's own receipt gas.
	@mkdir -p build && rm -f build/gas-report.json
	ape test tests/contracts -q -p no:cacheprovider
	$(BIN)/python tools/gas_snapshot.py show

gas-snapshot: deps ## re-measure gas and rewrite the committed snapshot
	@mkdir -p build && rm -f build/gas-report.json
	ape test tests/contracts -q
	$(BIN)/python tools/gas_snapshot.py write

bench: deps ## benchmarks side by side with the reference algorithms (ratios)
	@for b in bench/[!_]*.py; do echo "==> $$b"; $(BIN)/python $$b; done

# ---------------------------------------------------------------- security gates (make test runs them)
security: slither fuzz halmos ## Slither, forge fuzz + invariant tests, halmos proofs

slither: $(STAMPS)/security-tools $(STAMPS)/node ## static analysis: fails on any medium+ finding in contracts/
	@start=$$(date +%s); \
	FOUNDRY_PROFILE=slither forge build --offline --build-info --force; \
	FOUNDRY_PROFILE=slither $(SEC_BIN)/slither . --foundry-ignore-compile \
		--foundry-out-directory build/forge-slither --filter-paths node_modules \
		--exclude-informational --exclude-low --fail-medium; \
	echo "slither time: $$(( $$(date +%s) - start )) s"

fuzz: $(STAMPS)/node ## forge fuzz and invariant tests (tests/forge, fixed seed, < 2 min)
	@start=$$(date +%s); \
	forge test --offline; \
	echo "forge time: $$(( $$(date +%s) - start )) s"

fuzz-long: $(STAMPS)/node ## the forge tests with 10x the runs and a fresh seed (FOUNDRY_FUZZ_SEED=... replays)
	@seed=$${FOUNDRY_FUZZ_SEED:-0x$$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')}; \
	echo "==> seed $$seed (replay with FOUNDRY_FUZZ_SEED=$$seed make fuzz-long)"; \
	start=$$(date +%s); \
	FOUNDRY_PROFILE=long FOUNDRY_FUZZ_SEED=$$seed forge test --offline; \
	echo "forge time: $$(( $$(date +%s) - start )) s"

# loop 10 > the 9-byte varint bound of CID, so every path is explored; `b` = CID lengths tried
HALMOS_FLAGS := --loop 10 --array-lengths 'b={0,1,2,3,4,33,34,35,37,68}'
halmos: $(STAMPS)/security-tools $(STAMPS)/node ## halmos symbolic proofs (check_ functions in tests/forge/symbolic)
	@start=$$(date +%s); \
	FOUNDRY_PROFILE=halmos $(SEC_BIN)/halmos --root . --forge-build-out build/forge-halmos $(HALMOS_FLAGS); \
	echo "halmos time: $$(( $$(date +%s) - start )) s"

audit: $(STAMPS)/mythril $(STAMPS)/node ## Mythril on every deployable contract (~70-90 s each; not in make test)
	@mkdir -p build
	@printf '{"remappings": ["@openzeppelin/contracts/=%s/node_modules/@openzeppelin/contracts/"]}' \
		"$(CURDIR)" > build/mythril-solc.json
	@status=0; for f in contracts/*.sol; do \
		name=$$(basename $$f .sol); echo "==> mythril $$f:$$name"; \
		$(MYTH_BIN)/myth analyze $$f:$$name --solv 0.8.37 --solc-json build/mythril-solc.json \
			--execution-timeout $${MYTHRIL_TIMEOUT:-90} || status=1; \
	done; exit $$status

$(STAMPS)/ipfs: tools/ipfs/package.json tools/ipfs/package-lock.json
	@mkdir -p $(STAMPS)
	@echo "==> js-ipfs 0.66.1 (a real IPFS node with the Kubo RPC API; ~4 min, 289 MB, once)"
	@# npm ci rejects this lock ("Missing: headless@", an optional dependency of wrtc that npm
	@# leaves unresolved); npm install installs exactly the locked versions all the same.
	@cd tools/ipfs && npm install --no-audit --no-fund --loglevel=error
	@touch $@

deps-ipfs: $(STAMPS)/ipfs ## install the real IPFS node used by `make test-ipfs`

test-ipfs: deps deps-ipfs ## IpfsStore against a real js-ipfs daemon (CIDs equal cid_for)
	ape test tests/ipfs -m ipfs -p no:cacheprovider -q

clean: ## remove build outputs (keeps the installs)
	rm -rf .build contracts/.cache build out forge-cache

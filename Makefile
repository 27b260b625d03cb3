# camelops — every target installs what it needs itself (idempotent, cached under .cache/).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CACHE := .cache
SETUP_STAMP := $(CACHE)/setup-$(shell sha256sum pyproject.toml | cut -c1-12).stamp
CATALOG_STAMP := schema/catalog/data/.stamp
WEB_STAMP := portal/static/vendor/.stamp
CAMEL_CATALOG_VERSION := $(shell cat tools/camel-catalog.version)
PYTEST_ARGS ?=

.PHONY: help setup run test test-fast lint golden mutate bench schema clean catalog k8s camel-app camel-oracle chromium peers kubectl

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(SETUP_STAMP): pyproject.toml
	@mkdir -p $(CACHE)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@rm -f $(CACHE)/setup-*.stamp && touch $@

$(CATALOG_STAMP): tools/camel-catalog.version tools/fetch_camel_catalog.py $(SETUP_STAMP)
	$(PY) tools/fetch_camel_catalog.py --version $(CAMEL_CATALOG_VERSION) --cache $(CACHE)/npm --out schema/catalog/data

$(WEB_STAMP): tools/fetch_web_assets.py $(SETUP_STAMP)
	$(PY) tools/fetch_web_assets.py --cache $(CACHE)/npm --static portal/static/vendor --test-assets $(CACHE)/web

setup: $(SETUP_STAMP) $(CATALOG_STAMP) $(WEB_STAMP) ## install Python deps, the pinned Camel catalog, htmx and axe-core

catalog: $(CATALOG_STAMP) ## fetch the pinned @kaoto/camel-catalog and extract what validation needs

run: setup camel-app ## the whole platform on this machine under .camelops/ (Ctrl-C stops, rerun resumes)
	$(VENV)/bin/camelops validate examples/repo-layout
	$(VENV)/bin/camelops demo --root .camelops --camel-home $(CACHE)/camel-app

lint: setup ## ruff format --check, ruff check, mypy --strict, import contracts
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy camelops contract schema renderers reconciler tunnel runner telemetry portal tests bench tools
	$(VENV)/bin/lint-imports

test: setup k8s camel-app camel-oracle chromium kubectl lint ## the whole suite (set-up incl. the k8s control plane, Camel app and oracle, Chromium, lint, pytest)
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup ## unit tests only, no lint
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

golden: setup ## rewrite golden expectations (review the diff!)
	UPDATE_GOLDEN=1 $(PY) -m pytest tests/golden tests/unit/validate_corpus -q

mutate: setup k8s ## mutation testing (mutmut) of prune, redaction, delivery, webhooks/tokens, PKI, sealing; slow, not part of test
	nice -n 10 $(PY) -m tools.mutate $(MUTATE_GROUPS)

bench: setup k8s peers ## benchmarks: figures and ratios against an in-run baseline or peer
	$(PY) -m bench

schema: setup ## regenerate schema/json/*.schema.json and docs/config-reference.md from the models
	$(PY) -m schema.generate

clean: ## remove caches and build output (keeps .venv)
	rm -rf $(CACHE) schema/catalog/data .mypy_cache .ruff_cache .pytest_cache examples/camel-app/target \
		examples/camel-oracle/target

chromium: ## Debian's Chromium for the browser tests (apt-get, idempotent; never a downloaded browser)
	@test -x /usr/bin/chromium || (apt-get update -q && apt-get install -y -q chromium)

K8S_STAMP := $(CACHE)/k8s/bin/.stamp
$(K8S_STAMP): tools/k8s/build.sh tools/k8s/versions.env
	bash tools/k8s/build.sh $(CACHE)/k8s

k8s: $(K8S_STAMP) ## build the Kubernetes test control plane from Go modules into .cache/k8s

PEERS := $(CACHE)/peers/bin
$(PEERS)/helm: tools/peers/helm.sh tools/k8s/versions.env
	bash tools/peers/helm.sh $(CACHE)/peers
$(PEERS)/kubectl: tools/peers/kubectl.sh tools/k8s/versions.env
	bash tools/peers/kubectl.sh $(CACHE)/peers

kubectl: $(PEERS)/kubectl ## kubectl from Go modules into .cache/peers: the user-path suite's second client

peers: $(PEERS)/helm $(PEERS)/kubectl $(KUBECONFORM) ## build the benchmarks' peers (helm, kubectl, kubeconform) from Go modules into .cache/peers

CAMEL_APP_STAMP := $(CACHE)/camel-app/.stamp
$(CAMEL_APP_STAMP): tools/camel-app/build.sh $(shell find examples/camel-app -type f -not -path '*/target/*' 2>/dev/null)
	bash tools/camel-app/build.sh $(CACHE)/camel-app

camel-app: $(CAMEL_APP_STAMP) ## build the Camel Main test runtime (Maven) into .cache/camel-app

CAMEL_ORACLE_STAMP := $(CACHE)/camel-oracle/.stamp
$(CAMEL_ORACLE_STAMP): tools/camel-oracle/build.sh $(shell find examples/camel-oracle -type f -not -path '*/target/*' 2>/dev/null)
	bash tools/camel-oracle/build.sh $(CACHE)/camel-oracle

camel-oracle: $(CAMEL_ORACLE_STAMP) ## build the test-only harness running Camel's own YAML loader (Maven) into .cache/camel-oracle

KUBECONFORM := $(CACHE)/peers/bin/kubeconform
$(KUBECONFORM): tools/peers/kubeconform.sh
	bash tools/peers/kubeconform.sh $(CACHE)/peers


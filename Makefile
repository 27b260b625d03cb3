# camelops — every target installs what it needs itself (idempotent, cached under .cache/).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CACHE := .cache
SETUP_STAMP := $(CACHE)/setup-$(shell sha256sum pyproject.toml | cut -c1-12).stamp
CATALOG_STAMP := schema/catalog/data/.stamp
CAMEL_CATALOG_VERSION := $(shell cat tools/camel-catalog.version)
PYTEST_ARGS ?=

.PHONY: help setup run test test-fast lint golden mutate bench schema clean catalog k8s camel-app chromium

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

setup: $(SETUP_STAMP) $(CATALOG_STAMP) ## install Python deps into .venv and the pinned Camel catalog

catalog: $(CATALOG_STAMP) ## fetch the pinned @kaoto/camel-catalog and extract what validation needs

run: setup ## the main job on the embedded default
	$(VENV)/bin/camelops validate examples/repo-layout

lint: setup ## ruff format --check, ruff check, mypy --strict, import contracts
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy camelops schema renderers reconciler tunnel runner telemetry portal tests bench tools
	$(VENV)/bin/lint-imports

test: setup k8s camel-app lint ## the whole suite (set-up incl. the k8s control plane and Camel app, lint, pytest)
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup ## unit tests only, no lint
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

golden: setup ## rewrite golden expectations (review the diff!)
	UPDATE_GOLDEN=1 $(PY) -m pytest tests/golden tests/unit/validate_corpus -q

mutate: setup k8s ## mutation testing (mutmut) of prune, redaction, delivery, webhooks/tokens, PKI, sealing; slow, not part of test
	nice -n 10 $(PY) -m tools.mutate $(MUTATE_GROUPS)

bench: setup k8s ## benchmarks: figures and ratios against an in-run baseline
	$(PY) -m bench

schema: setup ## regenerate schema/json/*.schema.json and docs/config-reference.md from the models
	$(PY) -m schema.generate

clean: ## remove caches and build output (keeps .venv)
	rm -rf $(CACHE) schema/catalog/data .mypy_cache .ruff_cache .pytest_cache examples/camel-app/target

K8S_STAMP := $(CACHE)/k8s/bin/.stamp
$(K8S_STAMP): tools/k8s/build.sh tools/k8s/versions.env
	bash tools/k8s/build.sh $(CACHE)/k8s

k8s: $(K8S_STAMP) ## build the Kubernetes test control plane from Go modules into .cache/k8s

CAMEL_APP_STAMP := $(CACHE)/camel-app/.stamp
$(CAMEL_APP_STAMP): tools/camel-app/build.sh $(shell find examples/camel-app -type f -not -path '*/target/*' 2>/dev/null)
	bash tools/camel-app/build.sh $(CACHE)/camel-app

camel-app: $(CAMEL_APP_STAMP) ## build the Camel Main test runtime (Maven) into .cache/camel-app

# One target per README command; CI calls the same targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export AWS_EC2_METADATA_DISABLED := true
# Where synth and diff write, and which registry they read.
OUT ?= cdk.out
REGISTRY ?= model_registry

.PHONY: setup setup-dev setup-convert synth diff test test-fast test-docker base-image logical-ids demo lint format bench bench-int8 bench-serving bench-image bench-quota clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

node_modules/.bin/cdk: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Stamps: a warm `make synth` or `make test` installs nothing unless a requirements file changed.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# The SpeciesNet tests compare with the package's own rules: 4.0.1 goes into a folder of its own,
# without its TensorFlow and torch (installed in the venv, pip would list its missing dependencies
# as conflicts after every later install).
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt containers/animl-serve/requirements.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --target $(VENV)/speciesnet-4.0.1 speciesnet==4.0.1
	touch $@

# The model converters' torch and TensorFlow: build-time tools, never in the image or the app.
$(VENV)/.installed-convert: $(VENV)/.installed-dev requirements-convert.txt
	$(BIN)/pip install --quiet -r requirements-convert.txt
	touch $@

setup: $(VENV)/.installed node_modules/.bin/cdk

setup-dev: setup $(VENV)/.installed-dev

setup-convert: setup-dev $(VENV)/.installed-convert

## The main job: synthesize every environment with cdk-nag and the quota guard; a failed
## synthesis leaves the last good $(OUT) as it was.
synth: setup
	@tools/synth.sh $(OUT) $(REGISTRY)

## What a registry change does to every stack, against the last `make synth` ($(OUT)), with no AWS account.
diff: setup
	@tools/diff.sh $(OUT) $(REGISTRY)

## Lint, then the whole test suite (the converter tests need setup-convert).
test: setup-convert lint
	$(BIN)/python -m pytest

## Everything but the deploys into the emulator (tests/e2e), for quick feedback.
test-fast: setup-convert lint
	$(BIN)/python -m pytest -m "not e2e"

## The tests that build and run the image on a Docker engine (they skip without one).
test-docker: setup-convert
	$(BIN)/python -m pytest -m docker

## Where the Dockerfile's default base cannot be pulled: an equivalent from Debian packages (root).
base-image:
	tools/debian-base-image.sh animl-serve-base:bookworm

## After an intended change of the production endpoints: rewrite the pin of their logical ids.
logical-ids: setup-dev
	$(BIN)/python -m tests.production_pins

## Deploy the Animl environment into a local AWS API emulator and print what it holds.
demo: setup-dev
	$(BIN)/python -m animl_emulator.demo

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup-dev
	$(BIN)/python benchmarks/synth_time.py

bench-int8: setup-convert
	$(BIN)/python benchmarks/quantization.py

bench-serving: setup-dev
	$(BIN)/python benchmarks/serving.py

bench-image: setup-dev
	$(BIN)/python benchmarks/image.py

bench-quota: setup-dev
	$(BIN)/python benchmarks/quota_plan_month.py

clean:
	rm -rf cdk.out cdk.out.new cdk.out.synth .pytest_cache .ruff_cache

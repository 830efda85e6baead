# agentd — `make run` shows the daemon at work (offline); `make test` runs lint, types and tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test lint typecheck pytest bench stress clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]' --config-settings editable_mode=compat
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/python -m agentd demo

lint: install
	$(BIN)/ruff check agentd tests bench
	$(BIN)/ruff format --check agentd tests bench

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

test: lint typecheck pytest

# The stress suite at full size (minutes; `make test` runs it short). Figures: docs/reliability.md.
stress: install
	rm -f stress-results.jsonl
	AGENTD_STRESS=full AGENTD_STRESS_OUT=stress-results.jsonl $(BIN)/pytest tests/stress -s -q

bench: install
	$(BIN)/python bench/rpc.py --json docs/bench-rpc.json
	$(BIN)/python bench/turns.py --json docs/bench-turns.json
	$(BIN)/python bench/providers.py
	$(BIN)/python bench/tokens.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

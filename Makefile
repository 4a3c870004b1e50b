# Two commands for a newcomer: `make demo` and `make test`. Only python3 (with venv and pip) is needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install clean bench fixtures

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/icp-agent demo --out icp-demo

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q

bench: $(BIN)/.installed
	$(BIN)/python tools/bench.py

fixtures: $(BIN)/.installed
	$(BIN)/python tools/gen_fixtures.py --out fixtures/demo

clean:
	rm -rf $(VENV) icp-demo icp-workspace.duckdb build dist

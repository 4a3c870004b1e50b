# Two commands for a newcomer: `make demo` and `make test`. Only python3 (with venv and pip) is needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test check format quick install clean bench fixtures

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/icp-agent demo --out icp-demo

# CI (.ci/run): the checks and every test, the slow end-to-end ones included (-m "" lifts the default
# "not slow"); all three run, and any finding or failure fails the target.
test: $(BIN)/.installed
	@status=0; $(CHECKS) \
	$(BIN)/python -m pytest -m "" --durations=20 || status=1; \
	exit $$status

# lint, format and types on src/ (and the lint and format on tools/), as configured in pyproject.toml
CHECKS = $(BIN)/ruff check src tools || status=1; \
	$(BIN)/ruff format --check src tools || status=1; \
	$(BIN)/mypy || status=1;

check: $(BIN)/.installed
	@status=0; $(CHECKS) exit $$status

# apply ruff's safe fixes and its formatting
format: $(BIN)/.installed
	$(BIN)/ruff check --fix src tools
	$(BIN)/ruff format src tools

# while working: the tests without the slow ones (pytest's default), with the slowest listed
quick: $(BIN)/.installed
	$(BIN)/python -m pytest --durations=30

bench: $(BIN)/.installed
	$(BIN)/python tools/bench.py

fixtures: $(BIN)/.installed
	$(BIN)/python tools/gen_fixtures.py --out fixtures/demo

clean:
	rm -rf $(VENV) icp-demo icp-workspace.duckdb build dist

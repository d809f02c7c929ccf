# The two commands: `make run` (set up + run on the sample town) and `make test` (set up + test).
VENV := .venv
BIN := $(VENV)/bin
HARDENING := $(BIN)/hardening

.PHONY: run test lint setup setup-test db sample clean

run: setup db
	$(HARDENING) sample load
	bash scripts/run.sh

test: setup-test db lint
	$(BIN)/pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy hardening ui tests $(wildcard benchmarks/*.py) $(wildcard app.py pages/*.py scripts/*.py)

setup:
	bash scripts/setup.sh

setup-test:
	bash scripts/setup.sh --browser

db:
	$(HARDENING) db up
	$(HARDENING) db migrate

clean:
	-$(HARDENING) db down
	rm -rf $(VENV) .state .mypy_cache .ruff_cache .pytest_cache artifacts

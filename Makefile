# The two commands: `make run` (set up + run on the sample town) and `make test` (set up + test).
VENV := .venv
BIN := $(VENV)/bin
HARDENING := $(BIN)/hardening

.PHONY: run test lint setup setup-test db sample clean

# The sample is dated to the week of its first load (`hardening sample load`), then scored, so
# the Risk page, works recommendations, planning demand and risk bands work on the first run.
run: setup db
	$(HARDENING) sample load
	@echo "== scoring cuckooing risk on the sample town (about 20 s)" >&2
	$(HARDENING) risk score
	bash scripts/run.sh

# Stops the managed cluster at the end when this run started it (left running when it was
# already up, or when HARDENING_DATABASE_URL names another server); the exit code is lint's or
# pytest's. One shell, no sub-make, so `make -n test` only prints.
CLUSTER_STATE := $(BIN)/python -c 'from hardening.settings import Settings as S; \
	from hardening.db.cluster import ManagedCluster as C; s = S(); \
	print("external" if s.database_url else "up" if C(s.state_dir).is_running() else "down")'
LINT := $(BIN)/ruff check . && $(BIN)/ruff format --check . && \
	$(BIN)/mypy hardening ui tests $(wildcard benchmarks/*.py) $(wildcard app.py pages/*.py scripts/*.py)

test: setup-test
	@before=$$($(CLUSTER_STATE)) || exit 1; \
	$(HARDENING) db up && $(HARDENING) db migrate && $(LINT) && $(BIN)/pytest; status=$$?; \
	if [ "$$before" = down ]; then $(HARDENING) db down; fi; \
	exit $$status

lint:
	$(LINT)

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

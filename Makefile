# PixelForge pipeline. `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export SNOWFLAKE_DISABLE_PLATFORM_DETECTION := true
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: help install demo test test-fast soak lint check-packages bench lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## create .venv with the pinned dependencies and the pixelforge command

$(VENV)/.installed: requirements/lock.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements/lock.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

demo: install ## run the main job on the embedded stack (fakesnow + moto + render service)
	$(BIN)/pixelforge demo

# The suite is spread over one pytest-xdist worker per CPU (each with its own embedded stack);
# work stealing keeps both busy when one test takes minutes. PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= auto
XDIST := -n $(PYTEST_WORKERS) --dist worksteal
test: install ## run the whole test suite
	$(BIN)/pytest $(XDIST)

test-fast: install ## unit tests only: no embedded stack, no dbt, nothing slow
	PIXELFORGE_TEST_FAST=1 $(BIN)/pytest $(XDIST) -m "not integration and not dbt and not slow and not live" -q

# Soak: the fault sequences drawn at random until SOAK_FAULT_SCHEDULES schedules with a fault
# were tried, and the hostile-input generators with SOAK_FACTOR times their examples.
SOAK_FAULT_SCHEDULES ?= 200
SOAK_FACTOR ?= 10
soak: install ## fault sequences until 200 schedules with a fault, hostile generators x10 (long)
	PIXELFORGE_SOAK_FAULT_SCHEDULES=$(SOAK_FAULT_SCHEDULES) PIXELFORGE_SOAK_FACTOR=$(SOAK_FACTOR) \
	  $(BIN)/pytest $(XDIST) -q -p no:cacheprovider -k "fault_sequences or no_input_raises" tests

lint: install ## ruff, and sqlfluff on the dbt models (against a throwaway local warehouse)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m orchestration.local.lint_sql

check-packages: install ## resolve the procedures' PACKAGES from PyPI for Snowflake's runtime (pip, wheels only)
	$(BIN)/python -m orchestration.deploy.check_packages

bench: install ## run the benchmarks at reduced scale (python -m bench --full for full scale)
	$(BIN)/python -m bench

lock: install ## refresh requirements/lock.txt from the venv
	{ echo "# Full pin set (pip freeze of a venv that passed the suite on Python 3.11). Regenerate: make lock"; \
	  $(BIN)/pip freeze --exclude-editable | grep -v '^-e'; } > requirements/lock.txt

clean: ## remove the venv and the local stack's state
	rm -rf $(VENV) .pixelforge target

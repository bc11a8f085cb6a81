# Two commands do everything on a fresh machine:
#   make demo   - set up, then run the embedded demo (local FHIR store + service + every demo patient)
#   make test   - set up, then run every test (starts its own FHIR server, PostgreSQL and service processes)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: setup demo test lint bench clean

$(BIN)/nk-cds: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

setup: $(BIN)/nk-cds

demo: setup
	$(BIN)/nk-cds demo

test: setup
	bash scripts/test.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) dist build .pytest_cache .ruff_cache .hypothesis

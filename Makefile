# Every target does its own set-up: the virtual environment is built from requirements.lock on
# first use and rebuilt only when the lock or pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test ui lint sync reconcile bench docs clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/concord demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

ui: $(STAMP)
	$(BIN)/concord ui

lint: $(STAMP)
	$(BIN)/ruff check .

docs: $(STAMP)
	$(BIN)/python -m concord.readme_fields

bench: $(STAMP)
	for bench in benchmarks/bench_*.py; do echo "== $$bench"; $(BIN)/python $$bench || exit 1; done

sync: $(STAMP)
	$(BIN)/concord sync

reconcile: $(STAMP)
	$(BIN)/concord reconcile

clean:
	rm -rf $(VENV) .concord

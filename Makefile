# One command each: `make demo` installs and runs the demo sweep; `make test` installs and tests.
PYTHON ?= python3

.PHONY: install demo test lint

install:
	$(PYTHON) -m pip install -q -e '.[test,docs]'

demo: install
	$(PYTHON) -m orchestrator.run sweeps/smoke.yaml

lint:
	$(PYTHON) -m ruff check .
	lint-imports

test: install lint
	$(PYTHON) -m pytest

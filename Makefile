# The two commands the README starts with: `make demo` (set up + ingest sample_data + serve + search) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: install demo test lint format clean

install: $(VENV)/.installed

# torch==2.13.0 first: on these machines it resolves to a local CPU wheel (a bare `torch` pulls CUDA builds).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

demo: install
	PATH="$(abspath $(VENV))/bin:$$PATH" bash scripts/demo.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(VENV)/bin/pytest

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache

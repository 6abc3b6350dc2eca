# The two commands the README starts with: `make demo` (set up + ingest sample_data + serve + search) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: install demo test lint format clean

install: $(VENV)/.installed

# Every version comes from constraints.txt (the lock). torch first: where the index offers a CPU build (these
# machines; or PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu) it is taken, else PyPI's wheel, which on
# Linux pulls CUDA libraries (GBs). The lock pins torch==2.13.0, which both builds satisfy.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -c constraints.txt torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'  # [dev]: every extra ([all]) and the test tools
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

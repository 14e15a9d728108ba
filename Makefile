# graspviz: `make run` opens the explorer, `make test` runs every test. Both set everything up first.
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 5006
ADDRESS ?= 127.0.0.1
# Notebooks join the test run only once there are some (nbval runs every cell; asserts are the checks).
NOTEBOOKS := $(wildcard notebooks/*.ipynb)
NBVAL := $(if $(NOTEBOOKS),--nbval-lax --nbval-current-env notebooks/)
PYTEST_ARGS ?=

.PHONY: setup run test-setup test bench lint clean

setup:  ## .venv with graspviz (editable) and its test extra; quick when already done
	@VENV=$(VENV) bash scripts/setup.sh

run: setup  ## serve the explorer at http://$(ADDRESS):$(PORT)
	$(VENV)/bin/graspviz serve --port $(PORT) --address $(ADDRESS)

test-setup: setup  ## + Debian chromium for the browser tests (only when /usr/bin/chromium is missing)
	@bash scripts/install_chromium.sh

test: test-setup  ## every check: the import layers, lint, tests/ and the notebooks
	$(VENV)/bin/lint-imports
	$(PY) -m ruff check graspviz tests benchmarks scripts notebooks
	GRASPVIZ_FAST=1 TQDM_DISABLE=1 $(PY) -m pytest tests $(NBVAL) $(PYTEST_ARGS)

bench: setup  ## the micro-benchmark (GRASP iteration vs a bare forward+backward vs a per-timestep loop)
	$(VENV)/bin/graspviz bench --micro

lint: setup  ## the import layers and ruff alone
	$(VENV)/bin/lint-imports
	$(PY) -m ruff check graspviz tests benchmarks scripts notebooks

clean:
	rm -rf .pytest_cache build dist *.egg-info

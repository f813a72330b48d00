# v2v_pipeline — the two commands that matter:
#   make demo   install, then run the whole pipeline on the built-in synthetic sample
#   make test   install, check the import layers (lint-imports), run the test suite (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export KEDRO_DISABLE_TELEMETRY := true
export PYTHONUNBUFFERED := 1
PYTEST_ARGS ?=

.PHONY: install demo test test-fast docs docs-serve notebooks run viz mlflow-ui bench bench-parallel-videos lock pip-install-check clean clean-data

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or run 'make PYTHON=python3 ...'"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	@# the exact lock, without resolving: mediapipe's metadata asks for packages it does not use
	@# (constraints/overrides.txt says which and why; `uv pip install --override ...` resolves the same)
	$(BIN)/pip install --quiet --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/kedro run
	@echo ""
	@echo "output video:  $$(ls -t data/07_model_output/transfer.mp4/*/transfer.mp4 | head -1)"
	@echo "side by side:  $$(ls -t data/08_reporting/transfer_side_by_side.mp4/*/*.mp4 | head -1)"
	@echo "report:        data/08_reporting/report.html    runs: make mlflow-ui"

test: install
	$(BIN)/lint-imports
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests (exit 5): the suite is missing or everything was deselected" >&2; fi; \
	exit $$rc
	$(MAKE) --no-print-directory docs

docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-serve: install
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

notebooks: install  # execute the notebooks as notebooks, against this folder's mlflow.db (after `make demo`)
	$(BIN)/pytest --nbmake notebooks/ -p no:cacheprovider

test-fast: install
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

run: install
	$(BIN)/kedro run $(ARGS)

# no --autoreload by default: its watcher's children keep serving port 4141 after the make is killed
# (VIZ_ARGS=--autoreload to reload on edits)
viz: install
	$(BIN)/kedro viz run $(VIZ_ARGS)

mlflow-ui: install
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000

# make bench [BENCH_ARGS="--quick" | "--large" | "--project auto fp32 bf16+cl"]: the suite against a plain
# baseline; writes benchmarks/results/<cpu-or-gpu>.json and .md (see docs/performance.md)
BENCH_ARGS ?=
bench: install
	$(BIN)/python benchmarks/bench_suite.py $(BENCH_ARGS)

# make bench-parallel-videos [BENCH_ARGS="--sources 4 --repeats 3"]: the data pipeline on a demo with several
# source videos, sequential vs ParallelRunner (wall times; checks both give the same artifacts)
bench-parallel-videos: install
	$(BIN)/python benchmarks/bench_parallel_videos.py $(BENCH_ARGS)

lock:
	$(BIN)/python constraints/lock.py

# plain `pip install .` (no lock, no Makefile venv) into a new venv, then the demo, on a fresh copy of
# the committed tree: what a user without make does (docs/install.md). Needs the package index.
pip-install-check:
	bash constraints/pip_install_check.sh

clean-data:
	find data -mindepth 2 ! -name .gitkeep -delete 2>/dev/null; find data -mindepth 2 -type d -empty -delete 2>/dev/null; true

clean: clean-data
	rm -rf $(VENV) mlflow.db mlruns .pytest_cache site

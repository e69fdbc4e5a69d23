# Two set-up commands: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install demo test check lint format release bench calibrate clean

$(STAMP): requirements.txt pyproject.toml package.json package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	npm ci --no-audit --no-fund --loglevel=error  # the classroom's proxy (grader hub)
	touch $(STAMP)

install: $(STAMP)

## The instructor's day on a simulated class, through nbgrader's exchange, in demo-day/.
demo: install
	$(BIN)/grader demo

## Lint, then the whole test suite (real kernels, real nbgrader, a real browser): what CI runs.
## PYTEST_ARGS adds pytest options, e.g. PYTEST_ARGS="--durations=30".
PYTEST_ARGS ?=
test: install lint
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder -q $(PYTEST_ARGS)

## The quick loop while editing a notebook (about 3 minutes): lint, types, the unit tests and
## one notebook's validity suite, tests/validity/test_<NOTEBOOK>.py: intro_pytorch (default,
## the quickest), intro_keras, intro_keras_tf, overfitting or lab_frameworks.
NOTEBOOK ?= intro_pytorch
UNIT_TESTS := tests/test_evidence.py tests/engine/test_engine_units.py \
	tests/validity/test_alternatives_rules.py tests/test_glossary.py tests/test_bidi.py \
	tests/quiz/test_quiz_bank.py tests/quiz/test_quiz_scoring.py tests/quiz/test_quiz_bidi.py \
	tests/test_schedule.py
check: install lint
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder -q $(UNIT_TESTS) \
		tests/validity/test_$(NOTEBOOK).py $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check grader tests bench
	$(BIN)/ruff format --check grader tests bench
	$(BIN)/python -m mypy

format: install
	$(BIN)/ruff format grader tests bench
	$(BIN)/ruff check --fix grader tests bench

## Regenerate release/ from source/; first rebuild the Hebrew assignments (source/*-he) from locale/he.
release: install
	$(BIN)/grader release

bench: install
	$(BIN)/python bench/bench_nbgrader.py
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_kernel_start.py
	$(BIN)/python bench/quiz_load.py --students 3000 --concurrency 20

calibrate: install
	$(BIN)/python bench/calibrate_thresholds.py --write

clean:
	rm -rf autograded/*/ submitted feedback gradebook.db .pytest_cache
